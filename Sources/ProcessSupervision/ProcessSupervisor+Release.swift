import CShim
import Declarations
import Foundation
import HostFacts

extension ProcessSupervisor {
    /// Stops what a process left running (a setup's services, once its
    /// teardown has run, or at the end of the run): SIGTERM to its group and
    /// to every process carrying its tag, SIGKILL to whatever is still there
    /// after `grace` (at once when `immediately`). Returns when none of them
    /// is left; those that were our children are reaped.
    ///
    /// The group is only signalled while a process of it still carries the
    /// tag: once every member is gone its number may belong to someone else.
    /// - Parameters:
    ///   - left: What the process left running (`ProcessOutcome.leftRunning`).
    ///   - immediately: SIGKILL at once instead of SIGTERM, then `grace`, then SIGKILL.
    public func release(_ left: LeftRunning, immediately: Bool = false) async {
        let entry = Array("\(ChildProcess.tagVariable)=\(left.tag)".utf8)
        var signal = immediately ? SIGKILL : SIGTERM
        let killAt = ContinuousClock.now + (immediately ? .zero : grace)
        // Its untagged services (orphans that cleared their environment) get the same signals.
        let untagged = Self.escapees(ownedOnlyBy: left.tag)
        for round in 0... {
            let found = Self.tagged(entry, prefix: false)
            let tagged = found.map(\.pid)
            let groupIsOurs = found.contains { $0.group == left.group }
            let orphans = Self.reapOrphans()
            let escapees = untagged.filter { orphans.contains($0) }
            if tagged.isEmpty && !groupIsOurs && escapees.isEmpty { break }
            if ContinuousClock.now >= killAt { signal = SIGKILL }
            if groupIsOurs { _ = kill(-left.group, signal) }
            for pid in tagged + escapees { _ = kill(pid, signal) }
            if round > 1000 { break }  // a process that SIGKILL cannot end (D state): give up after ~20 s
            try? await Task.sleep(for: .milliseconds(signal == SIGKILL ? 5 : 10) * (round < 10 ? 1 : 2))
        }
        // Its untagged orphans (services that cleared their environment) go with it.
        Self.servicesReleased(tag: left.tag)
    }

    /// Live (not zombie) processes other than this one whose environment
    /// carries `entry` (or an entry starting with it, when `prefix`), with
    /// their process groups: one scan of /proc.
    static func tagged(_ entry: [UInt8], prefix: Bool) -> [(pid: pid_t, group: pid_t)] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        let me = getpid()
        var found: [(pid: pid_t, group: pid_t)] = []
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), pid != me, let (state, group, _) = stat(of: pid), state != "Z",
                  hasEntry(readProcFile("/proc/\(pid)/environ"), entry, prefix: prefix) else { continue }
            found.append((pid, group))
        }
        return found
    }

    /// Reaps the zombies among the orphans reparented to us that nobody
    /// waits for; returns the live ones.
    static func reapOrphans() -> Set<pid_t> {
        looking.withLock { _ in
            var live: Set<pid_t> = []
            for pid in childPIDs() {
                guard let (state, _, _) = stat(of: pid) else { continue }
                if state != "Z" || !reapUnlessAwaited(pid) { live.insert(pid) }
            }
            return live
        }
    }
}
