import CShim
import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Requirements
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
/// refers to it. When it does not, whatever a step put there is not used
/// (`HeldDirectory.remake`): a link or a file is removed and the directory
/// made again, another directory moved aside (`NAME.foreign`) and the
/// directory made again, a mount left alone and nothing written there while
/// it is there; the change is logged for the run's warnings
/// (`takeRepairs`): deleted, moved (and where to), or replaced (and by what).
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
    let state: Mutex<Held>
    let repairs = Mutex<[DirectoryRepair]>([])
    /// The directories refused so far, by subject: each is warned about once.
    let refusals = Mutex<Set<Refusal>>([])

    struct Held {
        var held: HeldDirectory
        /// Every descriptor replaced so far, kept open: another thread may be using one.
        var stale: [Int32] = []
        /// What is at the name now and Testbed does not use (a mount), while it is there.
        var refused: HeldDirectory.Identity?
    }

    struct Refusal: Hashable {
        let subject: DirectoryRepair.Subject
        let directory: HeldDirectory.Identity
    }

    /// The results directory could not be opened.
    public struct OpenError: Error, Sendable, CustomStringConvertible {
        /// The results directory's path.
        public let path: String
        /// Why it could not be opened (an `errno` value).
        public let errno: Int32
        /// "cannot open the results directory PATH: REASON; choose another with --results DIR".
        public var description: String {
            "cannot open the results directory \(path): \(String(cString: strerror(errno))); choose another with --results DIR"
        }
    }

    /// Opens the existing directory `path` (links in it followed: the user gave it).
    ///
    /// - Parameter path: The directory's path, absolute or relative to the working directory; it must exist. A symbolic link
    ///   there is remembered (see `checkUserLink()`) and followed.
    /// - Throws: `OpenError` with the `errno` of `realpath`, or of opening the directory or its parent.
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
        state = Mutex(Held(held: held))
    }

    deinit {
        state.withLock { state in
            close(state.held.descriptor)
            for fd in state.stale { close(fd) }
        }
        close(parent)
    }

    /// The results directory, checked to be the one held (one `fstatat`);
    /// made again at its name if it is not (what a step put there is not
    /// used, the change logged). -1 with `errno` set when it cannot be made.
    ///
    /// - Returns: An open directory descriptor owned by this object (do not close it), or -1 with `errno` set.
    public func descriptor() -> Int32 { open().descriptor }

    /// Why Testbed does not write into the results directory now (a mount a
    /// step put over it or in its place: nil once it is gone), checked and
    /// repaired as `descriptor()` does; nil when it does.
    ///
    /// - Returns: A sentence naming the mount in the way, or nil when the directory can be written into (or failed for another reason).
    public func refusal() -> String? {
        let opened = open()
        return opened.refused ? opened.failure : nil
    }

    /// `descriptor()`, and why there is none: a sentence naming what is in
    /// the way ("the results directory is covered by a mount of tmpfs, which
    /// Testbed does not write into": `refused`), or the system's error.
    ///
    /// - Returns: `descriptor`, the directory (owned by this object) or -1; `failure`, nil with a descriptor, else the sentence or
    ///   the `strerror` text; `refused`, true when the failure is a mount Testbed will not write into.
    public func open() -> (descriptor: Int32, failure: String?, refused: Bool) {
        state.withLock { state -> (Int32, String?, Bool) in
            if state.held.isAt(name, in: parent) { return (state.held.descriptor, nil, false) }
            let shownParent = real == "/" ? "/" : URL(fileURLWithPath: real).deletingLastPathComponent().path
            let remade = HeldDirectory.remake(name, in: parent, held: state.held, expected: real, shownParent: shownParent,
                                              who: "the results directory \(path)", short: "the results directory",
                                              subject: .results, logs: false)
            let saved = errno
            if let repair = remade.repair { log(repair, refused: remade.refused) }
            state.refused = remade.refused
            guard let fresh = remade.held else {
                errno = saved
                return (-1, remade.refusal ?? String(cString: strerror(saved)), remade.refusal != nil)
            }
            if fresh.descriptor != state.held.descriptor {
                state.stale.append(state.held.descriptor)
                state.held = fresh
            }
            return (fresh.descriptor, nil, false)
        }
    }

    /// The directory held, unchecked.
    var held: Int32 { state.withLock { $0.held.descriptor } }

    /// Whether the name still refers to the directory held, or still to the
    /// mount already refused there (one `fstatat`, nothing repaired).
    public var intact: Bool {
        state.withLock { state in
            state.held.isAt(name, in: parent) || (state.refused != nil && HeldDirectory.Identity(name, in: parent) == state.refused)
        }
    }

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
    ///
    /// - Returns: The repairs logged since the previous call, oldest first; the log is emptied.
    public func takeRepairs() -> [DirectoryRepair] {
        repairs.withLock { repairs in
            defer { repairs.removeAll() }
            return repairs
        }
    }

    func log(_ repair: DirectoryRepair) { repairs.withLock { $0.append(repair) } }

    /// Logs `repair`; one that refused a directory (`refused`) only the
    /// first time that directory is refused for its subject.
    func log(_ repair: DirectoryRepair, refused: HeldDirectory.Identity?) {
        if let refused, !refusals.withLock({ $0.insert(Refusal(subject: repair.subject, directory: refused)).inserted }) { return }
        log(repair)
    }

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
    /// Which directory it was.
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
    /// Which directory it was.
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

    /// What tells one directory from another: device and inode.
    typealias Identity = FileIdentity

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
        let found = Identity(name, in: parent)
        return found?.device == device && found?.inode == inode
    }

    /// What became of the directory held: deleted (no links left), moved
    /// (`/proc/self/fd` names another path than `expected`), or not known
    /// (still at its path as far as the kernel says: covered by a mount, or
    /// moved and moved back).
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

    /// When the directory open at `child` is on another mount than the
    /// directory open at `parent` (a step's `mount --bind`, a tmpfs): what
    /// is mounted there, its source named as `findmnt` names it ("a mount of
    /// /dev/vda[/srv/elsewhere]", "a mount of tmpfs"); nil when both are on
    /// one mount. Mount ids (`statx` STATX_MNT_ID, else `name_to_handle_at`)
    /// tell apart a bind mount of a directory of the same filesystem; where
    /// this kernel gives none, devices (`st_dev`) are compared. Two or four
    /// system calls; `/proc/self/mountinfo` is read only for a mount found.
    static func otherMount(_ child: Int32, parent: Int32) -> String? {
        var mine: UInt64 = 0
        var theirs: UInt64 = 0
        if testbed_mount_id(child, &mine) == 0 && testbed_mount_id(parent, &theirs) == 0 {
            guard mine != theirs else { return nil }
            return "a mount of " + (mountSource(id: mine) ?? "mount \(mine) of /proc/self/mountinfo")
        }
        var a = stat()
        var b = stat()
        guard fstat(child, &a) == 0, fstat(parent, &b) == 0, a.st_dev != b.st_dev else { return nil }
        let device = UInt64(a.st_dev)
        let major = ((device >> 32) & 0xffff_f000) | ((device >> 8) & 0xfff)
        let minor = ((device >> 12) & 0xffff_ff00) | (device & 0xff)
        return "a mount of another filesystem (device \(major):\(minor))"
    }

    /// The source of mount `id` in `/proc/self/mountinfo`, as `findmnt`
    /// shows it: `SOURCE[ROOT]` for a bind mount of a directory below the
    /// filesystem's root (`/dev/vda[/tmp/x]`), `SOURCE` for a whole one;
    /// nil when that mount is not listed.
    static func mountSource(id: UInt64) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/self/mountinfo") else { return nil }
        let prefix = "\(id) "
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 2 < fields.count else { return nil }
            let root = unescape(fields[3])
            let source = unescape(fields[dash + 2])
            return LogTail.printable(root == "/" ? source : source + "[" + root + "]", limit: 300)
        }
        return nil
    }

    /// `\040` and the like (mountinfo's octal escapes) decoded.
    static func unescape(_ field: String) -> String {
        var bytes: [UInt8] = []
        var input = Array(field.utf8)[...]
        while let byte = input.first {
            input = input.dropFirst()
            if byte == UInt8(ascii: "\\"), input.count >= 3,
               let value = UInt8(String(decoding: input.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                input = input.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What `remake` did: the directory to use (nil: none, `refusal` says
    /// why), the repair to log, and, when it refused a directory it found,
    /// that directory (logged once, and not a repair in progress).
    struct Remade {
        var held: HeldDirectory?
        var repair: DirectoryRepair?
        var refusal: String?
        var refused: Identity?
    }

    /// Makes the directory `name` in `parent` again after `held` was found
    /// not to be there. Testbed writes only into directories it made: what a
    /// step put in its place is never used. A link, a file or a FIFO is
    /// removed; a directory of the step's is moved aside, to `NAME.foreign`
    /// (`NAME.foreign-2`… when taken) in the same directory, with what it
    /// holds; one that cannot be moved (a mount: `mount --bind` over it, or
    /// over the directory held) is left alone and nothing is written there
    /// while it is there. The new directory and the repair saying what
    /// happened (none when `held` turned out to be there after all); or no
    /// directory, a `refusal` for the steps' reasons and `errno` set.
    /// `shownParent`: the path shown for `parent`, for messages.
    static func remake(_ name: String, in parent: Int32, held: HeldDirectory, expected: String, shownParent: String,
                       who: String, short: String, subject: DirectoryRepair.Subject, logs: Bool) -> Remade {
        let fate = held.fate(expected: expected)
        var info = stat()
        var found = ""
        var action = "made it again"
        if fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR {
                if UInt64(info.st_dev) == held.device && UInt64(info.st_ino) == held.inode { return Remade(held: held) }
                let refused = Identity(name, in: parent)
                let probe = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                let mount = probe >= 0 ? otherMount(probe, parent: parent) : nil
                if probe >= 0 { close(probe) }
                var aside: String?
                var moveFailure = ""
                if mount == nil {
                    aside = moveAside(name, in: parent)
                    moveFailure = String(cString: strerror(errno))
                }
                guard let aside else {
                    // A mount, or a directory that cannot be moved: left as it is, never written into.
                    let covered: Bool
                    if case .unknown = fate, mount != nil { covered = true } else { covered = false }
                    let thing = mount ?? "another directory"
                    var what = covered ? "was covered by \(thing)" : fateWords(fate) + " and \(thing) put in its place"
                    what += " during the run; Testbed does not write into a directory put in the place of one it made"
                    if mount == nil { what += ", and could not move that one aside (\(moveFailure))" }
                    let there = mount == nil ? "while it is there" : "while that mount is there"
                    what += ": nothing more is written there \(there)"
                    if logs {
                        let before = covered ? "the logs written in it before are under the mount" : logsBefore(fate)
                        what += " (the steps whose output belongs there do not keep it, their reasons say so; \(before))"
                    } else if case .moved(let place) = fate {
                        what += " (what it held is in \(LogTail.printable(place, limit: 200)))"
                    }
                    var movedTo: String?
                    if case .moved(let place) = fate { movedTo = place }
                    let refusal = covered ? "\(short) is covered by \(thing), which Testbed does not write into"
                        : "\(short) is \(thing) put in its place, which Testbed does not write into"
                    errno = EXDEV
                    return Remade(repair: DirectoryRepair(subject: subject, warning: who + " " + what, note: short + " " + what,
                                                          movedTo: movedTo),
                                  refusal: refusal, refused: refused)
                }
                found = " and another directory put in its place"
                action = "moved that one to \(LogTail.printable(shownParent + "/" + aside, limit: 300)) (it does not write into "
                    + "a directory put in the place of one it made) and made its own again"
            } else {
                let kind = RunLayout.plantedKind(name, in: parent)
                found = " and \(kind) put in its place"
                action = "removed \(kind.noun) and made the directory again"
                guard unlinkat(parent, name, 0) == 0 || errno == ENOENT else { return Remade() }
            }
        }
        var notes: [String] = []
        var refusal: String?
        let fd = RunLayout.makeDirectory(name, in: parent, shownAs: short, notes: &notes, refusal: &refusal)
        guard fd >= 0 else { return Remade(refusal: refusal) }
        guard let fresh = HeldDirectory(descriptor: fd) else {
            close(fd)
            return Remade()
        }
        if fresh.device == held.device && fresh.inode == held.inode {
            close(fd)
            return Remade(held: held)
        }
        var movedTo: String?
        var suffix = ""
        switch fate {
        case .moved(let place):
            movedTo = place
            suffix = logs ? " (\(logsBefore(fate)))" : " (what it held is in \(LogTail.printable(place, limit: 200)))"
        case .deleted, .unknown:
            if logs { suffix = " (\(logsBefore(fate)))" }
        }
        let what = fateWords(fate) + found + " during the run; Testbed " + action + suffix
        return Remade(held: fresh, repair: DirectoryRepair(subject: subject, warning: who + " " + what, note: short + " " + what,
                                                           movedTo: movedTo))
    }

    /// "was deleted", "was moved to PATH", "was deleted or moved".
    static func fateWords(_ fate: Fate) -> String {
        switch fate {
        case .deleted: "was deleted"
        case .moved(let place): "was moved to \(LogTail.printable(place, limit: 200))"
        case .unknown: "was deleted or moved"
        }
    }

    /// Where the logs written in a held directory before now are.
    static func logsBefore(_ fate: Fate) -> String {
        switch fate {
        case .deleted: "the logs written in it before are lost"
        case .moved(let place): "the logs written in it before are in \(LogTail.printable(place, limit: 200))"
        case .unknown: "the logs written in it before are not in it"
        }
    }

    /// Renames the directory `name` in `parent` to `NAME.foreign` (or
    /// `NAME.foreign-2`… up to 100, never over anything): the new name, or
    /// nil with `errno` set (EBUSY: a mount point).
    static func moveAside(_ name: String, in parent: Int32) -> String? {
        for number in 1...100 {
            let aside = name + (number == 1 ? ".foreign" : ".foreign-\(number)")
            var status = testbed_rename_noreplace(parent, name, aside)
            if status == -EINVAL {
                // A filesystem without RENAME_NOREPLACE: look first (the results are Testbed's, the race is the step's).
                var info = stat()
                if fstatat(parent, aside, &info, AT_SYMLINK_NOFOLLOW) == 0 { status = -EEXIST }
                else { status = renameat(parent, name, parent, aside) == 0 ? 0 : -errno }
            }
            if status == 0 { return aside }
            guard status == -EEXIST || status == -ENOTEMPTY else {
                errno = -status
                return nil
            }
        }
        errno = EEXIST
        return nil
    }
}

/// The device and inode of a file: what tells it from another put in its
/// place (the results directory's files, the directories a run holds).
public struct FileIdentity: Sendable, Hashable {
    /// The device it is on (`st_dev`).
    public let device: UInt64
    /// Its inode number (`st_ino`).
    public let inode: UInt64

    /// `name` in the directory `parent`, itself (a link is not followed: it
    /// is a file of its own): one `fstatat`. Nil when there is no such file.
    ///
    /// - Parameters:
    ///   - name: A file name (or a relative path) in `parent`.
    ///   - parent: An open directory descriptor.
    public init?(_ name: String, in parent: Int32) {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// The file open as `descriptor`.
    ///
    /// - Parameter descriptor: An open file descriptor; nil when it is negative or `fstat` fails.
    public init?(descriptor: Int32) {
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
