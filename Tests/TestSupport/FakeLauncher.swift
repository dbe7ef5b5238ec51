import Execution
import Foundation
import ProcessSupervision
import Synchronization

/// A `ProcessLauncher` that starts nothing: each command ends as its script
/// says (an exit status, a signal, a timeout, a launch failure, or never on
/// its own), after a delay, having written its output to its log and its
/// exports to `$TESTBED_EXPORT`. It behaves as `SupervisedLauncher` does
/// around interrupts: an interrupt ends every interruptible command at once
/// (SIGTERM) and marks it interrupted, a second ends everything (SIGKILL);
/// an interruptible command started after an interrupt ends at once.
///
/// What happened is kept in order in `events`: `start CMD`, `end CMD`,
/// `release TAG` (`release TAG at once` after a second interrupt),
/// `interrupt`, `kill`.
public final class FakeLauncher: ProcessLauncher {
    /// How a command ends.
    public struct Script: Sendable {
        /// How its process ends.
        public enum Ending: Sendable, Hashable {
            /// It exits with this status.
            case exit(Int32)
            /// This signal kills it.
            case signal(Int32)
            /// It runs past its timeout and is killed (SIGTERM).
            case timeout
            /// It cannot be started.
            case cannotStart(LaunchFailure)
            /// It does not end on its own: only an interrupt ends it.
            case hang
            /// It runs past its timeout and cannot be killed: in uninterruptible sleep in this kernel function.
            case unkillable(wchan: String)
        }

        /// How it ends.
        public var ending: Ending
        /// How long it runs before it ends (not for `hang`).
        public var delay: Duration
        /// What it writes to its log (stdout and stderr) before it ends.
        public var output: String
        /// What it writes to `$TESTBED_EXPORT` before it ends (a setup's `KEY=VALUE` lines).
        public var exports: String?
        /// What it does to the host before it ends (writes a fixture's kernel log or taint file).
        public var effect: (@Sendable () -> Void)?

        /// A command that ends as `ending` says.
        /// - Parameters:
        ///   - ending: How its process ends.
        ///   - delay: How long it runs first (zero by default).
        ///   - output: What it writes to its log.
        ///   - exports: What it writes to `$TESTBED_EXPORT`, if anything.
        ///   - effect: What it does to the host before it ends, if anything.
        public init(_ ending: Ending, delay: Duration = .zero, output: String = "", exports: String? = nil,
                    effect: (@Sendable () -> Void)? = nil) {
            self.effect = effect
            self.ending = ending
            self.delay = delay
            self.output = output
            self.exports = exports
        }
    }

    /// One start, as the executor asked for it.
    public struct Launch: Sendable {
        /// The command line, or the file started.
        public let command: String
        /// The process' tag.
        public let tag: String
        /// Its own variables (on top of the run's base environment).
        public let environment: [String: String]
        /// Its timeout (zero: none).
        public let timeout: Duration
        /// Whether an interrupt stops it.
        public let interruptible: Bool
        /// Whether what it leaves running is handed over.
        public let keepsLeftovers: Bool
    }

    struct Running {
        let launch: Launch
        let spec: ProcessSpec
        let script: Script
        let started: Date
        let since: ContinuousClock.Instant
        let onExit: @Sendable (ProcessOutcome) -> Void
    }

    struct State {
        var events: [String] = []
        var launches: [Launch] = []
        var running: [Int: Running] = [:]
        var next = 1
        var interrupted = false
        var hardStopped = false
        var waiting: [(command: String, continuation: CheckedContinuation<Void, Never>)] = []
        /// How many times each command of `sequences` has started.
        var starts: [String: Int] = [:]
    }

    let scripts: [String: Script]
    let fallback: Script
    /// Commands that end differently each time they start: the Nth start
    /// ends as the Nth script (the last one again after that).
    let sequences: [String: [Script]]
    let state = Mutex(State())

    /// A launcher whose commands end as `scripts` say.
    /// - Parameters:
    ///   - scripts: How each command ends, by command line (or file path).
    ///   - fallback: How any other command ends (exit 0 at once by default).
    ///   - sequences: Commands that end differently each time they start (the Nth start as the Nth script, then the last).
    public init(_ scripts: [String: Script] = [:], fallback: Script = Script(.exit(0)), sequences: [String: [Script]] = [:]) {
        self.scripts = scripts
        self.fallback = fallback
        self.sequences = sequences
    }

    /// Everything that happened, in order.
    public var events: [String] { state.withLock { $0.events } }

    /// Every start, in order.
    public var launches: [Launch] { state.withLock { $0.launches } }

    /// The last start of `command`.
    /// - Parameter command: A command line.
    /// - Returns: Its launch, or nil if it never started.
    public func launch(of command: String) -> Launch? {
        launches.last { $0.command == command }
    }

    /// Returns once `command` has started.
    /// - Parameter command: A command line.
    public func started(_ command: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = state.withLock { state -> Bool in
                if state.launches.contains(where: { $0.command == command }) { return true }
                state.waiting.append((command, continuation))
                return false
            }
            if already { continuation.resume() }
        }
    }

    /// Records the start of `spec` and ends it as its script says.
    /// - Parameters:
    ///   - spec: What to start.
    ///   - tag: Its tag.
    ///   - timeout: Its timeout (recorded; the script says whether it times out).
    ///   - interruptible: Whether an interrupt ends it.
    ///   - keepsLeftovers: Whether its outcome hands over what it left running.
    ///   - onExit: Called once with how it ended.
    public func start(_ spec: ProcessSpec, tag: String, timeout: Duration, interruptible: Bool, keepsLeftovers: Bool,
                      onExit: @escaping @Sendable (ProcessOutcome) -> Void) {
        let command: String
        switch spec.program {
        case .commandLine(let line): command = line
        case .file(let path, _): command = path
        }
        var script = scripts[command] ?? fallback
        if let sequence = sequences[command], !sequence.isEmpty {
            let count = state.withLock { state -> Int in
                defer { state.starts[command, default: 0] += 1 }
                return state.starts[command] ?? 0
            }
            script = sequence[min(count, sequence.count - 1)]
        }
        let launch = Launch(command: command, tag: tag, environment: spec.environment, timeout: timeout,
                            interruptible: interruptible, keepsLeftovers: keepsLeftovers)
        let running = Running(launch: launch, spec: spec, script: script, started: Date(), since: .now, onExit: onExit)
        let (id, stopped, woken) = state.withLock { state -> (Int, Bool, [CheckedContinuation<Void, Never>]) in
            let id = state.next
            state.next += 1
            state.events.append("start \(command)")
            state.launches.append(launch)
            state.running[id] = running
            let woken = state.waiting.filter { $0.command == command }.map(\.continuation)
            state.waiting.removeAll { $0.command == command }
            return (id, (interruptible && state.interrupted) || state.hardStopped, woken)
        }
        for continuation in woken { continuation.resume() }
        if stopped {
            end(id, killedBy: SIGTERM)
            return
        }
        if case .cannotStart(let failure) = script.ending {
            end(id, failure: failure)
            return
        }
        if case .hang = script.ending { return }
        let delay = script.delay
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            self.end(id)
        }
    }

    /// Ends the command `id` (once): as its script says, or killed by a
    /// signal, or unable to start.
    func end(_ id: Int, killedBy signal: Int32? = nil, failure: LaunchFailure? = nil) {
        let ended = state.withLock { state -> (Running, interrupted: Bool, hardStopped: Bool)? in
            guard let running = state.running.removeValue(forKey: id) else { return nil }
            state.events.append("end \(running.launch.command)")
            return (running, state.interrupted, state.hardStopped)
        }
        guard let (running, interrupted, hardStopped) = ended else { return }
        let script = running.script
        let elapsed = ContinuousClock.now - running.since
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if let failure {
            running.onExit(ProcessOutcome(termination: nil, launchFailure: failure, started: running.started, duration: seconds))
            return
        }
        if case .log(let log) = running.spec.output, !script.output.isEmpty { log.append(script.output) }
        if signal == nil { script.effect?() }
        if let exports = script.exports, let path = running.spec.environment["TESTBED_EXPORT"] {
            _ = FileManager.default.createFile(atPath: path, contents: Data(exports.utf8))
        }
        var termination: Termination
        var timedOut = false
        var unkillable: String?
        switch script.ending {
        case .unkillable(let wchan):
            termination = .signaled(SIGKILL)
            timedOut = true
            unkillable = wchan
        case .exit(let code): termination = .exited(code)
        case .signal(let number): termination = .signaled(number)
        case .timeout:
            termination = .signaled(SIGTERM)
            timedOut = true
        case .cannotStart, .hang: termination = .signaled(SIGTERM)
        }
        if let signal { termination = .signaled(signal) }
        let launch = running.launch
        let wasInterrupted = interrupted && !timedOut && (launch.interruptible || hardStopped)
        let keeps = launch.keepsLeftovers && !timedOut && !wasInterrupted && !hardStopped
        var outcome = ProcessOutcome(termination: termination, timedOut: timedOut, interrupted: wasInterrupted,
                                     started: running.started, duration: seconds,
                                     leftRunning: keeps ? LeftRunning(group: pid_t(10_000 + id), tag: launch.tag) : nil)
        outcome.unkillable = unkillable
        running.onExit(outcome)
    }

    /// Ends every interruptible command (SIGTERM); later ones end at once.
    public func interruptAll() {
        let stopped = state.withLock { state -> [Int] in
            state.interrupted = true
            state.events.append("interrupt")
            return state.running.filter { $0.value.launch.interruptible }.keys.sorted()
        }
        for id in stopped { end(id, killedBy: SIGTERM) }
    }

    /// Ends every command (SIGKILL).
    public func killAll() {
        let stopped = state.withLock { state -> [Int] in
            state.interrupted = true
            state.hardStopped = true
            state.events.append("kill")
            return state.running.keys.sorted()
        }
        for id in stopped { end(id, killedBy: SIGKILL) }
    }

    /// Records the release of what a command left running.
    /// - Parameters:
    ///   - left: What it left running.
    ///   - immediately: Whether it is killed at once.
    public func release(_ left: LeftRunning, immediately: Bool) async {
        state.withLock { $0.events.append("release \(left.tag)" + (immediately ? " at once" : "")) }
    }

    /// Nothing to wait for: every end was handled when it happened.
    public func settle() async {}

    /// None: the run loop runs on the global pool.
    public var preferredExecutor: (any TaskExecutor)? { nil }
}
