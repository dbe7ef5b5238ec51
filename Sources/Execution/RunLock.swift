import Foundation

/// The lock a `testbed run` holds on its run for as long as it lives: an
/// exclusive `flock` on `.running` in the run directory, which holds the
/// process id. `testbed report` tests it (`holder(ofRunAt:)`) to tell a run
/// that is still going from one whose testbed was killed: the kernel drops
/// the lock when the process ends, however it ends (SIGKILL included).
///
/// The descriptor is close-on-exec: no step, service or guard process
/// inherits the lock, so one left running after testbed died does not make
/// its run look alive.
public final class RunLock: Sendable {
    /// The lock file's name in the run directory.
    public static let fileName = ".running"

    /// The open lock file, locked.
    let descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Takes the lock of the run in `layout`: creates `.running` in its run
    /// directory (replacing what a step planted there, never following it),
    /// writes this process's id into it and locks it until this value goes
    /// away or the process ends.
    ///
    /// - Parameter layout: The run's directories, held.
    /// - Returns: The lock, held; nil when the file cannot be made or locked (the run goes on without it: a report of it while
    ///   it runs then says it is incomplete).
    public static func hold(in layout: RunLayout) -> RunLock? {
        let (fd, _, _) = layout.createFile(fileName)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        return RunLock(descriptor: fd)
    }

    /// A run that is still going: the process that holds its lock.
    public struct Holder: Sendable, Equatable {
        /// The id of the `testbed run` process (nil when the lock file does not say).
        public let pid: Int32?

        /// A holder.
        ///
        /// - Parameter pid: The process id written in the lock file, nil when unreadable.
        public init(pid: Int32?) {
            self.pid = pid
        }
    }

    /// Whether a `testbed run` still holds the lock of the run in
    /// `directory`, and which: a shared lock is tried without waiting (and
    /// let go at once). Nothing is created; a link or anything but a regular
    /// file at `.running` is not followed or read, and counts as no lock.
    ///
    /// - Parameter directory: The run directory's absolute path (the run row's `directory`).
    /// - Returns: The holder when the lock is held; nil when it is free, or there is no lock file (a run from before there were
    ///   locks, a run directory deleted or moved).
    public static func holder(ofRunAt directory: String) -> Holder? {
        let fd = open(directory + "/" + fileName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        guard errno == EWOULDBLOCK else { return nil }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count, 0)
        let text = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
        return Holder(pid: Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}
