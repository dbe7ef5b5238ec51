import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Requirements
import Synchronization

/// How the executor runs a plan.
public struct ExecutorOptions: Sendable {
    /// How many steps run at once.
    public var jobs: Int
    /// Stop launching new steps after the first infrastructure failure.
    public var haltOnInfrastructureFailure: Bool
    public var runID: String
    public var layout: RunLayout
    /// The environment every process starts from (the caller's, plus the
    /// environment's binaries).
    public var baseEnvironment: [String: String]
    /// The environment's `restore` command and its directory.
    public var restore: (command: String, directory: String)?
    /// Earlier results by test id: failed-last and longest tests start first.
    public var history: [String: TestHistory]
    /// Every test's and setup's timeout is multiplied by this (meson's
    /// `--timeout-multiplier`, for slow hosts such as TCG); zero or less: no limits.
    public var timeoutMultiplier: Double

    public init(jobs: Int, haltOnInfrastructureFailure: Bool = false, runID: String, layout: RunLayout,
                baseEnvironment: [String: String], restore: (command: String, directory: String)? = nil,
                history: [String: TestHistory] = [:], timeoutMultiplier: Double = 1) {
        self.history = history
        self.timeoutMultiplier = timeoutMultiplier
        self.jobs = max(1, jobs)
        self.haltOnInfrastructureFailure = haltOnInfrastructureFailure
        self.runID = runID
        self.layout = layout
        self.baseEnvironment = baseEnvironment
        self.restore = restore
    }
}

/// Runs a plan as it stands: each step once its dependencies are done, at most
/// `jobs` at a time, in plan order among those ready.
///
/// A setup that fails blocks every step that depends on it (each blocked test
/// names the setup at the root of the failure); steps that do not depend on it
/// still run, unless `haltOnInfrastructureFailure`. Teardowns run after every
/// setup that started, even a failed one, and also after an interrupt.
public final class Executor: Sendable {
    public let plan: Plan
    public let facts: any FactSource
    public let options: ExecutorOptions
    public let supervisor: ProcessSupervisor
    let dispatcher: EventDispatcher
    let interrupts = Mutex(0)
    /// `options.baseEnvironment` as C strings, built once for the run.
    let base: EnvironmentBlock
    /// The plan's tests by id (a step names its test by id).
    let plannedByID: [String: PlannedTest]

    public init(plan: Plan, facts: any FactSource, options: ExecutorOptions,
                supervisor: ProcessSupervisor = ProcessSupervisor(), recorders: [any Recorder]) {
        self.plan = plan
        self.facts = facts
        self.options = options
        self.supervisor = supervisor
        self.dispatcher = EventDispatcher(recorders: recorders)
        self.base = EnvironmentBlock(options.baseEnvironment)
        self.plannedByID = Dictionary(plan.tests.map { ($0.test.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A declared timeout as this run enforces it: multiplied by
    /// `timeoutMultiplier`; zero means no limit.
    func effective(_ timeout: Duration) -> Duration {
        guard options.timeoutMultiplier > 0, timeout > .zero else { return .zero }
        if options.timeoutMultiplier == 1 { return timeout }
        let seconds = (Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18) * options.timeoutMultiplier
        // Past ten years a limit is none (and the clock would overflow). Whole
        // milliseconds, rounded up as `parseTimeout` rounds: 3s × 0.1 is 300ms
        // (not 301 for the float's 300.00000000000006).
        return seconds > longestTimeoutSeconds ? .zero : wholeMilliseconds(seconds)
    }

    /// Stops the run: the first call stops launching and terminates running
    /// tests and setups (teardowns still run); a second kills everything at once.
    public func interrupt() {
        let count = interrupts.withLock { value -> Int in
            value += 1
            return value
        }
        if count == 1 { supervisor.interruptAll() } else { supervisor.killAll() }
    }

    var interrupted: Bool { interrupts.withLock { $0 > 0 } }
    var hardStopped: Bool { interrupts.withLock { $0 > 1 } }

    func emit(_ event: RunEvent) async {
        dispatcher.send(event)
    }

    /// Runs the plan; returns when every step has finished or been skipped.
    public func run(facts recordedFacts: [Fact], started: Date = Date()) async -> RunSummary {
        let dispatcher = self.dispatcher
        let delivery = Task { await dispatcher.deliver() }
        var state = ExecutionState(plan: plan, baseEnvironment: options.baseEnvironment, history: options.history)
        let decided = plan.tests.compactMap { planned -> TestResult? in
            guard case .unsupported(let unmet) = planned.status else { return nil }
            return TestResult(id: planned.test.id, outcome: .unsupported,
                              reason: unmet.map(\.description).joined(separator: "\n"))
        }
        for result in decided { state.testResults[result.id] = result }
        await emit(.started(RunInfo(
            id: options.runID, environment: plan.environment, started: started, directory: options.layout.directory,
            tests: plan.tests.map(\.test.id), decided: decided, facts: recordedFacts, jobs: options.jobs)))

        // The loop runs on the exit watcher's thread (when it has one): a test's
        // exit and the start of the next test happen there, with no other thread
        // to wake in between.
        await withTaskExecutorPreference(ExitWatcher.shared.taskExecutor) {
            await runSteps(&state)
        }
        // What setups without a teardown (or whose teardown did not run) left
        // running lives until now.
        let services = state.services.values
        await withDiscardingTaskGroup { group in
            for left in services { group.addTask { await self.supervisor.release(left, immediately: self.hardStopped) } }
        }
        await supervisor.settle()

        let tests = plan.tests.map { state.testResults[$0.test.id] ?? TestResult(id: $0.test.id, outcome: .interrupted, reason: "not run") }
        let summary = RunSummary(id: options.runID, started: started, finished: Date(), tests: tests,
                                 setups: state.setupResults, interrupted: interrupted, haltedBy: state.haltedBy)
        await emit(.finished(summary))
        dispatcher.finish()
        await delivery.value
        return summary
    }

    /// Launches every step as soon as it may start and handles each completion,
    /// until none is left to run.
    func runSteps(_ state: inout ExecutionState) async {
        // Every step reports its completion here. Tests are started right from
        // this loop and their completions come from the exit watcher; setups,
        // teardowns and restores (several processes each) run as child tasks.
        let (completions, sink) = AsyncStream.makeStream(of: Completion.self)
        await withDiscardingTaskGroup { group in
            var finished = completions.makeAsyncIterator()
            var running = 0
            while true {
                // Launch what can run now.
                launching: while running < options.jobs && !state.exclusiveRunning {
                    if state.restorePending {
                        guard running == 0 else { break launching }
                        state.restorePending = false
                        state.exclusiveRunning = true
                        running += 1
                        let index = state.restoreCount
                        state.restoreCount += 1
                        // One started after an interrupt cleans up like a teardown: it runs to its end.
                        let interruptible = !interrupted
                        group.addTask { sink.yield(await self.runRestore(index: index, interruptible: interruptible)) }
                        break launching
                    }
                    if let held = state.heldExclusive {
                        guard running == 0 else { break launching }
                        state.heldExclusive = nil
                        state.exclusiveRunning = true
                        running += 1
                        await emit(.stepStarted(kind: "test", label: plan.steps[held].label, logPath: nil))
                        startTest(held, environment: state.inputEnvironment(for: held)) { sink.yield($0) }
                        break launching
                    }
                    guard let next = state.ready.popMin() else { break launching }
                    switch decide(next, &state) {
                    case .skip(let completion):
                        await finish(completion, &state)
                    case .launch(let exclusive):
                        if exclusive && running > 0 {
                            state.heldExclusive = next
                            break launching
                        }
                        if exclusive { state.exclusiveRunning = true }
                        running += 1
                        let step = plan.steps[next]
                        await emit(.stepStarted(kind: step.kindName, label: step.label, logPath: nil))
                        let environment = state.inputEnvironment(for: next)
                        if case .test = step.kind {
                            startTest(next, environment: environment) { sink.yield($0) }
                        } else {
                            // A teardown stops what its setup left running, once it has run.
                            let services = state.setupStep(of: next).flatMap { state.services.removeValue(forKey: $0) }
                            group.addTask { sink.yield(await self.runStep(next, environment: environment, services: services)) }
                        }
                    }
                }
                if running == 0 && state.ready.isEmpty && state.heldExclusive == nil && !state.restorePending { break }
                guard let completion = await finished.next() else { break }
                running -= 1
                state.exclusiveRunning = false
                await finish(completion, &state)
            }
            sink.finish()
        }
    }

    // MARK: - Deciding

    enum Decision {
        case skip(Completion)
        case launch(exclusive: Bool)
    }

    func decide(_ index: Int, _ state: inout ExecutionState) -> Decision {
        let step = plan.steps[index]
        switch step.kind {
        case .teardown(let name), .testTeardown(let name, _):
            let setupIndex = state.setupStep(of: index)
            let started = setupIndex.map { state.started.contains($0) } ?? false
            guard started, !hardStopped, plan.setups[name]?.teardown != nil else {
                return .skip(.teardownSkipped(index))
            }
            return .launch(exclusive: false)
        case .setup(let name), .testSetup(let name, _):
            let test: String? = if case .testSetup(_, let t) = step.kind { t } else { nil }
            if let (_, root) = state.firstFailure(among: step.dependencies), !interrupted {
                return .skip(.setup(index, SetupResult(name: name, test: test, phase: .setup, outcome: .blocked,
                                                       reason: "comes after setup \(root), which failed"),
                                    exports: [:], started: false, blockedBy: root))
            }
            if interrupted || state.haltedBy != nil {
                let reason = interrupted ? "the run was interrupted before it started" : "the run halted after \(state.haltedBy!) failed"
                return .skip(.setup(index, SetupResult(name: name, test: test, phase: .setup, outcome: .interrupted, reason: reason),
                                    exports: [:], started: false))
            }
            return .launch(exclusive: false)
        case .test(let id):
            let planned = state.planned[id]!
            if let (dependency, root) = state.firstFailure(among: step.dependencies), !interrupted {
                let direct = state.setupName(of: dependency)
                let chain = direct == root ? "setup \(root) failed" : "setup \(direct) did not run because setup \(root) failed"
                return .skip(.test(index, TestResult(id: id, outcome: .blocked, reason: chain, blockedBy: root)))
            }
            if interrupted || state.haltedBy != nil {
                let reason = interrupted ? "the run was interrupted before it started"
                                         : "not run: the run halted after setup \(state.haltedBy!) failed (--halt-on-infra)"
                return .skip(.test(index, TestResult(id: id, outcome: .interrupted, reason: reason)))
            }
            if let tooLarge = environmentTooLarge(for: index, state) {
                return .skip(.test(index, tooLarge.blocking(id)))
            }
            if state.restoreFailed {
                return .skip(.test(index, TestResult(id: id, outcome: .blocked,
                    reason: "the environment's restore failed, so this host is not pristine", blockedBy: "restore")))
            }
            // A setup ran on a promise: check it was kept. Facts a probe can tell are
            // probed again; tags no probe knows are taken on the setup's word.
            let exportedPath = planned.promises.isEmpty ? nil : state.inputExports(for: index)["PATH"]
            for promise in planned.promises {
                let promised = plan.setups[promise.setup]?.provides ?? []
                let check = promise.requirement.check { name in
                    if !facts.canProbe(name), let fact = promised.first(where: { $0.name == name }) {
                        return .present(Fact(name: name, value: fact.value, source: "setup \(promise.setup)"))
                    }
                    // As the test will see it: along the PATH its setups export.
                    return facts.lookup(name, searchPath: exportedPath)
                }
                if case .unmet(let observed) = check {
                    let host = observed.map(\.description).joined(separator: "; ")
                    return .skip(.test(index, TestResult(id: id, outcome: .blocked,
                        reason: "setup \(promise.setup) ran, but \(promise.requirement.text) is still unmet: \(host)",
                        blockedBy: promise.setup)))
                }
            }
            // A test that dirties the host runs alone: no other test may see the dirt
            // before the restore (nor dirty the host under it).
            return .launch(exclusive: planned.test.exclusive || planned.test.dirties)
        }
    }

    // MARK: - Finishing

    enum Completion: Sendable {
        case test(Int, TestResult)
        case setup(Int, SetupResult, exports: [String: String], started: Bool, blockedBy: String? = nil,
                   services: LeftRunning? = nil)
        case teardown(Int, SetupResult)
        case teardownSkipped(Int)
        case restore(SetupResult)
    }

    func finish(_ completion: Completion, _ state: inout ExecutionState) async {
        var finished: Int?
        switch completion {
        case let .test(index, result):
            state.testResults[result.id] = result
            finished = index
            await emit(.testFinished(result))
            if state.planned[result.id]?.test.dirties == true,
               result.outcome != .blocked, result.outcome != .interrupted || result.started != nil,
               options.restore != nil {
                state.restorePending = true
            }
        case let .setup(index, result, exports, started, blockedBy, services):
            finished = index
            if let services { state.services[index] = services }
            state.exports[index] = state.inputExports(for: index).merging(exports) { $1 }
            if started { state.started.insert(index) }
            if result.outcome.isInfrastructureFailure {
                state.blame[index] = result.name
                if options.haltOnInfrastructureFailure && state.haltedBy == nil { state.haltedBy = result.name }
            } else if let blockedBy {
                state.blame[index] = blockedBy
            } else if result.outcome == .interrupted {
                state.blame[index] = result.name
            }
            if result.outcome == .ok || result.outcome == .satisfied, let definition = plan.setups[result.name] {
                facts.invalidate(definition.provides.map(\.name))
            }
            state.setupResults.append(result)
            await emit(.setupFinished(result))
        case let .teardown(index, result):
            finished = index
            state.setupResults.append(result)
            if result.outcome.isInfrastructureFailure && options.haltOnInfrastructureFailure && state.haltedBy == nil {
                state.haltedBy = result.label
            }
            await emit(.setupFinished(result))
        case .teardownSkipped(let index):
            finished = index
        case .restore(let result):
            state.setupResults.append(result)
            if result.outcome != .ok { state.restoreFailed = true }
            await emit(.setupFinished(result))
        }
        if let finished {
            state.done.insert(finished)
            for dependent in state.dependents[finished] {
                state.remaining[dependent] -= 1
                if state.remaining[dependent] == 0 { state.ready.push(dependent) }
            }
        }
    }

    // MARK: - Running steps

    /// Runs a setup or teardown step; `services`: what the teardown's setup
    /// left running, stopped once the teardown has run.
    func runStep(_ index: Int, environment: [String: String], services: LeftRunning? = nil) async -> Completion {
        let step = plan.steps[index]
        switch step.kind {
        case .test: fatalError("tests start through startTest")
        case .setup(let name): return await runSetup(index, name: name, test: nil, environment: environment)
        case let .testSetup(name, test): return await runSetup(index, name: name, test: test, environment: environment)
        case .teardown(let name):
            return await runTeardown(index, name: name, test: nil, environment: environment, services: services)
        case let .testTeardown(name, test):
            return await runTeardown(index, name: name, test: test, environment: environment, services: services)
        }
    }

    func tag(_ index: Int) -> String { "\(options.runID)/\(index)" }

    /// Starts a test and returns at once; `completion` gets its result when it
    /// has ended (on the exit watcher's queue).
    ///
    /// Its directory and `output.log` are made by descriptor (`RunLayout.openDirectory`):
    /// about four system calls. The log stays open until its result is
    /// known, and a failure's or skip's reason is read from that descriptor.
    /// A failure while the results disk is full is `blocked` by it
    /// (`blockOnFullDisk`): one `fstatvfs`, only for a test that failed.
    func startTest(_ index: Int, environment: [String: String], completion: @escaping @Sendable (Completion) -> Void) {
        guard case .test(let id) = plan.steps[index].kind, let planned = plannedByID[id] else {
            fatalError("step \(index) is not a test")
        }
        let test = planned.test
        let timeout = effective(test.timeout)
        let directory = options.layout.testDirectory(id)
        let (log, logFailure) = options.layout.openDirectory(directory).createLog("output.log")
        var variables = environment
        variables["TESTBED_TEST_ID"] = id
        variables["TESTBED_OUTPUT_DIR"] = options.layout.absolute(directory)
        // The facts its requirements named, as the host has them: TESTBED_FACT_QEMU=7.2.22.
        for name in test.requires.flatMap(\.factNames) {
            if case .present(let fact) = facts.lookup(name, searchPath: environment["PATH"]) {
                variables["TESTBED_FACT_" + Environment.variableName(for: name)] = fact.value ?? "1"
            }
        }
        let output: ProcessSpec.Output = log.map { .log($0) } ?? .discarded
        let spec: ProcessSpec
        switch test.command {
        case .shell(let command):
            spec = .shell(command, environment: variables, base: base, directory: test.directory, output: output)
        case .executable(let path):
            spec = ProcessSpec(executable: path, arguments: [path], environment: variables, base: base,
                               directory: test.directory, output: output)
        }
        let layout = options.layout
        supervisor.start(spec, tag: tag(index), timeout: timeout) { outcome in
            var result = Self.testResult(id: id, test: test, timeout: timeout, outcome: outcome, directory: directory, log: log)
            if result.outcome == .fail, let disk = Self.fullResultsDisk(layout, log: log) { Self.blockOnFullDisk(&result, disk: disk) }
            if let logFailure { result.reason = Self.adding(Self.notKept(logFailure), to: result.reason) }
            completion(.test(index, result))
        }
    }

    /// What a test blocked by a full results disk names as `blockedBy`.
    public static let fullDiskBlocker = "results disk"

    /// The results directory, when the disk it is on was full as a step that
    /// did not pass ended (`RunLayout.resultsDiskFull`), or Testbed's own
    /// writes to the step's log found it full; nil otherwise.
    static func fullResultsDisk(_ layout: RunLayout, log: LogFile?) -> String? {
        log?.sawFullDisk == true || layout.resultsDiskFull() ? layout.resultsDirectory : nil
    }

    /// A test that failed while the results disk was full: its output (its
    /// stdout and stderr are its log, on that disk) could not be written, so
    /// a `fail` may be the disk's, not the code's. It is `blocked` by the
    /// results disk (an infrastructure failure, exit code bit 2), its exit
    /// status or signal kept.
    static func blockOnFullDisk(_ result: inout TestResult, disk: String) {
        let how = result.signal.map { "killed by signal \($0) (\(signalName($0)))" } ?? "exit \(result.exitStatus ?? 1)"
        result.outcome = .blocked
        result.blockedBy = fullDiskBlocker
        result.reason = "\(how) while the results disk (\(disk)) was full: its output could not be written, "
            + "so its verdict cannot be trusted; free space and run it again"
    }

    /// A setup, teardown or restore that failed while the results disk was
    /// full: still `failed` (infrastructure), its reason saying so. Only when
    /// its process ran and failed (not when it could not start).
    static func noteFullDisk(_ result: inout SetupResult, layout: RunLayout, log: LogFile?) {
        guard result.outcome == .failed, result.exitStatus != nil || result.signal != nil,
              let disk = fullResultsDisk(layout, log: log) else { return }
        let full = "the results disk (\(disk)) was full: its output could not be written; free space and run it again"
        if let signal = result.signal {
            result.reason = "killed by signal \(signal) (\(signalName(signal))) while \(full)"
        } else if let code = result.exitStatus, code != 0 {
            result.reason = "exit \(code) while \(full)"
        } else {
            result.reason = adding(full, to: result.reason)
        }
    }

    /// Why a step's output went nowhere, for its reason.
    static func notKept(_ failure: String) -> String {
        "its output was not kept: \(failure) (a step removed or replaced part of the results directory?)"
    }

    static func adding(_ note: String, to reason: String?) -> String {
        reason.map { "\($0); \(note)" } ?? note
    }

    /// A test's verdict from how its process ended. `error` only when it
    /// never started; any exit status of a started test (126 and 127
    /// included: kvm-unit-tests exits 127 after the guest's `abort()`) is
    /// its own verdict. `log`: its output, read back for a failure's reason.
    static func testResult(id: String, test: TestDefinition, timeout: Duration, outcome: ProcessOutcome,
                           directory: String, log: LogFile?) -> TestResult {
        var result = TestResult(id: id, outcome: .pass, started: outcome.started, duration: outcome.duration, logDirectory: directory)
        if let failure = outcome.launchFailure, failure.cause == .descriptors {
            // Testbed's own limit: not the test's verdict.
            result.outcome = .blocked
            result.blockedBy = "testbed"
            result.reason = failure.description
        } else if let failure = outcome.launchFailure, failure.errno == E2BIG, failure.cause == .system {
            // "Argument list too long": the test's own command line, or what it was given.
            if case .shell(let command) = test.command, command.utf8.count + 1 > Exports.maxVariableBytes {
                result.outcome = .error
                result.reason = "cannot start: its command at \(test.location) is \(command.utf8.count) bytes, over the "
                    + "\(Exports.maxVariableBytes) bytes Linux passes in one argument (MAX_ARG_STRLEN); move it into a script"
            } else {
                // The lab's, not the test's: the environment Testbed was started with (and its setups' exports).
                result.outcome = .blocked
                result.blockedBy = "environment"
                result.reason = "not started: the environment it would get (the one testbed was started with, and its setups' exports) "
                    + "and its command line are more than Linux lets a program be given (Argument list too long); "
                    + "unset large variables before running testbed"
            }
        } else if let failure = outcome.launchFailure {
            result.outcome = .error
            result.reason = failure.description
        } else if outcome.timedOut {
            result.outcome = .timeout
            result.reason = "ran past its timeout of \(formatTimeout(timeout)) and was killed"
            result.signal = outcome.termination.flatMap { if case .signaled(let s) = $0 { s } else { nil } }
        } else if outcome.interrupted {
            result.outcome = .interrupted
            result.reason = "stopped by an interrupt"
        } else {
            switch outcome.termination {
            case .exited(0)?:
                result.outcome = .pass
                result.exitStatus = 0
            case .exited(let code)? where code == test.skipCode:
                result.outcome = .skip
                result.exitStatus = code
                result.reason = log?.lastLine().map { "skipped itself (exit \(code)): \($0)" } ?? "skipped itself (exit \(code))"
            case .exited(let code)?:
                result.outcome = .fail
                result.exitStatus = code
                result.reason = "exit \(code)" + (log?.lastLine().map { ": \($0)" } ?? "")
            case .signaled(let signal)?:
                result.outcome = .fail
                result.signal = signal
                result.reason = "killed by signal \(signal) (\(signalName(signal)))"
            case nil:
                result.outcome = .error
            }
        }
        return result
    }

    /// The most a setup's export file may hold, in bytes.
    public static let exportLimit = 16 << 20

    /// How many bytes the environment of a step may take: ARG_MAX less room
    /// for the step's own variables and its command line.
    static let environmentLimit: Int = {
        let argMax = sysconf(Int32(_SC_ARG_MAX))
        let limit = argMax > 0 ? argMax : 2 << 20
        return limit - min(64 << 10, limit / 4)
    }()

    /// Setups whose exports each fit but together make a step's environment
    /// larger than a program can be given: the setups (by name) and the size.
    struct EnvironmentTooLarge {
        var setups: [String]
        var bytes: Int

        /// The test does not start: its setups' exports are the lab's fault, not the test's.
        func blocking(_ id: String) -> TestResult {
            let names = setups.joined(separator: ", ")
            return TestResult(id: id, outcome: .blocked,
                              reason: "not started: the exports of setups \(names) together make its environment \(bytes) bytes, "
                                  + "over the \(Executor.environmentLimit) bytes a program can be given on this host (ARG_MAX, "
                                  + "less room for its own variables); write large values to files and export their paths",
                              blockedBy: setups.first)
        }
    }

    /// Whether the exports a step gets from several setups are more than a
    /// program can be given (each setup's own exports were checked when it ended).
    func environmentTooLarge(for index: Int, _ state: ExecutionState) -> EnvironmentTooLarge? {
        let exports = state.inputExports(for: index)
        guard !exports.isEmpty else { return nil }
        var bytes = base.byteCount
        for (key, value) in exports { bytes += EnvironmentBlock.cost(key: key, value: value) - base.cost(of: key) }
        guard bytes > Self.environmentLimit else { return nil }
        var setups: [String] = []
        for dependency in plan.steps[index].dependencies where !(state.exports[dependency] ?? [:]).isEmpty {
            let name = state.setupName(of: dependency)
            if !setups.contains(name) { setups.append(name) }
        }
        return EnvironmentTooLarge(setups: setups, bytes: bytes)
    }

    func runSetup(_ index: Int, name: String, test: String?, environment: [String: String]) async -> Completion {
        guard let setup = plan.setups[name] else { fatalError("unknown setup \(name)") }
        let directory = options.layout.setupDirectory(name, test: test)
        // Held until the setup has run: its logs and its export file are
        // made and read through it, whatever the setup does to the name.
        let folder = options.layout.openDirectory(directory)
        var variables = environment
        variables["TESTBED_SETUP"] = name
        if let test { variables["TESTBED_TEST_ID"] = test }
        variables["TESTBED_EXPORT"] = options.layout.absolute(directory + "/export")
        _ = folder.createEmptyFile("export")

        let timeout = effective(setup.timeout)
        if let check = setup.check {
            let logPath = directory + "/check.log"
            let (log, logFailure) = folder.createLog("check.log")
            let outcome = await supervisor.run(.shell(check, environment: variables, base: base, directory: setup.directory,
                                                      output: log.map { .log($0) } ?? .discarded),
                                               // A tag of its own: cleaning up after the check must
                                               // never touch what the setup's run starts right after.
                                               tag: tag(index) + "/check", timeout: timeout)
            if outcome.termination == .exited(0) && !outcome.timedOut && !outcome.interrupted {
                var result = SetupResult(name: name, test: test, phase: .setup, outcome: .satisfied,
                                         started: outcome.started, duration: outcome.duration, exitStatus: 0,
                                         reason: "its check says it is already satisfied", logPath: logPath)
                let exports = readExports(folder, environment: environment, into: &result)
                if let logFailure { result.reason = Self.adding(Self.notKept(logFailure), to: result.reason) }
                return .setup(index, result, exports: exports, started: false)
            }
            if outcome.interrupted {
                return .setup(index, SetupResult(name: name, test: test, phase: .setup, outcome: .interrupted,
                                                 reason: "stopped by an interrupt", logPath: logPath), exports: [:], started: false)
            }
        }
        let logPath = directory + "/run.log"
        let (log, logFailure) = folder.createLog("run.log")
        // What the setup starts and leaves running (a guest, a server) lives
        // until its teardown has run.
        let outcome = await supervisor.run(.shell(setup.run, environment: variables, base: base, directory: setup.directory,
                                                  output: log.map { .log($0) } ?? .discarded),
                                           tag: tag(index), timeout: timeout, keepsLeftovers: true)
        var result = Self.setupResult(outcome, name: name, test: test, phase: .setup, log: logPath, timeout: timeout)
        var exports: [String: String] = [:]
        if result.outcome == .ok {
            exports = readExports(folder, environment: environment, into: &result)
        }
        Self.noteFullDisk(&result, layout: options.layout, log: log)
        if let logFailure { result.reason = Self.adding(Self.notKept(logFailure), to: result.reason) }
        if result.outcome == .failed, let reason = result.reason, result.exitStatus == 0 {
            // The process succeeded, its exports did not: its log says why too.
            log?.append("testbed: setup \(name) failed: \(reason)\n")
        }
        return .setup(index, result, exports: exports, started: outcome.launchFailure == nil, services: outcome.leftRunning)
    }

    /// Reads the export file of a setup that succeeded, from the directory
    /// Testbed holds: it must be a regular file (a setup may `mv` a new one
    /// over `$TESTBED_EXPORT`; a link, a FIFO or a device is refused, never
    /// followed or read) of at most `exportLimit` bytes, whose variables the
    /// steps after it can be given (`Exports.checkPassable`). Otherwise the
    /// setup has `failed`, its reason naming the file, the line and the fix.
    func readExports(_ folder: StepDirectory, environment: [String: String], into result: inout SetupResult) -> [String: String] {
        let shown = folder.relative + "/export"
        func fail(_ reason: String) -> [String: String] {
            result.outcome = .failed
            result.reason = "its export file \(shown)" + reason
            return [:]
        }
        guard folder.descriptor >= 0 else {
            return fail(" cannot be read: \(folder.failure ?? "no directory"); write KEY=VALUE lines to $TESTBED_EXPORT")
        }
        let fd = openat(folder.descriptor, "export", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ENOENT:
                return fail(" is gone (the setup removed it or its directory); leave $TESTBED_EXPORT in place and write KEY=VALUE lines to it")
            case ELOOP:
                return fail(" is a symbolic link, which Testbed does not follow in the results; write KEY=VALUE lines to $TESTBED_EXPORT itself")
            default:
                return fail(" cannot be read: \(String(cString: strerror(errno))); write KEY=VALUE lines to $TESTBED_EXPORT")
            }
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return fail(" is not a regular file (\(RunLayout.plantedKind("export", in: folder.descriptor))); write KEY=VALUE lines to $TESTBED_EXPORT")
        }
        let limit = Self.exportLimit
        let tooLarge = " holds more than the \(limit >> 20) MiB Testbed reads from it; write large values to files and export their paths"
        guard Int(info.st_size) <= limit else { return fail(tooLarge) }
        // Read up to one byte past the limit: a file that grows while read is caught too.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size) + 1)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= limit {
            let want = min(chunk.count, limit + 1 - bytes.count)
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
            if got < 0 && errno == EINTR { continue }
            if got < 0 { return fail(" cannot be read: \(String(cString: strerror(errno))); write KEY=VALUE lines to $TESTBED_EXPORT") }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        guard bytes.count <= limit else { return fail(tooLarge) }
        do throws(Exports.ParseError) {
            let exports = try Exports.parse(bytes: bytes)
            var rest = base.byteCount
            for (key, value) in environment { rest += EnvironmentBlock.cost(key: key, value: value) - base.cost(of: key) }
            try exports.checkPassable(environmentBytes: rest, limit: Self.environmentLimit) { key in
                environment[key].map { EnvironmentBlock.cost(key: key, value: $0) } ?? base.cost(of: key)
            }
            return exports.dictionary
        } catch {
            return fail(", \(error); \(error.fix)")
        }
    }

    func runTeardown(_ index: Int, name: String, test: String?, environment: [String: String],
                     services: LeftRunning?) async -> Completion {
        guard let setup = plan.setups[name], let teardown = setup.teardown else {
            if let services { await supervisor.release(services, immediately: hardStopped) }
            return .teardownSkipped(index)
        }
        let directory = options.layout.setupDirectory(name, test: test)
        var variables = environment
        variables["TESTBED_SETUP"] = name
        if let test { variables["TESTBED_TEST_ID"] = test }
        let logPath = directory + "/teardown.log"
        let (log, logFailure) = options.layout.openDirectory(directory).createLog("teardown.log")
        let outcome = await supervisor.run(.shell(teardown, environment: variables, base: base, directory: setup.directory,
                                                  output: log.map { .log($0) } ?? .discarded),
                                           tag: tag(index), timeout: effective(setup.timeout), interruptible: false)
        if let services { await supervisor.release(services, immediately: hardStopped) }
        var result = Self.setupResult(outcome, name: name, test: test, phase: .teardown, log: logPath, timeout: effective(setup.timeout))
        Self.noteFullDisk(&result, layout: options.layout, log: log)
        if let logFailure { result.reason = Self.adding(Self.notKept(logFailure), to: result.reason) }
        return .teardown(index, result)
    }

    /// Runs the environment's restore. `interruptible`: an interrupt
    /// terminates it (one that runs when the run is interrupted); one that
    /// starts after an interrupt runs to its end, as teardowns do.
    func runRestore(index: Int, interruptible: Bool) async -> Completion {
        guard let restore = options.restore else {
            return .restore(SetupResult(name: "restore", phase: .restore, outcome: .ok))
        }
        let logPath = "restore/\(index).log"
        let (log, logFailure) = options.layout.openDirectory("restore").createLog("\(index).log")
        let outcome = await supervisor.run(.shell(restore.command, environment: [:], base: base, directory: restore.directory,
                                                  output: log.map { .log($0) } ?? .discarded),
                                           tag: "\(options.runID)/restore\(index)", timeout: .seconds(600), interruptible: interruptible)
        var result = Self.setupResult(outcome, name: "restore", test: nil, phase: .restore, log: logPath, timeout: .seconds(600))
        Self.noteFullDisk(&result, layout: options.layout, log: log)
        if let logFailure { result.reason = Self.adding(Self.notKept(logFailure), to: result.reason) }
        return .restore(result)
    }

    static func setupResult(_ outcome: ProcessOutcome, name: String, test: String?, phase: SetupPhase, log: String,
                            timeout: Duration) -> SetupResult {
        var result = SetupResult(name: name, test: test, phase: phase, outcome: .ok, started: outcome.started,
                                 duration: outcome.duration, logPath: log)
        if let failure = outcome.launchFailure {
            result.outcome = .failed
            result.reason = failure.description
        } else if outcome.timedOut {
            result.outcome = .timeout
            result.reason = "ran past its timeout of \(formatTimeout(timeout)) and was killed"
        } else if outcome.interrupted {
            result.outcome = .interrupted
            result.reason = "stopped by an interrupt"
        } else {
            switch outcome.termination {
            case .exited(0)?: result.exitStatus = 0
            case .exited(let code)?:
                result.outcome = .failed
                result.exitStatus = code
                result.reason = "exit \(code)"
            case .signaled(let signal)?:
                result.outcome = .failed
                result.signal = signal
                result.reason = "killed by signal \(signal) (\(signalName(signal)))"
            case nil:
                result.outcome = .failed
            }
        }
        return result
    }
}
