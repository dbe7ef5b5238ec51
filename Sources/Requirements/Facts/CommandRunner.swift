import CShim
import Foundation

/// Runs a short command for a probe (`qemu-system-x86_64 --version`, an
/// environment's `probes:`, `gzip -dc < /proc/config.gz`) and returns what it
/// printed.
///
/// The program starts in a process group of its own (`testbed_spawn`), with
/// stdin on `/dev/null` and stdout and stderr on one temporary file that is
/// unlinked as soon as it is open (no pipe: a child that keeps it open cannot
/// make the probe wait, and nothing is left on disk). The runner waits for
/// the program itself, with a pidfd and poll, for at most `timeout`:
///
/// - when it exits, `run` returns at once with its status and output, and
///   SIGKILLs whatever is left in its process group (a daemon it started, a
///   `sleep` holding its stdout);
/// - at the timeout, the whole group gets SIGKILL, the program is reaped, and
///   the output says `timedOut`.
///
/// While it runs, the program is registered in `HelperProcesses`, so a reaper
/// of untracked children does not take its exit status.
public struct CommandRunner: Sendable {
    /// How long a probe command may take before its process group is killed.
    public var timeout: Duration

    /// How much output `run` reads back by default: 64 KiB, plenty for what a
    /// `--version` prints.
    public static let versionOutputLimit = 64 * 1024

    public init(timeout: Duration = .seconds(10)) {
        self.timeout = timeout
    }

    /// The result of one command.
    public struct Output: Sendable, Hashable {
        /// The exit status (0…255); 128 + the signal number when a signal
        /// ended the program (137 for SIGKILL, as shells report it); -1 when
        /// its status was lost (something else reaped it).
        public var status: Int32
        /// stdout and stderr together, in the order written, up to the limit
        /// `run` was given (invalid UTF-8 replaced).
        public var text: String
        /// The program ran past the timeout; its group was killed.
        public var timedOut: Bool
        /// It printed more than the limit; `text` is the first `limit` bytes.
        public var truncated: Bool
    }

    /// Runs `executable` (a path; `argv[0]` is that path) with `arguments`, in
    /// `directory` (nil: ours), with our environment.
    ///
    /// - Parameter limit: the most bytes of output read back (default
    ///   `versionOutputLimit`, 64 KiB); more is cut and `truncated` set.
    /// - Returns: nil when the program cannot be started (missing, not
    ///   executable, no `#!` line, a bad `directory`) or the output file
    ///   cannot be made in the temporary directory.
    public func run(_ executable: String, _ arguments: [String], in directory: String? = nil,
                    limit: Int = CommandRunner.versionOutputLimit) -> Output? {
        guard let outputFile = Self.openOutputFile() else { return nil }
        defer { close(outputFile) }
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return nil }
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
                                      input, outputFile, outputFile, &pid)
                    }
                }
                return rc == 0 ? pid : nil
            }
            if rc != ETXTBSY { break }
            usleep(useconds_t(2_000 * (attempt + 1)))
        }
        guard let pid = spawned else { return nil }
        let (status, timedOut) = wait(for: pid)
        HelperProcesses.reaped(pid)
        let (bytes, truncated) = Self.readBack(outputFile, limit: max(0, limit))
        return Output(status: status, text: String(decoding: bytes, as: UTF8.self), timedOut: timedOut, truncated: truncated)
    }

    /// Runs a command line through `/bin/sh -c`; `limit` as for `run`.
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

    /// Waits until `pid` exits or the timeout passes, kills what is left of its
    /// group, reaps it: its status (as `Output.status`) and whether it timed out.
    func wait(for pid: pid_t) -> (status: Int32, timedOut: Bool) {
        let deadline = ContinuousClock.now + timeout
        var pidfd = testbed_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        var exited = false
        while !exited {
            let left = deadline - ContinuousClock.now
            if pidfd >= 0 {
                let rc = testbed_poll_readable(pidfd, left <= .zero ? 0 : Self.milliseconds(left))
                if rc == 1 { exited = true; continue }
                if rc == -EINTR { continue }
                if rc < 0 { close(pidfd); pidfd = -1; continue }
            } else {
                // No pidfd (a kernel before 5.3): look every 5 ms, without reaping.
                if testbed_has_exited(pid) != 0 { exited = true; continue }
                if left > .zero { usleep(5_000) }
            }
            if left <= .zero { break }
        }
        // Its pid still names its group (it is not reaped yet): nothing else
        // can have taken that number, so the group kill hits only its own.
        _ = kill(-pid, SIGKILL)
        var status: Int32 = 0
        guard testbed_wait(pid, &status) == 0 else { return (-1, !exited) }
        if testbed_signaled(status) != 0 { return (128 + testbed_term_signal(status), !exited) }
        return (testbed_exit_status(status), !exited)
    }

    /// A duration in whole milliseconds, rounded up, at most `Int32.max`.
    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(0, ms))
    }

    // MARK: - The output file

    /// A new file in the temporary directory, open for reading and writing
    /// (close-on-exec) and already unlinked; nil when none can be made.
    static func openOutputFile() -> Int32? {
        var directory = FileManager.default.temporaryDirectory.path
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        let fd = testbed_unlinked_temp_file(directory)
        return fd >= 0 ? fd : nil
    }

    /// The first `limit` bytes of the file, and whether it holds more.
    static func readBack(_ fd: Int32, limit: Int) -> (bytes: [UInt8], truncated: Bool) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var offset: off_t = 0
        while bytes.count <= limit {
            let want = min(chunk.count, limit + 1 - bytes.count)
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
            offset += off_t(count)
        }
        let truncated = bytes.count > limit
        if truncated { bytes.removeLast(bytes.count - limit) }
        return (bytes, truncated)
    }
}
