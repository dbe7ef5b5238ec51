import CShim
import Foundation

extension ProcessSupervisor {
    /// Stops what a process left running (a setup's services, once its
    /// teardown has run, or at the end of the run): SIGTERM to its group and
    /// to every process carrying its tag, SIGKILL to whatever is still there
    /// after `grace` (at once when `immediately`). Returns when none of them
    /// is left; those that were our children are reaped.
    ///
    /// The group is only signalled while a process of it still carries the
    /// tag: once every member is gone its number may belong to someone else.
    public func release(_ left: LeftRunning, immediately: Bool = false) async {
        let entry = Array("\(ChildProcess.tagVariable)=\(left.tag)".utf8)
        var signal = immediately ? SIGKILL : SIGTERM
        let killAt = ContinuousClock.now + (immediately ? .zero : grace)
        for round in 0... {
            let found = Self.tagged(entry, prefix: false)
            let tagged = found.map(\.pid)
            let groupIsOurs = found.contains { $0.group == left.group }
            Self.reapOrphans()
            if tagged.isEmpty && !groupIsOurs { return }
            if ContinuousClock.now >= killAt { signal = SIGKILL }
            if groupIsOurs { _ = kill(-left.group, signal) }
            for pid in tagged { _ = kill(pid, signal) }
            if round > 1000 { return }  // a process that SIGKILL cannot end (D state): give up after ~20 s
            try? await Task.sleep(for: .milliseconds(signal == SIGKILL ? 5 : 10) * (round < 10 ? 1 : 2))
        }
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

    /// Reaps the zombies among the orphans reparented to us that nobody waits for.
    static func reapOrphans() {
        for pid in childPIDs() {
            guard let (state, _, _) = stat(of: pid), state == "Z" else { continue }
            reapUnlessAwaited(pid)
        }
    }
}
