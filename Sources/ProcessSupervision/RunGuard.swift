import CShim
import Declarations
import Foundation
import HostFacts
import Synchronization

/// Kills what a run started when the run itself dies without cleaning up
/// (`kill -9`, an out-of-memory kill, a crash).
///
/// Every process of a run carries the run's tag in its environment
/// (`TESTBED_PROCESS_TAG=RUN/STEP`). The guard is a second, small process —
/// `testbed guard RUN/` — in a process group of its own, whose stdin is a
/// pipe from the run. When the run ends, however it ends, the kernel closes
/// the pipe, the guard reads end-of-file and kills every process that
/// carries the tag, the processes the run named to it, and all their
/// descendants; then it exits. After a normal run it finds nothing; after a
/// SIGKILL it finds the tests that were running and what they started.
///
/// The run names on the pipe what carries no tag: escapees (see
/// `ProcessSupervisor+Escapees`), one line each, `+PID STARTTIME` when
/// found and `-PID` when gone; the start time (`/proc/PID/stat` field 22)
/// keeps the guard from killing a later process that got the same pid.
///
/// The guard is the run's child: when it dies (someone killed it), the run
/// hears it at once (its pidfd) and starts another, which is told every
/// escapee known; after five deaths in a minute it gives up with a warning.
public final class RunGuard: Sendable {
    struct State {
        /// The write end of the pipe (non-blocking; -1 while there is no guard).
        var pipe: Int32 = -1
        var pid: pid_t = 0
        var deaths: [ContinuousClock.Instant] = []
        /// Escapees the guard must know, with their start times.
        var escapees: [pid_t: UInt64] = [:]
    }

    let executable: String
    let prefix: String
    let warn: @Sendable (String) -> Void
    let state = Mutex(State())

    /// The guard process running now (0 when there is none).
    public var pid: pid_t { state.withLock { $0.pid } }

    init(executable: String, prefix: String, warn: @escaping @Sendable (String) -> Void) {
        self.executable = executable
        self.prefix = prefix
        self.warn = warn
    }

    /// Starts `executable guard PREFIX` and keeps one running for as long
    /// as this process lives; nil when it cannot start (the run goes on
    /// without one). `warn` gets one line (no newline) when a guard dies and
    /// another is started, or none can be.
    /// - Parameters:
    ///   - executable: The `testbed` binary the guard runs.
    ///   - prefix: The run's tag prefix (`RUNID/`).
    ///   - warn: Called with one line for each guard death or failed restart.
    /// - Returns: The guard's keeper, or nil.
    public static func start(executable: String, prefix: String,
                             warn: @escaping @Sendable (String) -> Void) -> RunGuard? {
        let runGuard = RunGuard(executable: executable, prefix: prefix, warn: warn)
        guard runGuard.launch() != nil else { return nil }
        ProcessSupervisor.escapeeObserver.withLock { observer in
            observer = { added, removed in runGuard.tell(added: added, removed: removed) }
        }
        return runGuard
    }

    /// Starts a guard, tells it the escapees known, and watches for its end.
    func launch() -> pid_t? {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { return nil }
        // Neither end may leak into a test (spawns close every descriptor above 2 as well).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // A guard that stops reading must never block the run.
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        let devNull = ChildProcess.devNull
        // The guard's environment is ours without any tag: it must not find itself.
        var environment = ProcessInfo.processInfo.environment
        environment[ChildProcess.tagVariable] = nil
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { for pointer in envp { free(pointer) } }
        let pid = ProcessSupervisor.spawnOwn { () -> pid_t? in
            let (rc, pid) = spawnProgram(executable, arguments: [executable, "guard", prefix], environment: envp, directory: "/",
                                         stdin: fds[0], stdout: devNull, stderr: devNull)
            return rc == 0 ? pid : nil
        }
        close(fds[0])
        guard let pid else {
            close(fds[1])
            return nil
        }
        state.withLock { state in
            state.pipe = fds[1]
            state.pid = pid
            let lines = state.escapees.map { "+\($0.key) \($0.value)\n" }.joined()
            Self.write(lines, to: state.pipe)
        }
        ExitWatcher.shared.watch(pid) { termination in self.ended(pid, termination) }
        return pid
    }

    /// A guard ended while the run lives: another one takes over.
    func ended(_ pid: pid_t, _ termination: Termination) {
        ProcessSupervisor.forgetOwn(pid)
        let now = ContinuousClock.now
        let deaths = state.withLock { state -> Int in
            if state.pipe >= 0 { close(state.pipe) }
            state.pipe = -1
            state.pid = 0
            state.deaths = state.deaths.filter { now - $0 < .seconds(60) } + [now]
            return state.deaths.count
        }
        if deaths > 5 {
            warn("testbed: warning: the guard process keeps ending (\(deaths - 1) times within a minute); the run goes on "
                 + "without one, so a kill -9 of testbed now leaves its processes running")
        } else if let next = launch() {
            warn("testbed: warning: the guard process (pid \(pid)) ended (\(termination)); started another (pid \(next))")
        } else {
            warn("testbed: warning: the guard process (pid \(pid)) ended (\(termination)) and no other could start; "
                 + "a kill -9 of testbed now leaves its processes running")
        }
    }

    /// Records escapees found (pid and start time) and gone, and tells the guard.
    func tell(added: [(pid_t, UInt64)], removed: [pid_t]) {
        state.withLock { state in
            var lines = ""
            for (pid, start) in added {
                state.escapees[pid] = start
                lines += "+\(pid) \(start)\n"
            }
            for pid in removed where state.escapees.removeValue(forKey: pid) != nil {
                lines += "-\(pid)\n"
            }
            Self.write(lines, to: state.pipe)
        }
    }

    /// Writes what fits into the pipe: a guard that does not read (stopped)
    /// loses lines, the run never waits for it.
    static func write(_ text: String, to fd: Int32) {
        guard fd >= 0, !text.isEmpty else { return }
        var text = text
        _ = text.withUTF8 { testbed_write_all(fd, $0.baseAddress, $0.count) }
    }

    /// The guard's side: reads the run's lines on stdin until end-of-file,
    /// then kills every process tagged `prefix…`, every escapee named and
    /// still the same process, and all their descendants.
    /// - Parameter prefix: The run's tag prefix (`RUNID/`).
    /// - Returns: How many processes and groups it killed.
    public static func watch(prefix: String) -> Int {
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { _ = Glibc.signal(signal, SIG_IGN) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pending: [UInt8] = []
        var named = Named()
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                named.apply(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        return ProcessSupervisor.killRun(prefix: prefix, escapees: named.escapees, groups: named.groups)
    }

    /// What the run named to its guard: escapees by pid and start time, and
    /// the process groups they were in when named. A group outlives a
    /// process that forks and exits in a loop (a new pid each time, in the
    /// same group); it is forgotten once no process is left in it.
    struct Named {
        var escapees: [pid_t: UInt64] = [:]
        var groupOf: [pid_t: pid_t] = [:]
        var groups: Set<pid_t> = []

        /// Applies one line of the run (`+PID STARTTIME`, `-PID`); others are ignored.
        mutating func apply(_ line: String) {
            let words = line.dropFirst().split(separator: " ")
            guard let sign = line.first, let first = words.first, let pid = pid_t(first), pid > 1 else { return }
            if sign == "+", words.count == 2, let start = UInt64(words[1]) {
                escapees[pid] = start
                if let (_, group, _) = ProcessSupervisor.stat(of: pid), group > 1, group != getpgrp() {
                    groupOf[pid] = group
                    groups.insert(group)
                }
            } else if sign == "-" {
                escapees[pid] = nil
                // Its group stays while it has members (a pid hopper's does).
                if let group = groupOf.removeValue(forKey: pid), kill(-group, 0) != 0, errno == ESRCH,
                   !groupOf.values.contains(group) {
                    groups.remove(group)
                }
            }
        }
    }
}

extension ProcessSupervisor {
    /// SIGKILL to every process (and its group) whose environment carries a
    /// tag starting with `prefix`, to the `escapees` that are still the
    /// processes named (same start time), and to all their descendants
    /// (stopped first, so none forks away); scanning /proc until none is left
    /// (they may fork while we look).
    /// - Parameters:
    ///   - prefix: The run's tag prefix (`RUNID/`).
    ///   - escapees: Untagged processes to kill, by pid, with their start time
    ///     in clock ticks after boot (`startTime(of:)`).
    ///   - groups: Process groups to kill outright (never 1 nor our own).
    /// - Returns: How many processes and groups were killed.
    public static func killRun(prefix: String, escapees: [pid_t: UInt64] = [:], groups: Set<pid_t> = []) -> Int {
        let needle = Array("\(ChildProcess.tagVariable)=\(prefix)".utf8)
        var killed = 0
        var named = escapees
        // The groups escapees were in: one SIGKILL reaches every member, also
        // those with pids the run never saw.
        for group in groups where group > 1 && group != getpgrp() && kill(-group, SIGKILL) == 0 { killed += 1 }
        for _ in 0..<50 {
            let found = tagged(needle, prefix: true)
            var roots = found.map(\.pid)
            for (pid, start) in named where startTime(of: pid) == start {
                if let (state, _, _) = stat(of: pid), state != "Z" { roots.append(pid) }
            }
            named = [:]
            if roots.isEmpty { break }
            // The trees first: a process killed before its children are read loses them to init.
            killed += killTrees(roots).count
            for (_, group) in found where group > 1 && group != getpgrp() { _ = kill(-group, SIGKILL) }
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
