import Declarations
import Glibc
import Requirements

/// Processes by ancestry, read from `/proc`: children, state, and killing a
/// process with every descendant (other groups and sessions included).
///
/// Used for what a probe leaves behind (`HelperProcesses.sweepOrphans`) and
/// for the escapees of a run (`ProcessSupervisor`, which forwards here).
public enum ProcessTree {
    /// The children of every thread of `pid`.
    /// - Parameter pid: A process id.
    /// - Returns: The pids from `/proc/PID/task/*/children`; empty when it is gone.
    public static func children(of pid: pid_t) -> [pid_t] {
        guard let directory = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(directory) }
        var result: [pid_t] = []
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let thread = pid_t(name) else { continue }
            let data = readProcFile("/proc/\(pid)/task/\(thread)/children")
            result += data.split(separator: UInt8(ascii: " ")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }
        }
        return result
    }

    /// State letter (`R`, `S`, `T`, `Z`…), process group and session from
    /// `/proc/PID/stat`; nil when there is no such process.
    /// - Parameter pid: A process id.
    /// - Returns: The state letter, process group id and session id.
    public static func stat(of pid: pid_t) -> (state: Character, group: pid_t, session: pid_t)? {
        let data = readProcFile("/proc/\(pid)/stat")
        guard !data.isEmpty else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 4, let state = fields[0].first, let group = pid_t(fields[2]), let session = pid_t(fields[3]) else { return nil }
        return (state, group, session)
    }

    /// Stops `roots` and all their descendants (SIGSTOP, so none forks while
    /// they are looked for), then SIGKILLs them all, and every process group
    /// one of them is in (never this process' own). Returns every pid it signalled. Never this process,
    /// nor pid 1.
    /// - Parameter roots: The processes to kill with their descendants.
    /// - Returns: Every pid it signalled.
    @discardableResult
    public static func kill(_ roots: [pid_t]) -> [pid_t] {
        let me = getpid()
        var all: Set<pid_t> = []
        var frontier = roots.filter { $0 > 1 && $0 != me }
        while !frontier.isEmpty {
            for pid in frontier { _ = Glibc.kill(pid, SIGSTOP) }
            all.formUnion(frontier)
            // Wait (briefly) until each has stopped: only then is its list of children final.
            let deadline = ContinuousClock.now + .milliseconds(200)
            var pending = frontier
            while !pending.isEmpty && ContinuousClock.now < deadline {
                pending = pending.filter { pid in
                    guard let (state, _, _) = stat(of: pid) else { return false }
                    return !"TtZX".contains(state)
                }
                if !pending.isEmpty { usleep(1000) }
            }
            frontier = frontier.flatMap(children(of:)).filter { !all.contains($0) && $0 != me }
        }
        // The process groups they are in, leaders or not: a process that forks
        // and exits in a loop (a "pid hopper") is a new pid each time, but stays
        // in its group, and a group's SIGKILL reaches every member at once (a
        // fork under way fails once its parent has a fatal signal pending).
        let ours = getpgrp()
        var groups: Set<pid_t> = []
        for pid in all {
            if let (_, group, _) = stat(of: pid), group > 1, group != ours { groups.insert(group) }
        }
        for pid in roots where pid > 1 && pid != me && getpgid(pid) == pid && pid != ours { groups.insert(pid) }
        for group in groups { _ = Glibc.kill(-group, SIGKILL) }
        for pid in all { _ = Glibc.kill(pid, SIGKILL) }
        return Array(all)
    }

    /// Reads a small /proc file with open/read, at most `limit` bytes;
    /// empty when it cannot be read. (This runs after every test;
    /// FileManager's reader retained memory on each call: ~4 KB a test.)
    /// - Parameters:
    ///   - path: A file under /proc.
    ///   - limit: The most bytes read (1 MiB by default).
    /// - Returns: The bytes read, at most `limit`.
    public static func readProcFile(_ path: String, limit: Int = 1 << 20) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while result.count < limit {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }
}
