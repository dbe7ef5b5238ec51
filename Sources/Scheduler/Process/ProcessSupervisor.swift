import CShim
import Foundation
import Synchronization

/// Runs processes to completion with timeouts, and keeps a table of what is
/// running so that an interrupt can stop all of it.
///
/// Every process gets its own process group and a tag in its environment.
/// When it ends, whatever is left of its group is killed, and so is every
/// orphan that carries its tag (a daemon that left the group with `setsid`):
/// Testbed is the subreaper of its descendants, so those orphans become its
/// children and are found in `/proc/self/task/*/children`.
public final class ProcessSupervisor: Sendable {
    /// How long a process has between SIGTERM and SIGKILL.
    public let grace: Duration
    /// Every process any supervisor started and has not yet waited for, and
    /// whether an interrupt stops it (teardowns and restores run to the end
    /// unless a second interrupt kills everything). Children belong to the
    /// whole process, so the table does too: a cleanup must never reap a
    /// child that another supervisor is about to wait for.
    static let children = Mutex<[pid_t: (process: ChildProcess, interruptible: Bool, owner: ObjectIdentifier)]>([:])
    let interrupted = Mutex(false)

    public init(grace: Duration = .seconds(5)) {
        self.grace = grace
    }

    /// Makes this process the reaper of orphaned descendants. Call once, early.
    public static func becomeSubreaper() {
        _ = testbed_set_child_subreaper()
    }

    /// Whether `interruptAll` was called.
    public var isInterrupted: Bool { interrupted.withLock { $0 } }

    /// Runs the spec until it exits, times out or the run is interrupted.
    public func run(_ spec: ProcessSpec, tag: String, timeout: Duration, interruptible: Bool = true) async -> ProcessOutcome {
        let started = Date()
        let clock = ContinuousClock()
        let start = clock.now
        func outcome(_ termination: Termination?, spawnError: Int32? = nil, timedOut: Bool = false, interrupted: Bool = false) -> ProcessOutcome {
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return ProcessOutcome(termination: termination, spawnError: spawnError, timedOut: timedOut,
                                  interrupted: interrupted, started: started, duration: seconds)
        }
        // Spawn and register under the table's lock: a cleanup elsewhere must
        // never see this child as an untracked zombie and reap it.
        let owner = ObjectIdentifier(self)
        let spawned = Self.children.withLock { table -> Result<ChildProcess, SpawnFailure> in
            let result = ChildProcess.spawn(spec, tag: tag)
            if case .success(let child) = result { table[child.pid] = (child, interruptible, owner) }
            return result
        }
        let child: ChildProcess
        switch spawned {
        case .failure(let failure): return outcome(nil, spawnError: failure.errno)
        case .success(let process): child = process
        }
        if interruptible && isInterrupted { child.signalGroup(SIGTERM) }

        enum Event: Sendable { case exited(Termination), timedOut, graceOver }
        let grace = self.grace
        let (termination, timedOut) = await withTaskGroup(of: Event?.self) { group -> (Termination, Bool) in
            group.addTask { .exited(await child.waitForExit()) }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return nil }
                return .timedOut
            }
            var timedOut = false
            while let event = await group.next() {
                switch event {
                case .exited(let termination)?:
                    group.cancelAll()
                    return (termination, timedOut)
                case .timedOut?:
                    timedOut = true
                    child.signalGroup(SIGTERM)
                    group.addTask {
                        do { try await Task.sleep(for: grace) } catch { return nil }
                        return .graceOver
                    }
                case .graceOver?:
                    child.signalGroup(SIGKILL)
                case nil:
                    continue
                }
            }
            return (.signaled(SIGKILL), timedOut)
        }
        Self.children.withLock { $0[child.pid] = nil }
        cleanUp(after: child)
        let wasInterrupted = isInterrupted && !timedOut && (interruptible || hardStopped)
        return outcome(termination, timedOut: timedOut, interrupted: wasInterrupted)
    }

    /// Kills what is left of a process: its group, and tagged orphans.
    func cleanUp(after child: ChildProcess) {
        child.signalGroup(SIGKILL)
        let ourSession = getsid(0)
        let ourGroup = getpgrp()
        for _ in 0..<16 {
            let tracked = Self.children.withLock { Set($0.keys) }
            var killed = false
            for pid in Self.childPIDs() where !tracked.contains(pid) {
                if Self.environment(of: pid).contains("\(ChildProcess.tagVariable)=\(child.tag)") {
                    _ = kill(pid, SIGKILL)
                    _ = kill(-pid, SIGKILL)
                    var status: Int32 = 0
                    _ = waitpid(pid, &status, 0)
                    killed = true
                } else if let (state, group, session) = Self.stat(of: pid), state == "Z",
                          session != ourSession || group != ourGroup {
                    // An orphan of a test that already exited (it cannot be read any
                    // more): reap it, unless it is one of ours that was just started.
                    // Our own helpers (probes) share our session and group.
                    Self.children.withLock { table in
                        guard table[pid] == nil else { return }
                        var status: Int32 = 0
                        _ = testbed_try_wait(pid, &status)
                    }
                }
            }
            if !killed { break }
        }
    }

    /// Stops everything that runs: SIGTERM to every group, SIGKILL after the grace period.
    public func interruptAll() {
        interrupted.withLock { $0 = true }
        let owner = ObjectIdentifier(self)
        let children = Self.children.withLock { $0.values.filter { $0.interruptible && $0.owner == owner }.map(\.process) }
        for child in children { child.signalGroup(SIGTERM) }
        let grace = self.grace
        Task.detached {
            try? await Task.sleep(for: grace)
            let children = Self.children.withLock { $0.values.filter { $0.interruptible && $0.owner == owner }.map(\.process) }
            for child in children { child.signalGroup(SIGKILL) }
        }
    }

    /// SIGKILL to every running group at once (a second interrupt).
    public func killAll() {
        interrupted.withLock { $0 = true }
        hardStop.withLock { $0 = true }
        let owner = ObjectIdentifier(self)
        let children = Self.children.withLock { $0.values.filter { $0.owner == owner }.map(\.process) }
        for child in children { child.signalGroup(SIGKILL) }
    }

    let hardStop = Mutex(false)

    /// Whether `killAll` was called.
    public var hardStopped: Bool { hardStop.withLock { $0 } }

    // MARK: - /proc

    /// Orphans this process reaps: they are reparented to its main thread
    /// (Linux gives a subreaper's orphans to its thread group leader), so one
    /// file lists them. Our own children, spawned from other threads, are
    /// tracked in `children` and need no scan.
    static func childPIDs() -> [pid_t] {
        let pid = getpid()
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/task/\(pid)/children") else { return [] }
        return data.split(separator: UInt8(ascii: " ")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }
    }

    static func environment(of pid: pid_t) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// State, process group and session from `/proc/PID/stat`.
    static func stat(of pid: pid_t) -> (Character, pid_t, pid_t)? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 4, let state = fields[0].first, let group = pid_t(fields[2]), let session = pid_t(fields[3]) else { return nil }
        return (state, group, session)
    }
}
