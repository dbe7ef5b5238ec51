import Foundation
import ProcessSupervision

/// Everything the executor needs from processes: start one, hear how it
/// ended, stop them all on an interrupt, and stop what a setup left running
/// once its teardown has run.
///
/// `SupervisedLauncher` is the real one (Linux process groups, pidfds,
/// tags); the tests run the executor on a scripted fake that starts nothing.
public protocol ProcessLauncher: Sendable {
    /// Starts `spec` and returns at once; `onExit` is called once, when it
    /// has exited, timed out or been stopped by an interrupt (at once when
    /// it cannot start).
    /// - Parameters:
    ///   - spec: What to start: command, environment, directory, where its output goes.
    ///   - tag: A tag unique in the run (`RUNID/3`), carried by everything it starts.
    ///   - timeout: How long it may run; zero or less means no limit.
    ///   - interruptible: Whether `interruptAll` stops it (teardowns and restores run to their end).
    ///   - keepsLeftovers: Whether what it leaves running when it exits on its own is handed
    ///     over in the outcome's `leftRunning` (a setup's services) rather than killed.
    ///   - onExit: Called once with how it ended.
    func start(_ spec: ProcessSpec, tag: String, timeout: Duration, interruptible: Bool, keepsLeftovers: Bool,
               onExit: @escaping @Sendable (ProcessOutcome) -> Void)

    /// Stops every interruptible process (SIGTERM, SIGKILL after a grace period);
    /// interruptible processes started later are stopped at once.
    func interruptAll()

    /// Kills every process at once (a second interrupt).
    func killAll()

    /// Stops what a process left running (`ProcessOutcome.leftRunning`).
    /// - Parameters:
    ///   - left: What it left running.
    ///   - immediately: Kill at once instead of terminating, then killing after the grace period.
    func release(_ left: LeftRunning, immediately: Bool) async

    /// Returns once every exit seen so far has been handled.
    func settle() async

    /// Where the run loop should run (the thread that hears exits), or nil for the global pool.
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension ProcessLauncher {
    /// Runs `spec` to its end (`start`, awaited).
    /// - Parameters:
    ///   - spec: What to start.
    ///   - tag: A tag unique in the run.
    ///   - timeout: How long it may run; zero or less means no limit.
    ///   - interruptible: Whether `interruptAll` stops it.
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
}

/// The real launcher: a `ProcessSupervisor` (process groups, tags, timeouts,
/// orphans) and the process' `ExitWatcher` (one epoll thread hears every exit,
/// and runs the run loop).
public struct SupervisedLauncher: ProcessLauncher {
    /// The supervisor that starts and stops the processes.
    public let supervisor: ProcessSupervisor

    /// A launcher over `supervisor`.
    /// - Parameter supervisor: The supervisor (a grace of 5 s between SIGTERM and SIGKILL by default).
    public init(supervisor: ProcessSupervisor = ProcessSupervisor()) {
        self.supervisor = supervisor
    }

    /// Starts `spec` through the supervisor (`ProcessSupervisor.start`).
    /// - Parameters:
    ///   - spec: What to start.
    ///   - tag: A tag unique in the run.
    ///   - timeout: How long it may run; zero or less means no limit.
    ///   - interruptible: Whether `interruptAll` stops it.
    ///   - keepsLeftovers: Whether what it leaves running is handed over, not killed.
    ///   - onExit: Called once with how it ended.
    public func start(_ spec: ProcessSpec, tag: String, timeout: Duration, interruptible: Bool, keepsLeftovers: Bool,
                      onExit: @escaping @Sendable (ProcessOutcome) -> Void) {
        supervisor.start(spec, tag: tag, timeout: timeout, interruptible: interruptible, keepsLeftovers: keepsLeftovers,
                         onExit: onExit)
    }

    /// SIGTERM to every interruptible group (`ProcessSupervisor.interruptAll`).
    public func interruptAll() { supervisor.interruptAll() }

    /// SIGKILL to every group (`ProcessSupervisor.killAll`).
    public func killAll() { supervisor.killAll() }

    /// Stops what a setup left running (`ProcessSupervisor.release`).
    /// - Parameters:
    ///   - left: What it left running.
    ///   - immediately: SIGKILL at once.
    public func release(_ left: LeftRunning, immediately: Bool) async {
        await supervisor.release(left, immediately: immediately)
    }

    /// Waits for the exits seen so far to be handled, orphans included (`ProcessSupervisor.settle`).
    public func settle() async { await supervisor.settle() }

    /// The exit watcher's thread, when it has one.
    public var preferredExecutor: (any TaskExecutor)? { supervisor.watcher.taskExecutor }
}
