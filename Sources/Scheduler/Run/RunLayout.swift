import CShim
import Foundation
import Synchronization

/// Where a run keeps its files, below its run directory:
///
/// - `tests/ID/` (`TESTBED_OUTPUT_DIR`: the test's own files) and Testbed's
///   `tests/ID/output.log` in it
/// - `setups/NAME/{check,run,teardown}.log`, `setups/NAME/export`
/// - `setups/NAME/for/ID/…` for `scope: test` setups
/// - `restore/N.log`
/// - `facts.json`, `report.json`, `junit.xml`
///
/// A test id becomes one directory name: `/` is written `~`, and `~`, `%`
/// and every byte outside `A-Z a-z 0-9 . _ -` are percent-encoded, so no id
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
/// followed.
public final class RunLayout: Sendable {
    /// The absolute run directory (for the variables tests get and for messages).
    public let directory: String
    /// The run directory, held open for the whole run (made again, and
    /// this replaced, if a step deletes it), and every descriptor it had
    /// before (kept open: another thread may be using one).
    let roots: Mutex<(current: Int32, stale: [Int32])>
    /// `tests`, `setups`, `restore`: opened once, when first needed.
    let top = Mutex<[String: Int32]>([:])

    var root: Int32 { roots.withLock { $0.current } }

    /// The run directory could not be opened.
    public struct OpenError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let errno: Int32
        public var description: String {
            "cannot open the run directory \(path): \(String(cString: strerror(errno))); check the results directory"
        }
    }

    /// Opens `directory` (made by Testbed for this run; a symbolic link in its
    /// place is refused).
    public init(directory: String) throws(OpenError) {
        self.directory = directory
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw OpenError(path: directory, errno: errno) }
        roots = Mutex((fd, []))
    }

    deinit {
        roots.withLock { roots in
            close(roots.current)
            for fd in roots.stale { close(fd) }
        }
        top.withLock { for fd in $0.values { close(fd) } }
    }

    /// `/migration/precopy/tcp` → `migration~precopy~tcp`.
    public static func encode(_ id: String) -> String {
        var out = ""
        var bytes = Array(id.utf8)
        if bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "/"): out.append("~")
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
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
    public func testDirectory(_ id: String) -> String { "tests/" + Self.encode(id) }
    public func setupDirectory(_ name: String, test: String?) -> String {
        let base = "setups/" + Self.encode(name)
        guard let test else { return base }
        return base + "/for/" + Self.encode(test)
    }

    public func absolute(_ relative: String) -> String { directory + "/" + relative }

    /// The results directory the run directory is in, for messages.
    public var resultsDirectory: String { URL(fileURLWithPath: directory).deletingLastPathComponent().path }

    /// Whether the filesystem the run directory is on (`fstatvfs` of the
    /// descriptor Testbed holds) is full: no block left that this process may
    /// use (root may use the blocks reserved for it), or no inode left where
    /// the filesystem counts them (btrfs reports none at all). One system
    /// call; asked only about a step that did not pass.
    public func resultsDiskFull() -> Bool {
        var info = statvfs()
        guard fstatvfs(root, &info) == 0 else { return false }
        let blocks = geteuid() == 0 ? info.f_bfree : info.f_bavail
        let inodes = geteuid() == 0 ? info.f_ffree : info.f_favail
        return blocks == 0 || (info.f_files > 0 && inodes == 0)
    }

    // MARK: - Directories and files by descriptor

    /// Opens the directory `relative` (names joined by `/`, none of them `.`
    /// or `..`) below the run directory, making what is missing: one
    /// `mkdirat` and one `openat` per name below the first (a test's
    /// directory costs two system calls). Whatever a step put in the place of
    /// one of them (a link, a file, a FIFO) is removed and a directory made
    /// instead; `StepDirectory.notes` says so.
    public func openDirectory(_ relative: String) -> StepDirectory {
        var names = relative.split(separator: "/").map(String.init)
        guard !names.isEmpty else { return StepDirectory(descriptor: dup(root), relative: relative, notes: [], failure: nil) }
        var notes: [String] = []
        let first = names.removeFirst()
        var topmost = topDirectory(first, notes: &notes)
        if topmost == nil && errno == ENOENT && reopenDeletedRoot() { topmost = topDirectory(first, notes: &notes) }
        guard var parent = topmost else {
            return StepDirectory(descriptor: -1, relative: relative, notes: notes,
                                 failure: "\(first): \(String(cString: strerror(errno)))")
        }
        var path = first
        var owned = false
        for (position, name) in names.enumerated() {
            path += "/" + name
            var opened = Self.makeDirectory(name, in: parent, shownAs: path, notes: &notes)
            if opened < 0 && errno == ENOENT && position == 0 {
                // The cached directory was deleted (`rm -rf tests`): make it again.
                if let fresh = topDirectory(first, notes: &notes, again: parent) {
                    parent = fresh
                    opened = Self.makeDirectory(name, in: parent, shownAs: path, notes: &notes)
                }
            }
            let saved = errno
            if owned { close(parent) }
            guard opened >= 0 else {
                return StepDirectory(descriptor: -1, relative: relative, notes: notes,
                                     failure: "\(path): \(String(cString: strerror(saved)))")
            }
            parent = opened
            owned = true
        }
        return StepDirectory(descriptor: owned ? parent : dup(parent), relative: relative, notes: notes, failure: nil)
    }

    /// Creates (replacing what a step planted there) and opens a file in the
    /// run directory itself, for writing: `report.json`, `junit.xml`,
    /// `facts.json`. The descriptor (the caller closes it) and what was
    /// replaced, or why it cannot be made.
    public func createFile(_ name: String) -> (descriptor: Int32, notes: [String], failure: String?) {
        var notes: [String] = []
        var fd = Self.createFile(name, in: root, flags: O_WRONLY, shownAs: name, notes: &notes)
        if fd < 0 && errno == ENOENT && reopenDeletedRoot() {
            fd = Self.createFile(name, in: root, flags: O_WRONLY, shownAs: name, notes: &notes)
        }
        return (fd, notes, fd < 0 ? String(cString: strerror(errno)) : nil)
    }

    /// If a step deleted the run directory (its descriptor has no links
    /// left), makes it again at its path in the results directory (which the
    /// user gave: trusted; the run directory's own name is still opened with
    /// `O_NOFOLLOW`) and forgets the directories below it. Whether a new run
    /// directory is in use.
    func reopenDeletedRoot() -> Bool {
        roots.withLock { roots -> Bool in
            var info = stat()
            guard fstat(roots.current, &info) == 0, info.st_nlink == 0 else {
                // Already made again by another thread, or never deleted.
                return fstat(roots.current, &info) == 0 && info.st_nlink > 0
            }
            let url = URL(fileURLWithPath: directory)
            let parent = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard parent >= 0 else { return false }
            defer { close(parent) }
            var notes: [String] = []
            let fresh = Self.makeDirectory(url.lastPathComponent, in: parent, shownAs: directory, notes: &notes)
            guard fresh >= 0 else { return false }
            roots.stale.append(roots.current)
            roots.current = fresh
            top.withLock { opened in opened.removeAll() }
            return true
        }
    }

    /// `tests`, `setups` or `restore`, opened once and kept; `again`: the
    /// descriptor that turned out stale (its directory was deleted), replaced
    /// by a new one (the stale one stays open: another thread may use it).
    func topDirectory(_ name: String, notes: inout [String], again stale: Int32? = nil) -> Int32? {
        let root = self.root  // read first: reopenDeletedRoot locks roots, then top
        return top.withLock { opened -> Int32? in
            if let fd = opened[name], fd != stale { return fd }
            let fd = Self.makeDirectory(name, in: root, shownAs: name, notes: &notes)
            guard fd >= 0 else { return nil }
            opened[name] = fd
            return fd
        }
    }

    /// mkdirat + openat(O_DIRECTORY|O_NOFOLLOW); what is in the way and not
    /// a directory (a link, a file, a FIFO) is unlinked first. The descriptor,
    /// or -1 with `errno` set.
    static func makeDirectory(_ name: String, in parent: Int32, shownAs path: String, notes: inout [String]) -> Int32 {
        for _ in 0..<4 {
            if mkdirat(parent, name, 0o755) != 0 && errno != EEXIST { return -1 }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 { return fd }
            guard errno == ELOOP || errno == ENOTDIR else { return -1 }
            let kind = plantedKind(name, in: parent)
            guard unlinkat(parent, name, 0) == 0 || errno == ENOENT else { return -1 }
            notes.append("\(path) was \(kind), not the directory Testbed made; Testbed removed it and made a new directory (it never follows what a step plants in the results)")
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

    /// "a symbolic link to /elsewhere", "a FIFO"…, for a note.
    static func plantedKind(_ name: String, in parent: Int32) -> String {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return "something" }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: 1024)
            let count = readlinkat(parent, name, &buffer, buffer.count - 1)
            guard count >= 0 else { return "a symbolic link" }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return "a symbolic link to \(LogTail.printable(target, limit: 200))"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFDIR: return "a directory"
        default: return "a file"
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
    public func createEmptyFile(_ name: String) -> Bool {
        guard descriptor >= 0 else { return false }
        var notes: [String] = []
        let fd = RunLayout.createFile(name, in: descriptor, flags: O_WRONLY, shownAs: relative + "/" + name, notes: &notes)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}

/// A log file Testbed created for a step and holds open while the step runs
/// (closed when the value goes away). The step's stdout and stderr are this
/// very descriptor, and reasons are read back from it: whatever the step does
/// to the name (a link to `/dev/zero`, a FIFO), Testbed reads what the step
/// wrote, at most `LogTail.window` bytes.
public final class LogFile: Sendable {
    public let descriptor: Int32
    /// Relative to the run directory.
    public let relative: String
    /// Whether an `append` failed with ENOSPC (or EDQUOT): the disk was full
    /// while the step ran, whatever it is by the time the step ends.
    let noSpace = Atomic<Bool>(false)

    init(descriptor: Int32, relative: String) {
        self.descriptor = descriptor
        self.relative = relative
    }

    deinit { close(descriptor) }

    /// Appends text; a failure to write is not an error (a full disk is
    /// remembered: `sawFullDisk`).
    public func append(_ text: String) {
        var text = text
        let status = text.withUTF8 { testbed_write_all(descriptor, $0.baseAddress, $0.count) }
        if status == -ENOSPC || status == -EDQUOT { noSpace.store(true, ordering: .relaxed) }
    }

    /// Whether Testbed's own writes to this log found the disk full.
    public var sawFullDisk: Bool { noSpace.load(ordering: .relaxed) }

    /// The last `count` lines (see `LogTail.lines`).
    public func tail(count: Int) -> [String] { LogTail.lines(descriptor: descriptor, count: count) }

    /// The last non-empty line without its indentation, for a short reason.
    public func lastLine() -> String? { LogTail.lastLine(of: tail(count: 1)) }
}

/// A stable 64-bit hash (Swift's Hasher is seeded per process).
struct FNV1a {
    var value: UInt64 = 0xcbf29ce484222325
    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100000001b3
        }
    }
}
