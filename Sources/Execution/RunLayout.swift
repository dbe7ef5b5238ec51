import CShim
import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Requirements
import Synchronization

/// Where a run keeps its files, below its run directory:
///
/// - `tests/ID/` (`TESTBED_OUTPUT_DIR`: the test's own files) and Testbed's
///   `tests/ID/output.log` in it
/// - `setups/NAME/{check,run,teardown}.log`, `setups/NAME/export`
/// - `setups/NAME/for/ID/…` for `scope: test` setups
/// - `tests/ID/attempt-N/` and `setups/NAME/for/ID/attempt-N/` for the Nth
///   attempt of a test run again (`--rerun-failures`)
/// - `restore/N.log`
/// - `facts.json`, `report.json`, `junit.xml`
///
/// A test id becomes one directory name: `/` is written `~`, and `~`, `%`
/// and every byte outside `A-Z a-z 0-9 . _ - + = , [ ]` are percent-encoded, so no id
/// (`..`, spaces, non-UTF-8) can reach outside the run directory.
///
/// Tests run with the run directory at hand (`TESTBED_RUN_DIR`,
/// `TESTBED_OUTPUT_DIR`), so any name in it may have been swapped for a
/// symbolic link, a FIFO or a device by the time Testbed uses it. Testbed
/// therefore never uses a path below the run directory: it holds the run
/// directory open from its creation (`O_DIRECTORY|O_NOFOLLOW`) and makes and
/// opens everything below it relative to descriptors of directories it made
/// (`mkdirat`/`openat` with `O_NOFOLLOW`, files with `O_CREAT|O_EXCL`). What a
/// step planted where Testbed creates something (a link, a FIFO, a file) is
/// removed and replaced, and the step's log says so; what it planted is never
/// followed. Nothing is written into a directory on another mount than the
/// run directory (a step's `mount --bind` over a test's directory): the
/// mount is left alone and the step's output not kept. The directories it
/// holds (the results directory, the run directory, `tests`, `setups`,
/// `restore`) are checked before each use to still be at their names: one
/// deleted, moved away or replaced is made again where it was (never used
/// where it went), and the repair logged for the run's warnings. Testbed
/// writes only into the ones it made: a directory a step put in the place of
/// one is moved aside (`NAME.foreign`), a mount over one is left alone and
/// nothing written there while it is there (`HeldDirectory.remake`).
public final class RunLayout: Sendable {
    /// The absolute run directory (for the variables tests get and for messages).
    public let directory: String
    /// The results directory it is in, held too.
    public let results: ResultsDirectory
    /// The run directory's name in the results directory.
    let name: String
    let state: Mutex<State>

    struct State {
        /// The run directory, held open for the whole run (made again, and
        /// this replaced, if a step deletes it, moves it or puts a link in its place).
        var root: HeldDirectory
        /// `tests`, `setups`, `restore`: opened once, when first needed
        /// (made again the same way).
        var top: [String: HeldDirectory] = [:]
        /// Every descriptor replaced so far, kept open: another thread may be using one.
        var stale: [Int32] = []
        /// What is at the run directory's name, or a top directory's, and
        /// Testbed does not use (a mount), while it is there.
        var refusedRoot: HeldDirectory.Identity?
        var refusedTop: [String: HeldDirectory.Identity] = [:]
    }

    /// The run directory could not be opened.
    public struct OpenError: Error, Sendable, CustomStringConvertible {
        /// The run directory's path.
        public let path: String
        /// Why it could not be opened (an `errno` value).
        public let errno: Int32
        /// "cannot open the run directory PATH: REASON; check the results directory".
        public var description: String {
            "cannot open the run directory \(path): \(String(cString: strerror(errno))); check the results directory"
        }
    }

    /// Opens `directory` (made by Testbed for this run; a symbolic link in its
    /// place is refused), its parent held as the results directory.
    ///
    /// - Parameter directory: The run directory's path; its parent is opened as the results directory.
    /// - Throws: `OpenError` with the `errno` of opening the results directory or the run directory (a symbolic link in its place fails: `O_NOFOLLOW`).
    public convenience init(directory: String) throws(OpenError) {
        let url = URL(fileURLWithPath: directory)
        let results: ResultsDirectory
        do {
            results = try ResultsDirectory(path: url.deletingLastPathComponent().path)
        } catch {
            throw OpenError(path: directory, errno: error.errno)
        }
        try self.init(results: results, name: url.lastPathComponent)
    }

    /// Opens the run directory `name` (made by Testbed for this run; a
    /// symbolic link in its place is refused) in `results`.
    ///
    /// - Parameters:
    ///   - results: The results directory, already held.
    ///   - name: The run directory's name in it (the run's id).
    /// - Throws: `OpenError` with the `errno` of `openat` (`O_NOFOLLOW`: a symbolic link fails) or of the results directory.
    public init(results: ResultsDirectory, name: String) throws(OpenError) {
        self.results = results
        self.name = name
        directory = results.path + "/" + name
        let parent = results.descriptor()
        let fd = parent < 0 ? -1 : openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, let held = HeldDirectory(descriptor: fd) else {
            let saved = errno
            if fd >= 0 { close(fd) }
            throw OpenError(path: results.path + "/" + name, errno: saved)
        }
        state = Mutex(State(root: held))
    }

    deinit {
        state.withLock { state in
            close(state.root.descriptor)
            for held in state.top.values { close(held.descriptor) }
            for fd in state.stale { close(fd) }
        }
    }

    /// `/migration/precopy/tcp` → `migration~precopy~tcp`.
    ///
    /// - Parameter id: A test id or setup name, any bytes.
    /// - Returns: One file name: a leading `/` dropped, `/` → `~`, letters, digits, `_`, `-`, `.` and a variant's `[ ] = , +` kept,
    ///   any other byte as `%XX`;
    ///   an empty or all-dot name escaped; above 200 bytes, the first 180 and `~` with a 64-bit FNV-1a hash in hex.
    public static func encode(_ id: String) -> String {
        var out = ""
        var bytes = Array(id.utf8)
        if bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "/"): out.append("~")
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
                 // A variant's suffix stays readable: `precopy[machine=pc,accel=tcg]`.
                 UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "+"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "."):
                out.append(".")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        if out.isEmpty || out.allSatisfy({ $0 == "." }) {
            out = out.replacingOccurrences(of: ".", with: "%2E")
            if out.isEmpty { out = "%" }
        }
        // Keep names within filesystem limits; a hash keeps long ones apart.
        if out.utf8.count > 200 {
            var hasher = FNV1a()
            hasher.add(id)
            out = String(out.prefix(180)) + "~" + String(hasher.value, radix: 16)
        }
        return out
    }

    /// Relative to the run directory.
    ///
    /// - Parameter id: The test's id.
    /// - Returns: `tests/` and the id encoded with `encode(_:)`, relative to the run directory.
    public func testDirectory(_ id: String) -> String { "tests/" + Self.encode(id) }
    /// A setup's directory, relative to the run directory.
    /// - Parameters:
    ///   - name: The setup's name.
    ///   - test: The test a `scope: test` setup runs for; nil for a shared setup.
    /// - Returns: `setups/NAME`, or `setups/NAME/for/TEST`, each part encoded.
    public func setupDirectory(_ name: String, test: String?) -> String {
        let base = "setups/" + Self.encode(name)
        guard let test else { return base }
        return base + "/for/" + Self.encode(test)
    }

    /// Where an attempt of a test (or of a `scope: test` setup for it) keeps
    /// its files when the test runs more than once (`--rerun-failures`): the
    /// first in `directory` itself, attempt N in `directory/attempt-N`, so that
    /// no attempt's log replaces another's.
    /// - Parameters:
    ///   - directory: The test's or setup's directory (`testDirectory(_:)`, `setupDirectory(_:test:)`).
    ///   - attempt: The attempt, from 1.
    /// - Returns: `directory` for attempt 1, else `directory/attempt-N`.
    public static func attemptDirectory(_ directory: String, attempt: Int) -> String {
        attempt <= 1 ? directory : directory + "/attempt-\(attempt)"
    }

    /// A path in the run directory made absolute.
    /// - Parameter relative: A path relative to the run directory.
    /// - Returns: The run directory's path, `/`, and `relative`.
    public func absolute(_ relative: String) -> String { directory + "/" + relative }

    /// The results directory the run directory is in, for messages.
    public var resultsDirectory: String { URL(fileURLWithPath: directory).deletingLastPathComponent().path }

    /// Whether the filesystem the run directory is on (`fstatvfs` of the
    /// descriptor Testbed holds) is full: no block left that this process may
    /// use (root may use the blocks reserved for it), or no inode left where
    /// the filesystem counts them (btrfs reports none at all). One system
    /// call; asked only about a step that did not pass.
    ///
    /// - Returns: True when no usable block, or no usable inode, is left; false too when `fstatvfs` fails.
    public func resultsDiskFull() -> Bool {
        var info = statvfs()
        guard fstatvfs(root(), &info) == 0 else { return false }
        let blocks = geteuid() == 0 ? info.f_bfree : info.f_bavail
        let inodes = geteuid() == 0 ? info.f_ffree : info.f_favail
        return blocks == 0 || (info.f_files > 0 && inodes == 0)
    }

    // MARK: - Directories and files by descriptor

    /// Opens the directory `relative` (names joined by `/`, none of them `.`
    /// or `..`) below the run directory, making what is missing. Before it
    /// uses the results directory, the run directory and `tests`/`setups`/
    /// `restore`, which it holds, it checks that each name still refers to
    /// the directory held (one `fstatat` each, links not followed); then one
    /// `mkdirat`, one `openat` and two mount ids per name below the first (a
    /// test's directory costs seven system calls). Whatever a step put in
    /// the place of one of them (a link, a file, a FIFO) is removed and a
    /// directory made instead; `StepDirectory.notes` says so. A directory on
    /// another mount (a step's `mount --bind` over it) is never written
    /// into: `StepDirectory.failure` names it. A held directory made again
    /// is logged for the run's warnings (`ResultsDirectory.takeRepairs`).
    ///
    /// - Parameter relative: The directory's path relative to the run directory (`tests/ID`); empty for the run directory itself.
    /// - Returns: The directory opened (its own descriptor, closed with it), with the notes of what was replaced; or a descriptor
    ///   of -1 and `failure` saying why.
    public func openDirectory(_ relative: String) -> StepDirectory {
        var names = relative.split(separator: "/").map(String.init)
        var notes: [String] = []
        guard !names.isEmpty else {
            let (root, failure) = openRoot()
            return StepDirectory(descriptor: root < 0 ? -1 : dup(root), relative: relative, notes: notes, failure: failure)
        }
        let first = names.removeFirst()
        for attempt in 0..<2 {
            let (top, failure) = topDirectory(first, notes: &notes)
            guard var parent = top else {
                return StepDirectory(descriptor: -1, relative: relative, notes: notes, failure: failure)
            }
            var path = first
            var owned = false
            var retry = false
            for (position, name) in names.enumerated() {
                path += "/" + name
                var refusal: String?
                let opened = Self.makeDirectory(name, in: parent, shownAs: path, notes: &notes, refusal: &refusal)
                let saved = errno
                if owned { close(parent) }
                guard opened >= 0 else {
                    // Deleted between the check and now (`rm -rf tests`): check again, once.
                    if saved == ENOENT && position == 0 && attempt == 0 {
                        retry = true
                        break
                    }
                    return StepDirectory(descriptor: -1, relative: relative, notes: notes,
                                         failure: refusal ?? "\(path): \(String(cString: strerror(saved)))")
                }
                parent = opened
                owned = true
            }
            if retry { continue }
            return StepDirectory(descriptor: owned ? parent : dup(parent), relative: relative, notes: notes, failure: nil)
        }
        return StepDirectory(descriptor: -1, relative: relative, notes: notes, failure: "\(first): \(String(cString: strerror(ENOENT)))")
    }

    /// Creates (replacing what a step planted there) and opens a file in the
    /// run directory itself, for writing: `report.json`, `junit.xml`,
    /// `facts.json`. The descriptor (the caller closes it) and what was
    /// replaced, or why it cannot be made. A held directory made again on
    /// the way is logged for the run's warnings, not in `notes`.
    ///
    /// - Parameter name: The file's name in the run directory.
    /// - Returns: `descriptor`, open for writing (the caller closes it) or -1; `notes`, what was replaced; `failure`, nil with a
    ///   descriptor, else why (a mount in the way or the `strerror` text).
    public func createFile(_ name: String) -> (descriptor: Int32, notes: [String], failure: String?) {
        var notes: [String] = []
        var fd: Int32 = -1
        for _ in 0..<2 {
            let (root, failure) = openRoot()
            guard root >= 0 else { return (-1, notes, failure) }
            fd = Self.createFile(name, in: root, flags: O_WRONLY, shownAs: name, notes: &notes)
            if fd >= 0 || errno != ENOENT { break }
        }
        return (fd, notes, fd < 0 ? String(cString: strerror(errno)) : nil)
    }

    /// The run directory, checked to be the one held (after the results
    /// directory: two `fstatat`); made again if it is not, and the repair
    /// logged for the run's warnings (not in a step's log: which step comes
    /// first to it is chance). -1 with `errno` set when it cannot be made.
    func root() -> Int32 { openRoot().descriptor }

    /// `root()`, and why there is none: a sentence naming what is in the way
    /// ("the run directory is covered by a mount of tmpfs, which Testbed does
    /// not write into"), or the system's error.
    func openRoot() -> (descriptor: Int32, failure: String?) {
        let (parent, failure, _) = results.open()
        guard parent >= 0 else { return (-1, failure) }
        return state.withLock { state -> (Int32, String?) in
            if state.root.isAt(name, in: parent) { return (state.root.descriptor, nil) }
            let remade = HeldDirectory.remake(name, in: parent, held: state.root, expected: results.real + "/" + name,
                                              shownParent: results.path, who: "the run directory \(directory)",
                                              short: "the run directory", subject: .run, logs: true)
            let saved = errno
            if let repair = remade.repair { results.log(repair, refused: remade.refused) }
            state.refusedRoot = remade.refused
            guard let fresh = remade.held else {
                errno = saved
                return (-1, remade.refusal ?? String(cString: strerror(saved)))
            }
            if fresh.descriptor != state.root.descriptor {
                // What was below the old one is not below the new one.
                state.stale.append(state.root.descriptor)
                state.stale += state.top.values.map(\.descriptor)
                state.top.removeAll()
                state.refusedTop.removeAll()
                state.root = fresh
            }
            return (fresh.descriptor, nil)
        }
    }

    /// `tests`, `setups` or `restore`, opened once and kept; checked to be
    /// the one held before each use (one `fstatat`) and made again if not.
    /// nil and why when there is none.
    func topDirectory(_ top: String, notes: inout [String]) -> (descriptor: Int32?, failure: String?) {
        let (root, failure) = openRoot()
        guard root >= 0 else { return (nil, failure) }
        return state.withLock { state -> (Int32?, String?) in
            // The run directory made again by another thread since: use the new one.
            let root = state.root.descriptor
            if let held = state.top[top] {
                if held.isAt(top, in: root) { return (held.descriptor, nil) }
                let remade = HeldDirectory.remake(top, in: root, held: held, expected: results.real + "/" + name + "/" + top,
                                                  shownParent: directory, who: "the directory \(directory)/\(top)",
                                                  short: "the directory \(top) in the run directory", subject: .top(top), logs: true)
                let saved = errno
                if let repair = remade.repair { results.log(repair, refused: remade.refused) }
                state.refusedTop[top] = remade.refused
                guard let fresh = remade.held else {
                    return (nil, remade.refusal ?? "\(top): \(String(cString: strerror(saved)))")
                }
                if fresh.descriptor != held.descriptor {
                    state.stale.append(held.descriptor)
                    state.top[top] = fresh
                }
                return (fresh.descriptor, nil)
            }
            var refusal: String?
            let fd = Self.makeDirectory(top, in: root, shownAs: top, notes: &notes, refusal: &refusal)
            guard fd >= 0 else { return (nil, refusal ?? "\(top): \(String(cString: strerror(errno)))") }
            guard let held = HeldDirectory(descriptor: fd) else {
                let saved = errno
                close(fd)
                return (nil, "\(top): \(String(cString: strerror(saved)))")
            }
            state.top[top] = held
            return (fd, nil)
        }
    }

    /// Checks the results directory, the run directory and every top
    /// directory opened so far, making again what is not there (logged);
    /// puts back the user's link at the results path: two `fstatat` for
    /// each, a `readlink` when the results path is a link.
    public func verify() {
        var notes: [String] = []
        results.checkUserLink()
        let tops = state.withLock { Array($0.top.keys) }
        if tops.isEmpty { _ = root() }
        for top in tops { _ = topDirectory(top, notes: &notes) }
    }

    /// Whether the results directory, the run directory and every top
    /// directory opened so far are where they were, or still covered by the
    /// mount already refused there (nothing to repair).
    public var intact: Bool {
        guard results.intact else { return false }
        let parent = results.held
        return state.withLock { state in
            let root = state.root.isAt(name, in: parent)
                || (state.refusedRoot != nil && HeldDirectory.Identity(name, in: parent) == state.refusedRoot)
            return root && state.top.allSatisfy { top, held in
                held.isAt(top, in: state.root.descriptor)
                    || (state.refusedTop[top] != nil && HeldDirectory.Identity(top, in: state.root.descriptor) == state.refusedTop[top])
            }
        }
    }

    /// mkdirat + openat(O_DIRECTORY|O_NOFOLLOW); what is in the way and not
    /// a directory (a link, a file, a FIFO) is unlinked first. A directory
    /// on another mount than `parent` (`HeldDirectory.otherMount`: a step
    /// mounted something there) is not used: -1, `errno` EXDEV and
    /// `refusal` naming the mount. The descriptor, or -1 with `errno` set.
    static func makeDirectory(_ name: String, in parent: Int32, shownAs path: String, notes: inout [String],
                              refusal: inout String?) -> Int32 {
        for _ in 0..<4 {
            if mkdirat(parent, name, 0o755) != 0 && errno != EEXIST { return -1 }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0, let mount = HeldDirectory.otherMount(fd, parent: parent) {
                close(fd)
                refusal = "\(path) is \(mount), which Testbed does not write into"
                errno = EXDEV
                return -1
            }
            if fd >= 0 { return fd }
            guard errno == ELOOP || errno == ENOTDIR else { return -1 }
            let kind = plantedKind(name, in: parent)
            guard unlinkat(parent, name, 0) == 0 || errno == ENOENT else { return -1 }
            notes.append("\(path) was \(kind), not the directory Testbed made; Testbed removed it and made a new directory "
                + "(it never follows what a step plants in the results)")
        }
        errno = ELOOP
        return -1
    }

    /// openat(O_CREAT|O_EXCL|O_NOFOLLOW); what is in the way (a link, a FIFO,
    /// a file) is unlinked first. The descriptor, or -1 with `errno` set.
    static func createFile(_ name: String, in parent: Int32, flags: Int32, shownAs path: String,
                           notes: inout [String]) -> Int32 {
        for _ in 0..<4 {
            let fd = openat(parent, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            guard errno == EEXIST else { return -1 }
            let kind = plantedKind(name, in: parent)
            guard unlinkat(parent, name, 0) == 0 || errno == ENOENT else { return -1 }
            notes.append("\(path) was already there (\(kind)); Testbed removed it and wrote a new file (it never follows what a step plants in the results)")
        }
        errno = EEXIST
        return -1
    }

    /// What a step planted at `name` in `parent` (`fstatat` without following links).
    ///
    /// - Parameters:
    ///   - name: The entry's name in `parent`.
    ///   - parent: An open directory descriptor.
    /// - Returns: what is there: a link (with its target), a FIFO, a socket…; `.unknown` when it cannot be read.
    public static func plantedKind(_ name: String, in parent: Int32) -> PlantedKind {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return .unknown }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: 1024)
            let count = readlinkat(parent, name, &buffer, buffer.count - 1)
            guard count >= 0 else { return .symbolicLink(target: nil) }
            return .symbolicLink(target: String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        case S_IFCHR, S_IFBLK: return .device
        case S_IFDIR: return .directory
        default: return .file
        }
    }
}

/// What a step planted where Testbed expected its own file or directory.
/// Shown as "a symbolic link to /elsewhere", "a FIFO"… (`description`).
public enum PlantedKind: Sendable, Hashable, CustomStringConvertible {
    /// A symbolic link, and its target (nil when it cannot be read).
    case symbolicLink(target: String?)
    /// A FIFO (named pipe).
    case fifo
    /// A Unix socket.
    case socket
    /// A character or block device.
    case device
    /// A directory.
    case directory
    /// A regular file.
    case file
    /// Nothing Testbed could look at (it went away, or cannot be read).
    case unknown

    /// The link's target as shown in messages (control characters escaped, at most 200 characters); nil for anything else.
    public var shownTarget: String? {
        guard case .symbolicLink(let target?) = self else { return nil }
        return LogTail.printable(target, limit: 200)
    }

    /// "a symbolic link to /elsewhere", "a FIFO", "something"…
    public var description: String {
        switch self {
        case .symbolicLink: shownTarget.map { "a symbolic link to \($0)" } ?? "a symbolic link"
        case .fifo: "a FIFO"
        case .socket: "a socket"
        case .device: "a device"
        case .directory: "a directory"
        case .file: "a file"
        case .unknown: "something"
        }
    }

    /// How a sentence names it once introduced: "the link", "the FIFO"…, "it".
    public var noun: String {
        switch self {
        case .symbolicLink: "the link"
        case .fifo: "the FIFO"
        case .socket: "the socket"
        case .device: "the device"
        case .directory: "the directory"
        case .file: "the file"
        case .unknown: "it"
        }
    }
}

/// A step's directory below the run directory, opened by `RunLayout.openDirectory`
/// (closed when the value goes away), and what Testbed found planted on the way.
public final class StepDirectory: Sendable {
    /// -1 when it could not be opened (`failure` says why).
    public let descriptor: Int32
    /// Relative to the run directory.
    public let relative: String
    /// What a step had planted in its place and Testbed replaced.
    public let notes: [String]
    /// Why it could not be opened (nil when `descriptor` is valid).
    public let failure: String?

    init(descriptor: Int32, relative: String, notes: [String], failure: String?) {
        self.descriptor = descriptor
        self.relative = relative
        self.notes = notes
        self.failure = failure
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Creates a log in this directory (replacing what a step planted
    /// there), opened read-write and appending: the step writes to it, Testbed
    /// reads its tail back from the same descriptor. Notes about what was
    /// replaced (here and on the way to this directory) are its first lines.
    /// nil and why, when it cannot be made.
    ///
    /// - Parameter name: The log's file name in this directory (`output.log`).
    /// - Returns: The log, or nil and a sentence "PATH cannot be written: REASON" (the path relative to the run directory).
    public func createLog(_ name: String) -> (log: LogFile?, failure: String?) {
        let path = relative + "/" + name
        guard descriptor >= 0 else { return (nil, "\(path) cannot be written: \(failure ?? "no directory")") }
        var notes = self.notes
        let fd = RunLayout.createFile(name, in: descriptor, flags: O_RDWR | O_APPEND, shownAs: path, notes: &notes)
        guard fd >= 0 else { return (nil, "\(path) cannot be written: \(String(cString: strerror(errno)))") }
        let log = LogFile(descriptor: fd, relative: path)
        for note in notes { log.append("testbed: \(note)\n") }
        return (log, nil)
    }

    /// Creates an empty file in this directory (replacing what a step planted
    /// there); false when it cannot be made.
    ///
    /// - Parameter name: The file's name in this directory.
    /// - Returns: True when the file was made (and closed), false when this directory is not open or the file cannot be made.
    public func createEmptyFile(_ name: String) -> Bool {
        guard descriptor >= 0 else { return false }
        var notes: [String] = []
        let fd = RunLayout.createFile(name, in: descriptor, flags: O_WRONLY, shownAs: relative + "/" + name, notes: &notes)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}

/// A stable 64-bit hash (Swift's Hasher is seeded per process).
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
    }
}
