import CShim
import Declarations
import Glibc
import Requirements
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
///
/// What a helper leaves behind outside its group (`setsid perl … &`, an
/// `env -i setsid` grandchild) is found by ancestry: after `adoptOrphans`
/// this process is the child subreaper, such orphans become its children,
/// and when a helper ends every child that is not a helper still running is
/// killed with its descendants (`sweepOrphans`). Nothing of a probe outlives
/// it (the last of several running at once).
public enum HelperProcesses {
    struct State {
        var inFlight = 0
        var pids: Set<pid_t> = []
        var interrupted = false
        /// `adoptOrphans` was called: this process is a child subreaper and
        /// every child of it that is not a helper is a helper's orphan.
        var adopting = false
        /// `handOverOrphans` was called: children that are not helpers are
        /// someone else's now (a run's steps), never swept.
        var handedOver = false
    }

    static let state = Mutex(State())
    /// Held by a sweep and by each spawn: a child that is being spawned and
    /// not yet registered is never taken for an orphan.
    static let sweeping = Mutex(())

    /// Makes this process the child subreaper, so that what a helper leaves
    /// behind in another group or session is reparented here and killed when
    /// the helper ends. Only for a program whose every child is a helper
    /// (`testbed check`, `plan`, `probe`, and `run` until its steps start:
    /// then `handOverOrphans`). Once; later calls do nothing.
    public static func adoptOrphans() {
        let first = state.withLock { state -> Bool in
            guard !state.adopting && !state.handedOver else { return false }
            state.adopting = true
            return true
        }
        if first { _ = testbed_set_child_subreaper() }
    }

    /// From now on this process starts children of its own that are not
    /// helpers (a run's steps, which look after their orphans themselves):
    /// no sweep kills a child any more.
    public static func handOverOrphans() {
        state.withLock { $0.handedOver = true }
    }

    /// Whether children that are not helpers are helpers' orphans (after
    /// `adoptOrphans`, before `handOverOrphans`).
    static var sweeps: Bool {
        state.withLock { $0.adopting && !$0.handedOver }
    }

    /// Kills every child of this process that is not a helper (SIGKILL, with
    /// its descendants in any group or session: `ProcessTree.kill`) and reaps
    /// them. Only while `sweeps`, and only when no helper runs: the orphans
    /// of helpers that ran together go when the last of them ends.
    public static func sweepOrphans() {
        sweeping.withLock { _ in
            // Killing a child reparents its children here: look again until none is left.
            for _ in 0..<16 {
                let (sweeps, running) = state.withLock { ($0.adopting && !$0.handedOver, !$0.pids.isEmpty) }
                guard sweeps, !running else { return }
                let orphans = ProcessTree.children(of: getpid())
                guard !orphans.isEmpty else { return }
                ProcessTree.kill(orphans.filter { ProcessTree.stat(of: $0).map { $0.state != "Z" } ?? false })
                reap(orphans)
            }
        }
    }

    /// Reaps `pids` (children of this process that were killed), waiting at
    /// most a second for them to die: one stuck in the kernel (`D`) is left
    /// a zombie rather than hang Testbed.
    static func reap(_ pids: [pid_t]) {
        var left = pids
        let deadline = ContinuousClock.now + .seconds(1)
        while !left.isEmpty {
            left = left.filter { pid in
                var status: Int32 = 0
                let rc = waitpid(pid, &status, WNOHANG)
                return rc == 0 || (rc < 0 && errno == EINTR)
            }
            if left.isEmpty || ContinuousClock.now >= deadline { return }
            usleep(2_000)
        }
    }

    /// Whether `pid` is a helper that was started and has not been waited for yet.
    /// - Parameter pid: A child's process id.
    /// - Returns: True while a `CommandRunner.run` owns it.
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
        let (pid, late) = sweeping.withLock { _ -> (pid_t?, Bool) in
            state.withLock { $0.inFlight += 1 }
            let pid = spawn()
            let late = state.withLock { state -> Bool in
                state.inFlight -= 1
                if let pid { state.pids.insert(pid) }
                return state.interrupted
            }
            return (pid, late)
        }
        if late, let pid { _ = kill(-pid, SIGKILL) }
        return pid
    }

    /// Stops every helper for good (Ctrl-C, SIGTERM): SIGKILLs the process
    /// group of each one running, whose `CommandRunner.run` then returns at
    /// once with `interrupted` set, and makes every later `run` return so
    /// without starting anything. Their descendants in other groups die too,
    /// and (while `sweeps`) the orphans of earlier helpers: the program may
    /// die of the signal right after this.
    public static func interrupt() {
        let (pids, sweeps) = state.withLock { state -> (Set<pid_t>, Bool) in
            state.interrupted = true
            return (state.pids, state.adopting && !state.handedOver)
        }
        // Trees first, groups with them: a runner sees its helper die only
        // once all of it is killed, so `check` cannot finish (and exit
        // normally) before the handler that called this dies of the signal.
        // Helpers are killed, not reaped: their runners reap them.
        var roots = Set(pids)
        if sweeps { roots.formUnion(ProcessTree.children(of: getpid())) }
        ProcessTree.kill(Array(roots))
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
