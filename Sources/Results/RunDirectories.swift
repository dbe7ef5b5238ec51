import CShim
import Execution
import Foundation
import HostFacts

/// The run directories every `RunStore` makes on this host: whatever keeps the rows (a SQLite file beside them, a
/// PostgreSQL server elsewhere), a run's files stay in the results directory of the host that ran it.
public enum RunDirectories {
    /// A new run id (sortable by time, unique across concurrent runs) and its directory, created.
    ///
    /// - Parameters:
    ///   - results: the results directory, held open.
    ///   - directory: its absolute path, for the returned path and messages.
    ///   - started: when the run starts: its UTC second names the run (`yyyyMMdd-HHmmss`), followed by four random hex digits.
    /// - Returns: the run's id and the absolute path of its directory, just made (mode 0755) in the results directory.
    /// - Throws: `StoreError.cannotCreate` when the results directory cannot be opened, `mkdir` fails, or 100 random ids are all taken.
    public static func newRun(in results: ResultsDirectory, directory: String, started: Date) throws(StoreError) -> (id: String, directory: String) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let parent = results.descriptor()
        guard parent >= 0 else { throw .cannotCreate(directory, String(cString: strerror(errno)).lowercased()) }
        for _ in 0..<100 {
            let id = "\(formatter.string(from: started))-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
            let path = directory + "/" + id
            // mkdir fails if it exists: the id is ours alone.
            if mkdirat(parent, id, 0o755) == 0 { return (id, path) }
            if errno != EEXIST { throw .cannotCreate(path, String(cString: strerror(errno))) }
        }
        throw .cannotCreate(directory, "no free run id")
    }

    /// Points `latest` at a run directory (atomically: a new link renamed over the old, in the results directory held).
    ///
    /// - Parameters:
    ///   - results: the results directory, held open.
    ///   - id: the run's id, its directory's name in the results directory (the link is relative). Failures are ignored.
    public static func pointLatest(in results: ResultsDirectory, at id: String) {
        let parent = results.descriptor()
        guard parent >= 0 else { return }
        let temporary = ".latest-\(getpid())"
        unlinkat(parent, temporary, 0)
        guard symlinkat(id, parent, temporary) == 0 else { return }
        if renameat(parent, temporary, parent, "latest") != 0 { unlinkat(parent, temporary, 0) }
    }
}

extension RunReport.Run {
    /// A run row as a store reads it back (the other fields set after).
    ///
    /// - Parameters:
    ///   - id: the run id.
    ///   - environment: the environment's name.
    ///   - started: when it started.
    ///   - finished: when it ended; nil when its end was not recorded.
    ///   - exitCode: the exit code recorded with its end.
    ///   - complete: every step finished and it was not interrupted.
    ///   - interrupted: stopped by a signal.
    ///   - haltedBy: the infrastructure failure that halted it.
    ///   - directory: the run directory's absolute path (on the host that ran it).
    ///   - jobs: how many steps ran at once.
    ///   - recordingError: what went wrong while recording it.
    public init(stored id: String, environment: String, started: Date, finished: Date?, exitCode: Int32?, complete: Bool, interrupted: Bool,
                haltedBy: String?, directory: String, jobs: Int, recordingError: String?) {
        self.init(id: id, environment: environment, started: started, finished: finished, exitCode: exitCode, complete: complete,
                  interrupted: interrupted, haltedBy: haltedBy, directory: directory, jobs: jobs, recordingError: recordingError)
    }

    /// Why a test of this run has no result (its row still `pending`), as `report` says it.
    public var pendingReason: String {
        running != nil ? "not finished yet: the run is still going"
            : finished == nil
            ? "not finished: the run stopped before this test had a result (testbed was killed, or could not record it)"
            : recordingError == nil ? "not run"
            : "not run, or its result could not be recorded (the run's recording error says why)"
    }
}

extension RunReport.Run {
    /// Whether the run ran on this host (or recorded no host): its directory is then a path on this host. A run of
    /// another host (a shared PostgreSQL database) has its files on that host, unless their results directory is shared.
    public var ranHere: Bool { host == nil || host == SnapshotProbe.hostname() }
}
