import Execution

/// Problems with the results directory or database, each with its fix:
/// the one error of `Results`, thrown by every `RunStore`.
public enum StoreError: Error, CustomStringConvertible {
    /// The results directory or a run directory (its path) cannot be made (why).
    case cannotCreate(String, String)
    /// The results database (its path) cannot be opened or read (why).
    case cannotOpen(String, String)
    /// The results directory (its path) is not writable (why).
    case notWritable(String, String)
    /// The filesystem of the results directory (its path) is full.
    case full(String)
    /// No run was recorded in the results directory (its path) yet.
    case noRuns(String)
    /// No run has this id or prefix (the first) in the results directory (the second).
    case noSuchRun(String, String)
    /// A run id prefix (the first) that begins the ids of several runs (the
    /// second, newest first) in the results directory (the third).
    case ambiguousRun(String, [String], String)
    /// `testbed.sqlite`, `-wal` or `-shm` (its path) is a symbolic link (to the second).
    case linkedDatabase(String, String)
    /// `testbed.sqlite`, `-wal` or `-shm` (its path) is not a regular file but what a step planted there.
    case notADatabase(String, PlantedKind)
    /// The PostgreSQL database (its URL, without the password) cannot be connected to, set up or read (why).
    case unreachable(String, String)

    /// What is wrong, without the fix.
    public var problem: String {
        switch self {
        case let .cannotCreate(path, why): "cannot create results directory \(path): \(why)"
        case let .cannotOpen(path, why): "cannot open results database \(path): \(why)"
        case let .notWritable(path, why): "results directory \(path) is not writable (\(why))"
        case let .full(path): "the filesystem of results directory \(path) is full"
        case let .noRuns(path): "no runs recorded in \(path) yet"
        case let .noSuchRun(run, path): "no run \(run) in \(path)"
        case let .ambiguousRun(prefix, ids, path):
            "\(prefix) begins the ids of \(ids.count) runs in \(path): " + ids.prefix(Self.listedRuns).joined(separator: ", ")
                + (ids.count > Self.listedRuns ? ", and \(ids.count - Self.listedRuns) more" : "")
        case let .linkedDatabase(path, target):
            "\(path) is a symbolic link to \(target), and Testbed never follows links in the results directory"
        case let .notADatabase(path, kind): "\(path) is \(kind), not a file of the results database"
        case let .unreachable(url, why): "cannot use results database \(url): \(why)"
        }
    }

    /// What to do about it.
    public var fix: String {
        switch self {
        case .cannotCreate, .notWritable: "choose another with --results DIR"
        case .cannotOpen, .notADatabase: "move it aside or choose another --results DIR"
        case .full: "free some space or choose another --results DIR"
        case .noRuns: "run `testbed run` first"
        case .noSuchRun: "`testbed runs` lists the runs"
        case .ambiguousRun: "give more of the id (`testbed runs` lists the runs)"
        case .unreachable: "check that PostgreSQL runs there and that the URL (--database or TESTBED_DATABASE) names its host, port, "
            + "user, password and database"
        case .linkedDatabase: "put the file itself in place of the link, or remove the link, or choose another --results DIR"
        }
    }

    /// How many of the runs an ambiguous prefix matches are named (newest first).
    static let listedRuns = 10

    /// The problem and its fix, as printed.
    public var description: String { problem + "; " + fix }
}
