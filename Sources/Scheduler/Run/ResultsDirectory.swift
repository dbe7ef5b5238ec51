import CShim
import Foundation
import Synchronization

/// The results directory of a run (`testbed.sqlite`, `.lock`, `latest`, the
/// run directories), held open from the start.
///
/// Tests run with it at hand (`dirname $TESTBED_RUN_DIR`), so they may delete
/// it, move it away, or put a symbolic link in its place. The path the user
/// gave is trusted once, at the start: every link in it is resolved then (a
/// `testbed-results` that is a link to another disk keeps working), and from
/// then on Testbed uses the directory it found, checking before each use
/// (one `fstatat` in its parent, links not followed) that its name still
/// refers to it. When it does not, whatever a step put there (a link, a
/// file) is removed, the directory made again, and the change logged for
/// the run's warnings (`takeRepairs`): deleted, moved (and where to), or
/// replaced by a link (and to what).
public final class ResultsDirectory: Sendable {
    /// As the user gave it, absolute: what messages and tests' variables show.
    public let path: String
    /// Where it is, every link resolved at the start: what Testbed writes to.
    public let real: String
    /// The user's path was a symbolic link with this text (nil: it was not):
    /// put back if a step replaces it (`checkUserLink`).
    public let userLink: String?
    /// The real parent, held; the results directory's name in it.
    let parent: Int32
    let name: String
    let state: Mutex<(held: HeldDirectory, stale: [Int32])>
    let repairs = Mutex<[DirectoryRepair]>([])

    /// The results directory could not be opened.
    public struct OpenError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let errno: Int32
        public var description: String {
            "cannot open the results directory \(path): \(String(cString: strerror(errno))); choose another with --results DIR"
        }
    }

    /// Opens the existing directory `path` (links in it followed: the user gave it).
    public init(path: String) throws(OpenError) {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        self.path = absolute
        var info = stat()
        userLink = lstat(absolute, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK ? Self.readLink(absolute) : nil
        guard let resolved = realpath(absolute, nil) else { throw OpenError(path: absolute, errno: errno) }
        real = String(cString: resolved)
        free(resolved)
        let url = URL(fileURLWithPath: real)
        name = real == "/" ? "." : url.lastPathComponent
        parent = Glibc.open(real == "/" ? "/" : url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { throw OpenError(path: absolute, errno: errno) }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, let held = HeldDirectory(descriptor: fd) else {
            let saved = errno
            if fd >= 0 { close(fd) }
            close(parent)
            throw OpenError(path: absolute, errno: saved)
        }
        state = Mutex((held, []))
    }

    deinit {
        state.withLock { state in
            close(state.held.descriptor)
            for fd in state.stale { close(fd) }
        }
        close(parent)
    }

    /// The results directory, checked to be the one held (one `fstatat`);
    /// made again at its name if it is not (what a step put there removed,
    /// the change logged). -1 with `errno` set when it cannot be made.
    public func descriptor() -> Int32 {
        state.withLock { state -> Int32 in
            if state.held.isAt(name, in: parent) { return state.held.descriptor }
            let remade = HeldDirectory.remake(name, in: parent, held: state.held, expected: real,
                                              who: "the results directory \(path)", short: "the results directory",
                                              subject: .results, logs: false)
            guard let fresh = remade.held else { return -1 }
            if fresh.descriptor != state.held.descriptor {
                state.stale.append(state.held.descriptor)
                state.held = fresh
            }
            if let repair = remade.repair { log(repair) }
            return fresh.descriptor
        }
    }

    /// The directory held, unchecked.
    var held: Int32 { state.withLock { $0.held.descriptor } }

    /// Whether the name still refers to the directory held (one `fstatat`, nothing repaired).
    public var intact: Bool { state.withLock { $0.held.isAt(name, in: parent) } }

    /// When the user's path was a symbolic link and a step replaced or
    /// removed it, puts the user's link back (a new link renamed over what
    /// is there) and logs it. One `readlink` a call; nothing when the user's
    /// path was not a link.
    public func checkUserLink() {
        guard let userLink, Self.readLink(path) != userLink else { return }
        var info = stat()
        let found = lstat(path, &info) != 0 ? "deleted"
            : "replaced by \(Self.describe(path: path, mode: info.st_mode & S_IFMT))"
        let temporary = URL(fileURLWithPath: path).deletingLastPathComponent().path + "/.testbed-results-link-\(getpid())"
        unlink(temporary)
        let restored = symlink(userLink, temporary) == 0 && rename(temporary, path) == 0
        if !restored { unlink(temporary) }
        let shown = LogTail.printable(userLink, limit: 200)
        let action = restored ? "Testbed put the link back (the run is recorded in \(real))"
            : "Testbed could not put the link back (\(String(cString: strerror(errno)))); the run is recorded in \(real)"
        log(DirectoryRepair(subject: .userLink,
                            warning: "the results path \(path), a symbolic link to \(shown) when the run started, was \(found) during the run; \(action)",
                            note: "the results path, a symbolic link to \(shown) when the run started, was \(found) during the run; \(action)",
                            movedTo: nil))
    }

    /// What Testbed repaired since the last call, oldest first.
    public func takeRepairs() -> [DirectoryRepair] {
        repairs.withLock { repairs in
            defer { repairs.removeAll() }
            return repairs
        }
    }

    func log(_ repair: DirectoryRepair) { repairs.withLock { $0.append(repair) } }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "a symbolic link to /elsewhere", "a directory"… for what is at `path` now.
    static func describe(path: String, mode: mode_t) -> String {
        switch mode {
        case S_IFLNK: "a symbolic link to \(LogTail.printable(readLink(path) ?? "?", limit: 200))"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "a file"
        }
    }
}

/// What Testbed found when a directory it held was no longer at its name,
/// and what it did: for a warning on stderr and the run's `recording_error`.
public struct DirectoryRepair: Sendable, Equatable {
    public enum Subject: Sendable, Hashable {
        /// The results directory.
        case results
        /// The user's link at the results path.
        case userLink
        /// The run directory.
        case run
        /// `tests`, `setups` or `restore` in the run directory.
        case top(String)
    }
    public let subject: Subject
    /// One sentence naming the directory by its path.
    public let warning: String
    /// The same without the path, for the run's record.
    public let note: String
    /// Where the directory held went, when it was moved (nil: deleted, or not known).
    public let movedTo: String?
}

/// A directory Testbed made and holds open, and what tells it from another
/// put at its name: its device and inode.
struct HeldDirectory: Sendable {
    let descriptor: Int32
    let device: UInt64
    let inode: UInt64

    /// Takes `descriptor` (nil when it cannot be `fstat`ed).
    init?(descriptor: Int32) {
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0 else { return nil }
        self.descriptor = descriptor
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// Whether `name` in `parent` is this very directory (one `fstatat`, a link not followed).
    func isAt(_ name: String, in parent: Int32) -> Bool {
        var info = stat()
        return fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0
            && UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// What became of the directory held: deleted (no links left), moved
    /// (`/proc/self/fd` names another path than `expected`), or not known.
    enum Fate {
        case deleted
        case moved(String)
        case unknown
    }

    func fate(expected: String) -> Fate {
        var info = stat()
        if fstat(descriptor, &info) == 0 && info.st_nlink == 0 { return .deleted }
        guard let now = ResultsDirectory.readLink("/proc/self/fd/\(descriptor)") else { return .unknown }
        if now.hasSuffix(" (deleted)") { return .deleted }
        return now == expected ? .unknown : .moved(now)
    }

    /// "the link", "the FIFO"… for what `RunLayout.plantedKind` described.
    static func noun(_ kind: String) -> String {
        if kind.hasPrefix("a symbolic link") { return "the link" }
        if kind.hasPrefix("a ") { return "the " + kind.dropFirst(2) }
        return "it"
    }

    /// Makes the directory `name` in `parent` again after `held` was found
    /// not to be there: what a step put in its place (a link, a file) is
    /// removed, another directory is used as it is. The new directory, and
    /// the repair saying what happened (nil when `held` turned out to be
    /// there after all); a nil directory, `errno` set, when none can be made.
    static func remake(_ name: String, in parent: Int32, held: HeldDirectory, expected: String,
                       who: String, short: String, subject: DirectoryRepair.Subject, logs: Bool)
        -> (held: HeldDirectory?, repair: DirectoryRepair?) {
        let fate = held.fate(expected: expected)
        var info = stat()
        var found = ""
        var action = "made it again"
        if fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR {
                found = " and another directory put in its place"
                action = "uses that one"
            } else {
                let kind = RunLayout.plantedKind(name, in: parent)
                found = " and \(kind) put in its place"
                action = "removed \(noun(kind)) and made the directory again"
                guard unlinkat(parent, name, 0) == 0 || errno == ENOENT else { return (nil, nil) }
            }
        }
        var notes: [String] = []
        let fd = RunLayout.makeDirectory(name, in: parent, shownAs: name, notes: &notes)
        guard fd >= 0 else { return (nil, nil) }
        guard let fresh = HeldDirectory(descriptor: fd) else {
            close(fd)
            return (nil, nil)
        }
        if fresh.device == held.device && fresh.inode == held.inode {
            close(fd)
            return (held, nil)
        }
        var what: String
        var movedTo: String?
        var suffix = ""
        switch fate {
        case .deleted:
            what = "was deleted"
            if logs { suffix = " (the logs written in it before are lost)" }
        case .moved(let place):
            let shown = LogTail.printable(place, limit: 200)
            what = "was moved to \(shown)"
            movedTo = place
            suffix = logs ? " (the logs written in it before are in \(shown))" : " (what it held is in \(shown))"
        case .unknown:
            what = "was deleted or moved"
            if logs { suffix = " (the logs written in it before are not in it)" }
        }
        what += found + " during the run; Testbed " + action + suffix
        return (fresh, DirectoryRepair(subject: subject, warning: who + " " + what, note: short + " " + what, movedTo: movedTo))
    }
}
