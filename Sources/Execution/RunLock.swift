import Foundation

/// The lock a `testbed run` holds on its run for as long as it lives: an
/// exclusive `flock` on the run directory itself (no file is added to it).
/// `testbed report` tests it (`holder(ofRunAt:)`) to tell a run that is
/// still going from one whose testbed was killed: the kernel drops the lock
/// when the process ends, however it ends (SIGKILL included).
///
/// The descriptor is close-on-exec: no step, service or guard process
/// inherits the lock, so one left running after testbed died does not make
/// its run look alive. A run directory that a step moves away keeps the
/// lock where it went: the one Testbed makes again in its place is not
/// locked, and the run reads as incomplete until it ends.
public final class RunLock: Sendable {
    /// The run directory, open (its own open file description) and locked.
    let descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Takes the lock of the run in `layout` (its run directory, as held),
    /// until this value goes away or the process ends.
    ///
    /// - Parameter layout: The run's directories, held.
    /// - Returns: The lock, held; nil when the run directory cannot be opened or locked (the run goes on without it: a
    ///   report of it while it runs then says it is incomplete).
    public static func hold(in layout: RunLayout) -> RunLock? {
        let (root, _) = layout.openRoot()
        guard root >= 0 else { return nil }
        // A description of its own: the layout's descriptor may be replaced and closed.
        let fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return RunLock(descriptor: fd)
    }

    /// A run that is still going: the process that holds its lock.
    public struct Holder: Sendable, Equatable {
        /// The id of the `testbed run` process, as `/proc/locks` names it (nil when it does not).
        public let pid: Int32?

        /// A holder.
        ///
        /// - Parameter pid: The process id of the lock's holder, nil when not known.
        public init(pid: Int32?) {
            self.pid = pid
        }
    }

    /// Whether a `testbed run` still holds the lock of the run in
    /// `directory`, and which: a shared lock is tried without waiting (and
    /// let go at once); the holder's pid is read from `/proc/locks`. A
    /// symbolic link at `directory` is not followed: no lock.
    ///
    /// - Parameter directory: The run directory's absolute path (the run row's `directory`).
    /// - Returns: The holder when the lock is held; nil when it is free, or the directory is gone or not a directory.
    public static func holder(ofRunAt directory: String) -> Holder? {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        guard errno == EWOULDBLOCK else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return Holder(pid: nil) }
        return Holder(pid: exclusiveHolder(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
    }

    /// The pid `/proc/locks` gives for the exclusive `flock` on the file
    /// `device`:`inode` (a line "1: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF";
    /// waiters, "1: -> FLOCK …", skipped); nil when none is listed or the pid is
    /// not visible from this process's pid namespace (0).
    static func exclusiveHolder(device: UInt64, inode: UInt64) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        let file = String(format: "%02llx:%02llx:%llu", major, minor, inode)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE", fields[5] == file else { continue }
            return Int32(fields[4]).flatMap { $0 > 0 ? $0 : nil }
        }
        return nil
    }
}
