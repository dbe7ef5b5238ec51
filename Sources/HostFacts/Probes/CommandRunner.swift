import CShim
import Declarations
import Foundation
import Requirements

/// Runs a short command for a probe (`qemu-system-x86_64 --version`, an
/// environment's `probes:`, `gzip -dc < /proc/config.gz`) and returns what it
/// printed: a bounded wait, a bounded read, nothing left behind.
///
/// The program starts in a process group of its own (`testbed_spawn`), with
/// stdin on `/dev/null` and stdout and stderr on one pipe that the runner
/// reads while it waits, for the program itself (a pidfd and poll), for at
/// most `timeout`:
///
/// - when it exits, `run` returns at once with its status and output, and
///   SIGKILLs whatever is left in its process group (a daemon it started, a
///   `sleep` holding its stdout: the runner waits for the program, never for
///   the end of the pipe);
/// - at the timeout, the whole group gets SIGKILL, the program is reaped, and
///   the output says `timedOut`;
/// - past `limit` bytes of output, the whole group gets SIGKILL too and the
///   output says `truncated`: an endless printer costs 64 KiB of memory, not
///   a disk (nothing is written to `$TMPDIR`);
/// - after `HelperProcesses.interrupt()` (Ctrl-C), the group is killed and
///   the output says `interrupted`; no later command is started.
///
/// What it leaves in another group or session (`setsid daemon &`, `env -i
/// setsid …`) is killed with it: its descendants while it runs, its orphans
/// once it has exited (`HelperProcesses.adoptOrphans`, `sweepOrphans`).
///
/// While it runs, the program is registered in `HelperProcesses`, so a reaper
/// of untracked children does not take its exit status.
public struct CommandRunner: Sendable {
    /// How long a probe command may take before its process group is killed.
    public var timeout: Duration

    /// How much output `run` reads back by default: 64 KiB, plenty for what a
    /// `--version` prints.
    public static let versionOutputLimit = 64 * 1024

    /// A runner whose commands get `timeout` each.
    /// - Parameter timeout: How long one command may run before its process group is killed (10 s by default).
    public init(timeout: Duration = .seconds(10)) {
        self.timeout = timeout
    }

    /// The result of one command.
    public struct Output: Sendable, Hashable {
        /// The exit status (0…255); 128 + the signal number when a signal
        /// ended the program (137 for SIGKILL, as shells report it); -1 when
        /// its status was lost (something else reaped it) or it never started
        /// (`interrupted`).
        public var status: Int32
        /// stdout and stderr together, in the order written, up to the limit
        /// `run` was given (invalid UTF-8 replaced).
        public var text: String
        /// The program ran past the timeout; its group was killed.
        public var timedOut: Bool
        /// It printed more than the limit; its group was killed and `text`
        /// is the first `limit` bytes.
        public var truncated: Bool
        /// `HelperProcesses.interrupt()` stopped it (or came before it started).
        public var interrupted = false
    }

    /// Runs `executable` (a path; `argv[0]` is that path) with `arguments`, in
    /// `directory` (nil: ours), with our environment, for at most `timeout`.
    ///
    /// - Parameters:
    ///   - executable: The program's path.
    ///   - arguments: Its arguments after `argv[0]`.
    ///   - directory: Its working directory; nil is this process's.
    ///   - limit: The most bytes of output read (default
    ///     `versionOutputLimit`, 64 KiB); a program that prints more is killed
    ///     with its group and `truncated` set.
    /// - Returns: Its status and output; nil when the program cannot be started
    ///   (missing, not executable, no `#!` line, a bad `directory`) or no pipe
    ///   can be made.
    public func run(_ executable: String, _ arguments: [String], in directory: String? = nil,
                    limit: Int = CommandRunner.versionOutputLimit) -> Output? {
        if HelperProcesses.interrupted {
            return Output(status: -1, text: "", timedOut: false, truncated: false, interrupted: true)
        }
        var ends: [Int32] = [-1, -1]
        // (pipe2 is not in Swift's Glibc. A child another thread forks before the
        // flags are set gets no copy: testbed_spawn closes all but 0, 1, 2; and
        // nothing here waits for the end of the pipe.)
        guard pipe(&ends) == 0 else { return nil }
        var readEnd = ends[0]
        let writeEnd = ends[1]
        defer { if readEnd >= 0 { close(readEnd) } }
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        // Only our end is non-blocking; the program's stdout blocks as usual.
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            close(writeEnd)
            return nil
        }
        defer { close(input) }

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var spawned: pid_t?
        // ETXTBSY: the program was just written, and a process another thread
        // was starting at that moment still holds it open for writing until
        // its exec; that passes within milliseconds.
        for attempt in 0..<20 {
            var rc: Int32 = 0
            spawned = HelperProcesses.spawning { () -> pid_t? in
                var pid: pid_t = 0
                rc = argv.withUnsafeBufferPointer { argvBuffer in
                    envp.withUnsafeBufferPointer { envpBuffer in
                        testbed_spawn(executable, argvBuffer.baseAddress, envpBuffer.baseAddress, directory,
                                      input, writeEnd, writeEnd, &pid)
                    }
                }
                return rc == 0 ? pid : nil
            }
            if rc != ETXTBSY { break }
            usleep(useconds_t(2_000 * (attempt + 1)))
        }
        // Only the program holds the write end now: its exit (and its group's) ends the pipe.
        close(writeEnd)
        guard let pid = spawned else { return nil }
        var reader = OutputReader(limit: max(0, limit))
        let (status, timedOut) = wait(for: pid, reading: &reader, from: &readEnd)
        HelperProcesses.reaped(pid)
        HelperProcesses.sweepOrphans()
        // What the pipe still holds, without waiting: a writer that left the group cannot hold the runner.
        if readEnd >= 0 { reader.drain(readEnd) }
        return Output(status: status, text: String(decoding: reader.bytes, as: UTF8.self), timedOut: timedOut,
                      truncated: reader.truncated, interrupted: HelperProcesses.interrupted && !timedOut)
    }

    /// Runs a command line through `/bin/sh -c`; `limit` as for `run`.
    /// - Parameters:
    ///   - command: The shell command line.
    ///   - directory: Its working directory; nil is this process's.
    ///   - limit: The most bytes of output read (64 KiB by default).
    /// - Returns: The shell's status and output, or nil when it cannot be started.
    public func shell(_ command: String, in directory: String? = nil,
                      limit: Int = CommandRunner.versionOutputLimit) -> Output? {
        run("/bin/sh", ["-c", command], in: directory, limit: limit)
    }

    /// The timeout as a reason shows it: `10s`, `1.5s`.
    public var timeoutText: String {
        let (seconds, attoseconds) = timeout.components
        let tenths = attoseconds / 100_000_000_000_000_000
        return tenths == 0 ? "\(seconds)s" : "\(seconds).\(tenths)s"
    }

    // MARK: - Waiting

    /// Waits until `pid` exits, the timeout passes or the output passes the
    /// reader's limit, reading the pipe meanwhile (`readEnd` becomes -1 once
    /// it is closed); kills what is left of its group, reaps it: its status
    /// (as `Output.status`) and whether it timed out.
    func wait(for pid: pid_t, reading reader: inout OutputReader, from readEnd: inout Int32) -> (status: Int32, timedOut: Bool) {
        let deadline = ContinuousClock.now + timeout
        var pidfd = testbed_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        var exited = false
        while !exited && !reader.truncated {
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            var fds = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)]
            // No pidfd (a kernel before 5.3): look every 5 ms, without reaping.
            let wait = pidfd >= 0 ? Self.milliseconds(left) : min(5, Self.milliseconds(left))
            let rc = poll(&fds, 2, wait)
            if rc < 0 {
                if errno == EINTR { continue }
                // poll itself failed: fall back to looking every 5 ms.
                if pidfd >= 0 { close(pidfd); pidfd = -1 }
                usleep(5_000)
            }
            if rc > 0, fds[1].revents != 0, readEnd >= 0, !reader.drain(readEnd) {
                close(readEnd)
                readEnd = -1
            }
            if pidfd >= 0 {
                if rc > 0, fds[0].revents != 0 { exited = true }
            } else if testbed_has_exited(pid) != 0 {
                exited = true
            }
        }
        // Its pid still names its group (it is not reaped yet): nothing else
        // can have taken that number, so the group kill hits only its own.
        // Its descendants in other groups (a `setsid` child) die too, found
        // by ancestry while it runs; once it has exited they are orphans,
        // which `HelperProcesses.sweepOrphans` finds.
        _ = kill(-pid, SIGKILL)
        ProcessTree.kill([pid])
        var status: Int32 = 0
        let timedOut = !exited && !reader.truncated
        guard testbed_wait(pid, &status) == 0 else { return (-1, timedOut) }
        if testbed_signaled(status) != 0 { return (128 + testbed_term_signal(status), timedOut) }
        return (testbed_exit_status(status), timedOut)
    }

    /// A duration in whole milliseconds, rounded up, at most `Int32.max`.
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(0, ms))
    }

    // MARK: - The output

    /// The output read so far, up to a limit.
    struct OutputReader {
        let limit: Int
        var bytes: [UInt8] = []
        /// More than `limit` bytes came.
        var truncated = false

        init(limit: Int) {
            self.limit = limit
        }

        /// Reads what the pipe holds now (it is non-blocking); false at its
        /// end or on an error (close it). Past the limit, keeps the first
        /// `limit` bytes and sets `truncated`.
        @discardableResult
        mutating func drain(_ fd: Int32) -> Bool {
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while !truncated {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count < 0 { return errno == EAGAIN }
                if count == 0 { return false }
                bytes.append(contentsOf: chunk[0..<count])
                if bytes.count > limit {
                    bytes.removeLast(bytes.count - limit)
                    truncated = true
                }
            }
            return true
        }
    }
}
