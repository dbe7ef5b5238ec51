import Glibc
import Synchronization

/// The short-lived helper processes Testbed starts for itself (version probes,
/// `probes:` commands, `gzip -dc < /proc/config.gz`), which `CommandRunner`
/// waits for.
///
/// Each helper runs in a process group of its own, so whatever it leaves
/// behind can be killed with it. A reaper that collects untracked zombie
/// children (`ProcessSupervisor.cleanUp`, during `testbed run`) would take a
/// helper's exit status from `CommandRunner` if it reaped one; it asks this
/// registry first, and leaves the zombie alone when
/// `spawnsInFlight > 0 || isHelper(pid)`.
///
/// Check `spawnsInFlight` *before* `isHelper`: a spawn registers its pid and
/// leaves the in-flight count in one step, so a zombie seen with no spawn in
/// flight is registered already if it is a helper.
public enum HelperProcesses {
    struct State {
        var inFlight = 0
        var pids: Set<pid_t> = []
        var interrupted = false
    }

    static let state = Mutex(State())

    /// Whether `pid` is a helper that was started and has not been waited for yet.
    public static func isHelper(_ pid: pid_t) -> Bool {
        state.withLock { $0.pids.contains(pid) }
    }

    /// How many helper spawns have started and not yet registered their pid
    /// (0 most of the time; a spawn lasts until the child has exec'd).
    public static var spawnsInFlight: Int {
        state.withLock { $0.inFlight }
    }

    /// Runs `spawn` counted as in flight; the pid it returns (nil: no process
    /// was started) is registered as a helper in the same step that ends the
    /// count. After `interrupt`, its group is killed at once.
    static func spawning(_ spawn: () -> pid_t?) -> pid_t? {
        state.withLock { $0.inFlight += 1 }
        let pid = spawn()
        let late = state.withLock { state -> Bool in
            state.inFlight -= 1
            if let pid { state.pids.insert(pid) }
            return state.interrupted
        }
        if late, let pid { _ = kill(-pid, SIGKILL) }
        return pid
    }

    /// Stops every helper for good (Ctrl-C, SIGTERM): SIGKILLs the process
    /// group of each one running, whose `CommandRunner.run` then returns at
    /// once with `interrupted` set, and makes every later `run` return so
    /// without starting anything.
    public static func interrupt() {
        let pids = state.withLock { state -> Set<pid_t> in
            state.interrupted = true
            return state.pids
        }
        for pid in pids { _ = kill(-pid, SIGKILL) }
    }

    /// Whether `interrupt` was called.
    public static var interrupted: Bool {
        state.withLock { $0.interrupted }
    }

    /// Forgets a helper once it has been reaped.
    static func reaped(_ pid: pid_t) {
        _ = state.withLock { $0.pids.remove(pid) }
    }
}
