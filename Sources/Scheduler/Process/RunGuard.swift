import CShim
import Foundation

/// Kills what a run started when the run itself dies without cleaning up
/// (`kill -9`, an out-of-memory kill, a crash).
///
/// Every process of a run carries the run's tag in its environment
/// (`TESTBED_PROCESS_TAG=RUN/STEP`). The guard is a second, small process —
/// `testbed guard RUN/` — in a process group of its own, whose stdin is a
/// pipe from the run. The run never writes to it: when the run ends, however
/// it ends, the kernel closes the pipe, the guard reads end-of-file, kills
/// every process that carries the tag, and exits. After a normal run it finds
/// nothing; after a SIGKILL it finds the tests that were running and what
/// they started.
public struct RunGuard: Sendable {
    /// The write end of the pipe; it stays open as long as the run lives.
    let pipe: Int32
    public let pid: pid_t

    /// Starts `executable guard PREFIX`; nil when it cannot start (the run
    /// goes on without one).
    public static func start(executable: String, prefix: String) -> RunGuard? {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { return nil }
        // Neither end may leak into a test (spawns close every descriptor above 2 as well).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let devNull = ChildProcess.devNull
        // The guard's environment is ours without any tag: it must not find itself.
        var environment = ProcessInfo.processInfo.environment
        environment[ChildProcess.tagVariable] = nil
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { for pointer in envp { free(pointer) } }
        let (rc, pid) = spawnProgram(executable, arguments: [executable, "guard", prefix], environment: envp, directory: "/",
                                     stdin: fds[0], stdout: devNull, stderr: devNull)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            return nil
        }
        return RunGuard(pipe: fds[1], pid: pid)
    }

    /// The guard's side: waits for end-of-file on stdin, then kills every
    /// process tagged `prefix…`. Returns how many it killed.
    public static func watch(prefix: String) -> Int {
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { _ = Glibc.signal(signal, SIG_IGN) }
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
        }
        return ProcessSupervisor.killTagged(prefix: prefix)
    }
}

extension ProcessSupervisor {
    /// SIGKILL to every process (and its group) whose environment carries a
    /// tag starting with `prefix`, scanning /proc until none is left (they
    /// may fork while we look). Returns how many were killed.
    public static func killTagged(prefix: String) -> Int {
        let needle = Array("\(ChildProcess.tagVariable)=\(prefix)".utf8)
        var killed = 0
        for _ in 0..<50 {
            let found = tagged(needle, prefix: true)
            for (pid, group) in found {
                _ = kill(pid, SIGKILL)
                if group > 1 && group != getpgrp() { _ = kill(-group, SIGKILL) }
            }
            killed += found.count
            if found.isEmpty { break }
            usleep(20_000)
        }
        return killed
    }

    /// Whether one of the NUL-separated entries of `environment` (a
    /// /proc/PID/environ) is `entry`, or starts with it when `prefix`.
    static func hasEntry(_ environment: [UInt8], _ entry: [UInt8], prefix: Bool) -> Bool {
        var start = 0
        while start < environment.count {
            let end = environment[start...].firstIndex(of: 0) ?? environment.count
            let length = end - start
            if (prefix ? length >= entry.count : length == entry.count)
                && environment[start..<(start + entry.count)].elementsEqual(entry) { return true }
            start = end + 1
        }
        return false
    }
}
