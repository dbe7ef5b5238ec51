import CShim
import Declarations
import Foundation
import HostFacts
import Synchronization

/// Escapees: processes of the run that carry no tag of a live step.
///
/// A process that clears its environment (`env -i`) and leaves its process
/// group (`setsid`, `setpgrp`) is found neither by its tag nor by its
/// group. It is still found by ancestry: Testbed is the subreaper of its
/// descendants, so once its parent has exited it becomes Testbed's child,
/// listed in `/proc/self/task/SELF/children` (one small read, already done
/// after every exit). In `testbed run` every child of Testbed is Testbed's
/// own — a step in the table, a probe (`HelperProcesses`), the guard
/// (`own`) — so any other child is an orphan of some step.
///
/// Which step? One that ran since it was last looked for: when an orphan is
/// first seen, the steps running then and those that ended since the last
/// look are its possible owners (and the step its tag names, if it carries
/// one). It is killed, with its descendants, once none of them runs any
/// more — a setup that keeps its services counts as running until
/// `release` (an orphan that appeared while a setup ran may be one of its
/// services). Until then the guard knows its pid, to kill it if Testbed is
/// killed outright.
extension ProcessSupervisor {
    struct Adoption {
        /// Every child of this process is Testbed's (`testbed run`).
        var enabled = false
        /// Children Testbed started outside the table (the guard).
        var own: Set<pid_t> = []
        /// Orphans seen and still alive, with the tags of the steps that may own them.
        var escapees: [pid_t: Set<String>] = [:]
        /// Orphans killed and not yet reaped.
        var dying: Set<pid_t> = []
        /// Tags of steps that ended since the last look.
        var ended: Set<String> = []
        /// Tags of setups whose services are kept until `release`.
        var services: Set<String> = []
    }

    /// Process-wide, as the subreaper role is (`PR_SET_CHILD_SUBREAPER`
    /// makes this process, not a supervisor, the parent of every orphan).
    static let adoption = Mutex(Adoption())
    /// One look at a time (they run after exits, from the watchdog and from `release`).
    static let looking = Mutex(())
    /// Told the pids (and start times) of escapees as they are found, and
    /// the pids of those that are gone: the guard.
    static let escapeeObserver = Mutex<(@Sendable (_ added: [(pid_t, UInt64)], _ removed: [pid_t]) -> Void)?>(nil)

    /// Makes this process the reaper of orphaned descendants (PR_SET_CHILD_SUBREAPER). Call once, early.
    ///
    /// Hunting takes over from `HelperProcesses`: what probes left is killed
    /// first, and from now on no probe's end kills a child that is not a probe.
    /// - Parameter huntingEscapees: Every child of this process is Testbed's (only
    ///   `testbed run` may say so), so an orphan no step is tracked for is an
    ///   escapee, killed once the steps that may own it have ended.
    public static func becomeSubreaper(huntingEscapees: Bool = false) {
        _ = testbed_set_child_subreaper()
        if huntingEscapees {
            HelperProcesses.sweepOrphans()
            HelperProcesses.handOverOrphans()
            adoption.withLock { $0.enabled = true }
        }
    }

    /// Runs `spawn` (which starts a process Testbed watches itself, such as
    /// the guard) so that no look takes its child for an escapee.
    static func spawnOwn(_ spawn: () -> pid_t?) -> pid_t? {
        spawning.add(1, ordering: .sequentiallyConsistent)
        defer { spawning.subtract(1, ordering: .sequentiallyConsistent) }
        let pid = spawn()
        if let pid { adoption.withLock { _ = $0.own.insert(pid) } }
        return pid
    }

    /// Forgets a process started with `spawnOwn` once it has been reaped.
    static func forgetOwn(_ pid: pid_t) {
        adoption.withLock { _ = $0.own.remove(pid) }
    }

    /// A step's process ended (its tag is a possible owner of the orphans the next look finds).
    static func stepEnded(tag: String, keepsServices: Bool) {
        adoption.withLock { adoption in
            guard adoption.enabled else { return }
            adoption.ended.insert(tag)
            if keepsServices { adoption.services.insert(tag) }
        }
    }

    /// A setup's services were stopped: escapees it may have owned may go.
    static func servicesReleased(tag: String) {
        let enabled = adoption.withLock { adoption -> Bool in
            adoption.services.remove(tag)
            return adoption.enabled
        }
        if enabled { lookForOrphans(killing: nil) }
    }

    /// The escapees that only the setup tagged `tag` may own (its untagged
    /// services), once it is released.
    static func escapees(ownedOnlyBy tag: String) -> [pid_t] {
        let running = awaited.withLock { Set($0.values) }
        return adoption.withLock { adoption in
            let others = running.union(adoption.services).subtracting([tag])
            return adoption.escapees.filter { $0.value.contains(tag) && $0.value.isDisjoint(with: others) }.map(\.key)
        }
    }

    /// Kills what no step that runs may own any more: the end of a run,
    /// once every step has ended and every service was released.
    public static func killEscapees() {
        lookForOrphans(killing: nil)
    }

    /// Looks at the orphans reparented to this process: kills those that
    /// carry `entry` (the tag of a process that just ended), reaps zombies,
    /// records new escapees and kills those whose possible owners have all
    /// ended. Without an escapee or a new orphan this is one read of the
    /// children file.
    static func lookForOrphans(killing entry: [UInt8]?) {
        looking.withLock { _ in
            let ourSession = getsid(0)
            let ourGroup = getpgrp()
            for _ in 0..<16 {
                let orphans = childPIDs()
                let (enabled, own, known, dying) = adoption.withLock { ($0.enabled, $0.own, $0.escapees, $0.dying) }
                let fresh = orphans.filter { !own.contains($0) && known[$0] == nil }
                if fresh.isEmpty && known.isEmpty && dying.isEmpty {
                    if enabled { adoption.withLock { $0.ended.removeAll() } }
                    return
                }
                let (tracked, running) = awaited.withLock { awaited in (Set(awaited.keys), Set(awaited.values)) }
                // A child spawned but not yet in `awaited` could look like an orphan: register none meanwhile.
                let spawns = spawning.load(ordering: .sequentiallyConsistent) > 0 || HelperProcesses.spawnsInFlight > 0
                var killed = false
                var found: [pid_t: String?] = [:]
                var reaped: [pid_t] = []
                for pid in fresh where !tracked.contains(pid) && !HelperProcesses.isHelper(pid) {
                    guard let (state, group, session) = stat(of: pid) else { continue }
                    if state == "Z" {
                        // An orphan that died (when not `enabled`, only one outside our group can be one).
                        if enabled || session != ourSession || group != ourGroup {
                            if reapUnlessAwaited(pid) { reaped.append(pid) }
                        }
                        continue
                    }
                    if dying.contains(pid) { continue }
                    let environment = readProcFile("/proc/\(pid)/environ")
                    if let entry, hasEntry(environment, entry, prefix: false) {
                        _ = kill(pid, SIGKILL)
                        _ = kill(-pid, SIGKILL)
                        var status: Int32 = 0
                        _ = waitpid(pid, &status, 0)
                        killed = true
                    } else if enabled && !spawns {
                        found[pid] = tagValue(in: environment)
                    }
                }
                guard enabled else {
                    if !killed { return }
                    continue
                }
                // Known escapees that died on their own, or are gone.
                let alive = Set(orphans)
                for pid in known.keys where alive.contains(pid) {
                    if let (state, _, _) = stat(of: pid), state == "Z", reapUnlessAwaited(pid) { reaped.append(pid) }
                }
                let (doomed, added, removed) = adoption.withLock { adoption -> ([pid_t], [pid_t], [pid_t]) in
                    var removed: [pid_t] = []
                    for pid in adoption.escapees.keys where !alive.contains(pid) || reaped.contains(pid) {
                        adoption.escapees[pid] = nil
                        removed.append(pid)
                    }
                    adoption.dying = adoption.dying.filter { alive.contains($0) && !reaped.contains($0) }
                    let owners = running.union(adoption.ended)
                    for (pid, tag) in found {
                        adoption.escapees[pid] = tag.map { owners.union([$0]) } ?? owners
                    }
                    if !spawns { adoption.ended.removeAll() }
                    let live = running.union(adoption.services)
                    var doomed: [pid_t] = []
                    for (pid, candidates) in adoption.escapees where candidates.isDisjoint(with: live) {
                        doomed.append(pid)
                    }
                    for pid in doomed {
                        adoption.escapees[pid] = nil
                        adoption.dying.insert(pid)
                    }
                    let added = found.keys.filter { adoption.escapees[$0] != nil }
                    return (doomed, added, removed + doomed.filter { known[$0] != nil })
                }
                if !added.isEmpty || !removed.isEmpty, let observer = escapeeObserver.withLock({ $0 }) {
                    observer(added.map { ($0, startTime(of: $0) ?? 0) }, removed)
                }
                if !doomed.isEmpty {
                    let all = killTrees(doomed)
                    adoption.withLock { $0.dying.formUnion(all) }
                    killed = true
                }
                if !killed && reaped.isEmpty { return }
            }
        }
    }

    /// The value of `TESTBED_PROCESS_TAG` in a /proc/PID/environ, if any.
    static func tagValue(in environment: [UInt8]) -> String? {
        let name = Array("\(ChildProcess.tagVariable)=".utf8)
        for entry in environment.split(separator: 0, omittingEmptySubsequences: true) where entry.starts(with: name) {
            return String(decoding: entry.dropFirst(name.count), as: UTF8.self)
        }
        return nil
    }

    /// Stops `roots` and all their descendants, then SIGKILLs them all
    /// (`ProcessTree.kill`). Returns every pid it signalled.
    static func killTrees(_ roots: [pid_t]) -> [pid_t] {
        ProcessTree.kill(roots)
    }

    /// The children of every thread of `pid`.
    static func children(of pid: pid_t) -> [pid_t] {
        ProcessTree.children(of: pid)
    }

    /// When a process started, in clock ticks after boot (`/proc/PID/stat`
    /// field 22): with its pid, it names one process, never a later one
    /// that got the same pid.
    /// - Parameter pid: A process id.
    /// - Returns: The start time in clock ticks (`sysconf(_SC_CLK_TCK)` a
    ///   second), or nil when there is no such process.
    public static func startTime(of pid: pid_t) -> UInt64? {
        let data = readProcFile("/proc/\(pid)/stat")
        guard let close = data.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Fields after the command: state is field 3, start time field 22.
        let fields = data[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}
