import CShim
import Declarations
import Dispatch
import Foundation
import HostFacts
import Synchronization

/// Runs processes to completion with timeouts, and keeps a table of what it
/// runs (its own, per instance: deadlines, interruptibility) so that an
/// interrupt can stop all of it.
///
/// Every process gets its own process group and a tag in its environment.
/// When it ends, whatever is left of its group is killed, and so is every
/// orphan that carries its tag (a daemon that left the group with `setsid`):
/// Testbed is the subreaper of its descendants, so those orphans become its
/// children and are found in `/proc/self/task/*/children`.
public final class ProcessSupervisor: Sendable {
    /// How long a process has between SIGTERM and SIGKILL.
    public let grace: Duration
    /// The watcher that hears the exits of what this supervisor starts.
    public let watcher: ExitWatcher
    let interrupted = Mutex(false)
    let hardStop = Mutex(false)

    /// A process some supervisor started and has not yet waited for.
    struct Entry {
        let process: ChildProcess
        /// Whether an interrupt stops it (teardowns and restores run to the
        /// end unless a second interrupt kills everything).
        let interruptible: Bool
        /// SIGTERM goes to its group at this time (nil: no time limit).
        var deadline: ContinuousClock.Instant?
        /// SIGKILL goes to its group at this time, once terminated.
        var killAt: ContinuousClock.Instant?
        var timedOut = false
        /// A timed-out process is looked at this time after its SIGKILL: still
        /// there and in uninterruptible sleep, it is given up (`giveUp`).
        var stuckAt: ContinuousClock.Instant?
        /// Reports it as timed out and unkillable (with its wchan), once; nobody waits for it any more.
        var giveUp: (@Sendable (String) -> Void)?
    }

    /// Whether a process is in uninterruptible sleep (`D` in `/proc/PID/stat`),
    /// and the kernel function it sleeps in (`/proc/PID/wchan`; `unknown` when unreadable).
    /// - Parameter pid: The process.
    /// - Returns: Its wchan when it is in `D` state; nil otherwise (or when it is gone).
    public static func uninterruptibleSleep(of pid: pid_t) -> String? {
        guard ProcessTree.stat(of: pid)?.state == "D" else { return nil }
        let wchan = String(decoding: readProcFile("/proc/\(pid)/wchan", limit: 256), as: UTF8.self)
        return wchan.isEmpty || wchan == "0" ? "unknown" : wchan
    }

    /// What this supervisor runs, and whether its watchdog runs.
    let running = Mutex<(entries: [pid_t: Entry], watching: Bool)>(([:], false))

    /// Every child of this process that a supervisor waits for, with its tag.
    /// Process-wide, as children are (`waitpid`, the subreaper's orphans in
    /// `/proc/self/task/*/children`): a cleanup after one supervisor's process
    /// must never reap a child another supervisor is about to wait for, and
    /// an escapee's possible owners are the steps of every supervisor.
    static let awaited = Mutex<[pid_t: String]>([:])

    /// Spawns started and not yet in `awaited` (process-wide, for the same reason).
    static let spawning = Atomic<Int>(0)

    /// How often the watchdog looks at deadlines: timeouts are this precise.
    static let tick: Duration = .milliseconds(20)

    /// A supervisor with nothing running yet.
    /// - Parameters:
    ///   - grace: How long a process has between SIGTERM and SIGKILL (5 s by default).
    ///   - watcher: The watcher that hears their exits (the process' one by default).
    public init(grace: Duration = .seconds(5), watcher: ExitWatcher = .shared) {
        self.grace = grace
        self.watcher = watcher
    }

    /// Whether `interruptAll` was called.
    public var isInterrupted: Bool { interrupted.withLock { $0 } }

    /// Whether `killAll` was called.
    public var hardStopped: Bool { hardStop.withLock { $0 } }

    /// Runs the spec until it exits, times out or the run is interrupted
    /// (`start(_:tag:timeout:interruptible:keepsLeftovers:onExit:)`, awaited).
    /// - Parameters:
    ///   - spec: What to start.
    ///   - tag: The value of its tag variable, unique in the run (`RUNID/t3`).
    ///   - timeout: How long it may run; zero or less means no limit.
    ///   - interruptible: Whether `interruptAll` stops it (a restore is not).
    ///   - keepsLeftovers: Whether what it leaves running is handed over, not killed.
    /// - Returns: How it ended.
    public func run(_ spec: ProcessSpec, tag: String, timeout: Duration, interruptible: Bool = true,
                    keepsLeftovers: Bool = false) async -> ProcessOutcome {
        await withCheckedContinuation { continuation in
            start(spec, tag: tag, timeout: timeout, interruptible: interruptible, keepsLeftovers: keepsLeftovers) {
                continuation.resume(returning: $0)
            }
        }
    }

    /// Starts the spec and returns at once; `onExit` is called when it has
    /// exited, timed out or been stopped by an interrupt, and what it left
    /// behind has been killed (at once, on this thread, when it cannot start).
    ///
    /// `timeout`: zero or less means no limit. `keepsLeftovers`: what the
    /// process leaves running when it exits on its own (its group, and every
    /// process with its tag) is not killed but handed over in the outcome's
    /// `leftRunning`, for `release` to stop later — a setup's services live
    /// until its teardown. After a timeout or an interrupt nothing is kept.
    ///
    /// No timer is armed per process: one watchdog task per supervisor checks
    /// the deadlines of everything it runs, and one epoll set (`ExitWatcher`)
    /// waits for every exit.
    ///
    /// A launch that fails for want of file descriptors (`EMFILE`, `ENFILE`)
    /// is Testbed's limit, not the program's: it is tried again (every 10 ms
    /// to 1 s) as other processes end and free theirs, for up to 30 s (1 s
    /// when nothing else of ours runs, so none will free any). Then the
    /// outcome's `launchFailure` has the cause `.descriptors`. An interrupt
    /// ends the wait (the outcome is `interrupted`).
    /// - Parameters:
    ///   - spec: What to start.
    ///   - tag: The value of its tag variable, unique in the run.
    ///   - timeout: How long it may run; zero or less means no limit.
    ///   - interruptible: Whether `interruptAll` stops it.
    ///   - keepsLeftovers: Whether what it leaves running is handed over, not killed.
    ///   - onExit: Called once with how it ended.
    public func start(_ spec: ProcessSpec, tag: String, timeout: Duration, interruptible: Bool = true,
                      keepsLeftovers: Bool = false, onExit: @escaping @Sendable (ProcessOutcome) -> Void) {
        start(spec, tag: tag, timeout: timeout, interruptible: interruptible, keepsLeftovers: keepsLeftovers,
              attempt: 0, since: ContinuousClock.now, at: Date(), onExit: onExit)
    }

    func start(_ spec: ProcessSpec, tag: String, timeout: Duration, interruptible: Bool, keepsLeftovers: Bool,
               attempt: Int, since start: ContinuousClock.Instant, at started: Date,
               onExit: @escaping @Sendable (ProcessOutcome) -> Void) {
        @Sendable func outcome(_ termination: Termination?, failure: LaunchFailure? = nil, timedOut: Bool = false,
                               interrupted: Bool = false, leftRunning: LeftRunning? = nil) -> ProcessOutcome {
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return ProcessOutcome(termination: termination, launchFailure: failure, timedOut: timedOut,
                                  interrupted: interrupted, started: started, duration: seconds, leftRunning: leftRunning)
        }
        // Its end is heard once: from the exit watcher, or from the watchdog giving up on it (D state).
        let once = Once()
        // Spawn outside the table's lock (a spawn lasts until the child has
        // exec'd; the exit of another child must not wait for it), but counted:
        // while a spawn is in flight, a cleanup elsewhere does not reap untracked
        // zombies, which could be this child before it is registered.
        Self.spawning.add(1, ordering: .sequentiallyConsistent)
        let spawned = ChildProcess.spawn(spec, tag: tag)
        let child: ChildProcess
        switch spawned {
        case .failure(var failure):
            Self.spawning.subtract(1, ordering: .sequentiallyConsistent)
            if failure.errno == EMFILE || failure.errno == ENFILE, failure.cause == .output || failure.cause == .system {
                let stop = (interruptible && isInterrupted) || hardStopped
                let othersRun = Self.awaited.withLock { !$0.isEmpty }
                let waited = ContinuousClock.now - start
                if stop {
                    onExit(outcome(nil, interrupted: true))
                    return
                }
                if waited < (othersRun ? .seconds(30) : .seconds(1)) {
                    let delay = Duration.milliseconds(10) * (1 << min(attempt, 7))
                    let seconds = Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds)
                    DispatchQueue.global().asyncAfter(deadline: .now() + min(seconds, 1)) {
                        self.start(spec, tag: tag, timeout: timeout, interruptible: interruptible, keepsLeftovers: keepsLeftovers,
                                   attempt: attempt + 1, since: start, at: started, onExit: onExit)
                    }
                    return
                }
                failure = LaunchFailure(program: failure.program, errno: failure.errno, cause: .descriptors)
            }
            // The log says why nothing ran (a setup's check.log, a test's output.log).
            if failure.cause != .output {
                switch spec.output {
                case .path(let path): Self.append("testbed: \(failure)\n", to: path)
                case .log(let log): log.append("testbed: \(failure)\n")
                case .discarded: break
                }
            }
            onExit(outcome(nil, failure: failure))
            return
        case .success(let process): child = process
        }
        // An interrupt before this point finds the flag set; one after finds the entry.
        Self.awaited.withLock { $0[child.pid] = child.tag }
        let (startWatchdog, terminateAtOnce) = running.withLock { running -> (Bool, Bool) in
            let terminate = interruptible && isInterrupted
            running.entries[child.pid] = Entry(process: child, interruptible: interruptible,
                                               deadline: timeout > .zero ? start + timeout : nil,
                                               killAt: terminate ? ContinuousClock.now + grace : nil,
                                               giveUp: { wchan in
                                                   guard once.claim() else { return }
                                                   var ended = outcome(.signaled(SIGKILL), timedOut: true)
                                                   ended.unkillable = wchan
                                                   onExit(ended)
                                               })
            defer { running.watching = true }
            return (!running.watching, terminate)
        }
        Self.spawning.subtract(1, ordering: .sequentiallyConsistent)
        if terminateAtOnce { child.signalGroup(SIGTERM) }
        if startWatchdog { Task.detached { await self.watch() } }

        watcher.watch(child.pid) { termination in
            let timedOut = self.running.withLock { $0.entries[child.pid]?.timedOut ?? false }
            let wasInterrupted = self.isInterrupted && !timedOut && (interruptible || self.hardStopped)
            let keeps = keepsLeftovers && !timedOut && !wasInterrupted && !self.hardStopped
            // Among the possible owners of the next orphans found, before it leaves the table.
            Self.stepEnded(tag: child.tag, keepsServices: keeps)
            self.running.withLock { _ = $0.entries.removeValue(forKey: child.pid) }
            Self.awaited.withLock { _ = $0.removeValue(forKey: child.pid) }
            guard once.claim() else {
                // Given up on as unkillable (D state) and reported then; it ended after all.
                child.signalGroup(SIGKILL)
                self.cleanUp(after: child)
                return
            }
            if keeps {
                // A setup's services: they live on until its teardown. Its untagged
                // orphans are recorded as its own (the guard learns them) at once.
                Self.lookForOrphans(killing: nil)
                onExit(outcome(termination, leftRunning: LeftRunning(group: child.pid, tag: child.tag)))
                return
            }
            // What is left of its group dies before anyone hears that it ended;
            // tagged orphans right after, on this same queue (`settle` waits for that).
            child.signalGroup(SIGKILL)
            onExit(outcome(termination, timedOut: timedOut, interrupted: wasInterrupted))
            self.cleanUp(after: child)
        }
    }

    /// Returns once every exit seen so far has been handled, orphans included.
    public func settle() async {
        await withCheckedContinuation { continuation in
            watcher.queue.async { continuation.resume() }
        }
    }

    /// Sends SIGTERM at each deadline and SIGKILL after the grace period, for
    /// the processes of this supervisor; ends when none is left.
    func watch() async {
        let grace = self.grace
        var ticks = 0
        while true {
            try? await Task.sleep(for: Self.tick)
            ticks += 1
            // Orphans of running steps show up without an exit: look for them
            // twice a second, so that the guard knows them soon.
            if ticks % 25 == 0 && Self.adoption.withLock({ $0.enabled }) { Self.lookForOrphans(killing: nil) }
            let now = ContinuousClock.now
            var terminate: [ChildProcess] = []
            var kill: [ChildProcess] = []
            var stuck: [Entry] = []
            let done = running.withLock { running -> Bool in
                for (pid, var entry) in running.entries {
                    if !entry.timedOut, let deadline = entry.deadline, now >= deadline {
                        entry.timedOut = true
                        entry.killAt = min(entry.killAt ?? now + grace, now + grace)
                        terminate.append(entry.process)
                    } else if let killAt = entry.killAt, now >= killAt {
                        entry.killAt = nil
                        if entry.timedOut { entry.stuckAt = now + grace }
                        kill.append(entry.process)
                    } else if let stuckAt = entry.stuckAt, now >= stuckAt {
                        entry.stuckAt = nil
                        stuck.append(entry)
                    }
                    running.entries[pid] = entry
                }
                if running.entries.isEmpty { running.watching = false }
                return !running.watching
            }
            for process in terminate { process.signalGroup(SIGTERM) }
            for process in kill { process.signalGroup(SIGKILL) }
            // Still there a grace after SIGKILL, in uninterruptible sleep: nobody waits for it any more
            // (the exit watcher still reaps it if it ever ends).
            for entry in stuck {
                guard let wchan = Self.uninterruptibleSleep(of: entry.process.pid) else { continue }
                running.withLock { _ = $0.entries.removeValue(forKey: entry.process.pid) }
                entry.giveUp?(wchan)
            }
            if done { return }
        }
    }

    /// Kills the orphans that carry a process' tag (its group is killed
    /// already), and the escapees no running step may own any more.
    func cleanUp(after child: ChildProcess) {
        // The whole entry: the tag of step 5 must not match the orphans of step 50.
        Self.lookForOrphans(killing: Array("\(ChildProcess.tagVariable)=\(child.tag)".utf8))
    }

    /// Appends a line to a log file (creating it); a failure to write is ignored.
    static func append(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var text = text
        _ = text.withUTF8 { testbed_write_all(fd, $0.baseAddress, $0.count) }
    }

    /// Reaps a zombie child, unless someone waits for it: one of ours that
    /// was just started (not yet in `awaited`), or a helper (a probe) that
    /// `CommandRunner` waits for, in a group of its own.
    /// Returns whether it reaped it.
    @discardableResult
    static func reapUnlessAwaited(_ pid: pid_t) -> Bool {
        if adoption.withLock({ $0.own.contains(pid) }) { return false }
        return awaited.withLock { awaited in
            guard awaited[pid] == nil, spawning.load(ordering: .sequentiallyConsistent) == 0 else { return false }
            guard HelperProcesses.spawnsInFlight == 0, !HelperProcesses.isHelper(pid) else { return false }
            var status: Int32 = 0
            return testbed_try_wait(pid, &status) == 1
        }
    }

    /// Stops everything that runs: SIGTERM to every group, SIGKILL after the
    /// grace period (the watchdog sends it).
    public func interruptAll() {
        interrupted.withLock { $0 = true }
        let killAt = ContinuousClock.now + grace
        let children = running.withLock { running -> [ChildProcess] in
            var stopped: [ChildProcess] = []
            for (pid, var entry) in running.entries where entry.interruptible {
                entry.killAt = min(entry.killAt ?? killAt, killAt)
                running.entries[pid] = entry
                stopped.append(entry.process)
            }
            return stopped
        }
        for child in children { child.signalGroup(SIGTERM) }
    }

    /// SIGKILL to every running group at once (a second interrupt).
    public func killAll() {
        interrupted.withLock { $0 = true }
        hardStop.withLock { $0 = true }
        let children = running.withLock { $0.entries.values.map(\.process) }
        for child in children { child.signalGroup(SIGKILL) }
    }

    /// Claimed once: the first `claim` returns true, every later one false.
    final class Once: Sendable {
        let claimed = Atomic<Bool>(false)

        /// Whether this is the first claim.
        func claim() -> Bool {
            !claimed.exchange(true, ordering: .acquiringAndReleasing)
        }
    }

    // MARK: - /proc

    /// Orphans this process reaps: they are reparented to its main thread
    /// (Linux gives a subreaper's orphans to its thread group leader), so one
    /// file lists them. Our own children, spawned from other threads, are
    /// tracked in `children` and need no scan.
    static func childPIDs() -> [pid_t] {
        let pid = getpid()
        let data = readProcFile("/proc/\(pid)/task/\(pid)/children")
        return data.split(separator: UInt8(ascii: " ")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }
    }

    /// Reads a small /proc file (`ProcessTree.readProcFile`).
    static func readProcFile(_ path: String, limit: Int = 1 << 20) -> [UInt8] {
        ProcessTree.readProcFile(path, limit: limit)
    }

    static func environment(of pid: pid_t) -> String {
        String(decoding: readProcFile("/proc/\(pid)/environ"), as: UTF8.self)
    }

    /// State, process group and session from `/proc/PID/stat`.
    static func stat(of pid: pid_t) -> (Character, pid_t, pid_t)? {
        ProcessTree.stat(of: pid).map { ($0.state, $0.group, $0.session) }
    }
}
