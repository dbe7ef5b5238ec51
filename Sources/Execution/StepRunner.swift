import Catalog
import Declarations
import Foundation
import HostFacts
import KernelHealth
import Planning
import ProcessSupervision
import Requirements
import Subtests

/// Runs one step's processes: builds their environments, starts tests,
/// runs setups (their check, their run, their exports), teardowns and the
/// environment's restore, and turns how each ended into its result
/// (`OutcomeClassifier`). It decides nothing about order: the run loop
/// calls it once the step gate lets a step start.
struct StepRunner: Sendable {
    let plan: Plan
    let facts: any FactSource
    let options: ExecutorOptions
    let launcher: any ProcessLauncher
    let interruption: Interruption
    /// `options.baseEnvironment` as C strings, built once for the run.
    let base: EnvironmentBlock

    /// The most a setup's export file may hold, in bytes.
    static let exportLimit = 16 << 20

    /// How many bytes the environment of a step may take: ARG_MAX less room
    /// for the step's own variables and its command line.
    static let environmentLimit: Int = {
        let argMax = sysconf(Int32(_SC_ARG_MAX))
        let limit = argMax > 0 ? argMax : 2 << 20
        return limit - min(64 << 10, limit / 4)
    }()

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

    /// The tag of a step's processes: unique in the run.
    func tag(_ index: Int) -> String { "\(options.runID)/\(index)" }

    /// Runs a setup or teardown step; `services`: what the teardown's setup
    /// left running, stopped once the teardown has run; `attempt`: the
    /// attempt of the test a `scope: test` setup runs for (its own directory from the second).
    func runStep(_ index: Int, environment: [String: String], services: LeftRunning? = nil, attempt: Int = 1) async -> Completion {
        switch plan.steps[index].kind {
        case .test: fatalError("tests start through startTest")
        case .setup(let name): return await runSetup(index, name: name, test: nil, environment: environment)
        case let .testSetup(name, test):
            return await runSetup(index, name: name, test: test, environment: environment, attempt: attempt)
        case .teardown(let name):
            return await runTeardown(index, name: name, test: nil, environment: environment, services: services)
        case let .testTeardown(name, test):
            return await runTeardown(index, name: name, test: test, environment: environment, services: services, attempt: attempt)
        }
    }

    /// Starts a test and returns at once; `completion` gets its result when it
    /// has ended (on the launcher's thread).
    ///
    /// Its directory and `output.log` are made by descriptor (`RunLayout.openDirectory`):
    /// about four system calls. The log stays open until its result is
    /// known, and a failure's or skip's reason is read from that descriptor.
    /// A failure while the results disk is full is `blocked` by it
    /// (`blockOnFullDisk`): one `fstatvfs`, only for a test that failed.
    ///
    /// `attempt`: from the second (`--rerun-failures`), the test's directory is `tests/ID/attempt-N`.
    func startTest(_ index: Int, test: TestDefinition, environment: [String: String], attempt: Int = 1,
                   completion: @escaping @Sendable (Completion) -> Void) {
        let id = test.id
        let timeout = effective(test.timeout)
        let directory = RunLayout.attemptDirectory(options.layout.testDirectory(id), attempt: attempt)
        let folder = options.layout.openDirectory(directory)
        let (log, logFailure) = folder.createLog("output.log")
        var variables = environment
        // A variant's TESTBED_VARIANT_<AXIS> and its values' `env`; Testbed's own variables below win.
        variables.merge(test.environment) { $1 }
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
        // Only a test with a protocol has its log read (as it runs): an `exitcode` test costs nothing more.
        let reader = test.outputProtocol == .exitcode ? nil : log.flatMap { SubtestReader(log: $0, protocol: test.outputProtocol, live: true) }
        let health = options.kernelHealth
        launcher.start(spec, tag: tag(index), timeout: timeout, interruptible: true, keepsLeftovers: false) { outcome in
            var result = OutcomeClassifier.test(id: id, test: test, timeout: timeout, outcome: outcome, directory: directory, log: log)
            if let health { Self.checkHealth(&result, health.testEnded(id), folder: folder) }
            if let stream = reader?.finish(), outcome.launchFailure == nil {
                OutcomeClassifier.addSubtests(&result, stream)
            }
            if result.outcome == .fail, let disk = OutcomeClassifier.fullResultsDisk(layout, log: log) {
                OutcomeClassifier.blockOnFullDisk(&result, disk: disk)
            }
            if let logFailure { result.reason = OutcomeClassifier.adding(OutcomeClassifier.notKept(logFailure), to: result.reason) }
            completion(.test(index, result))
        }
    }

    /// What the kernel health monitor saw of a test that ended: its
    /// `kmsg.log` written (when it has records) and kept with its result
    /// (bounded), and a taint it is blamed for made its verdict.
    static func checkHealth(_ result: inout TestResult, _ health: TestHealth, folder: StepDirectory) {
        if let text = OutcomeClassifier.kernelLogText(health) {
            let (file, failure) = folder.createLog("kmsg.log")
            file?.append(text)
            result.kernelLog = OutcomeClassifier.boundedKernelLog(text)
            if let failure { result.reason = OutcomeClassifier.adding("its kmsg.log was not kept: \(failure)", to: result.reason) }
        }
        OutcomeClassifier.tainted(&result, health)
    }

    /// Runs a setup: its `check` first (exit 0: already satisfied, its run
    /// skipped), then its `run`; reads its exports when it succeeded.
    func runSetup(_ index: Int, name: String, test: String?, environment: [String: String], attempt: Int = 1) async -> Completion {
        guard let setup = plan.setups[name] else { fatalError("unknown setup \(name)") }
        let directory = RunLayout.attemptDirectory(options.layout.setupDirectory(name, test: test), attempt: attempt)
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
            let outcome = await launcher.run(.shell(check, environment: variables, base: base, directory: setup.directory,
                                                    output: log.map { .log($0) } ?? .discarded),
                                             // A tag of its own: cleaning up after the check must
                                             // never touch what the setup's run starts right after.
                                             tag: tag(index) + "/check", timeout: timeout)
            if outcome.termination == .exited(0) && !outcome.timedOut && !outcome.interrupted {
                var result = SetupResult(name: name, test: test, phase: .setup, outcome: .satisfied,
                                         started: outcome.started, duration: outcome.duration, exitStatus: 0,
                                         reason: "its check says it is already satisfied", logPath: logPath)
                let exports = readExports(folder, environment: environment, into: &result)
                if let logFailure { result.reason = OutcomeClassifier.adding(OutcomeClassifier.notKept(logFailure), to: result.reason) }
                return .setup(index, result, exports: exports, started: false)
            }
            if outcome.interrupted {
                return .setup(index, SetupResult(name: name, test: test, phase: .setup, outcome: .interrupted,
                                                 reason: OutcomeClassifier.interrupted, logPath: logPath), exports: [:], started: false)
            }
        }
        let logPath = directory + "/run.log"
        let (log, logFailure) = folder.createLog("run.log")
        // What the setup starts and leaves running (a guest, a server) lives
        // until its teardown has run.
        let outcome = await launcher.run(.shell(setup.run, environment: variables, base: base, directory: setup.directory,
                                                output: log.map { .log($0) } ?? .discarded),
                                         tag: tag(index), timeout: timeout, keepsLeftovers: true)
        var result = OutcomeClassifier.setup(outcome, name: name, test: test, phase: .setup, log: logPath, timeout: timeout)
        var exports: [String: String] = [:]
        if result.outcome == .ok {
            exports = readExports(folder, environment: environment, into: &result)
        }
        OutcomeClassifier.noteFullDisk(&result, layout: options.layout, log: log)
        if let logFailure { result.reason = OutcomeClassifier.adding(OutcomeClassifier.notKept(logFailure), to: result.reason) }
        if result.outcome == .failed, let reason = result.reason, result.exitStatus == 0 {
            // The process succeeded, its exports did not: its log says why too.
            log?.append("testbed: setup \(name) failed: \(reason)\n")
        }
        return .setup(index, result, exports: exports, started: outcome.launchFailure == nil, services: outcome.leftRunning)
    }

    /// Runs a setup's teardown (to its end: an interrupt does not stop it),
    /// then stops what the setup left running.
    func runTeardown(_ index: Int, name: String, test: String?, environment: [String: String],
                     services: LeftRunning?, attempt: Int = 1) async -> Completion {
        guard let setup = plan.setups[name], let teardown = setup.teardown else {
            if let services { await launcher.release(services, immediately: interruption.hardStopped) }
            return .teardownSkipped(index)
        }
        let directory = RunLayout.attemptDirectory(options.layout.setupDirectory(name, test: test), attempt: attempt)
        var variables = environment
        variables["TESTBED_SETUP"] = name
        if let test { variables["TESTBED_TEST_ID"] = test }
        let logPath = directory + "/teardown.log"
        let (log, logFailure) = options.layout.openDirectory(directory).createLog("teardown.log")
        let outcome = await launcher.run(.shell(teardown, environment: variables, base: base, directory: setup.directory,
                                                output: log.map { .log($0) } ?? .discarded),
                                         tag: tag(index), timeout: effective(setup.timeout), interruptible: false)
        if let services { await launcher.release(services, immediately: interruption.hardStopped) }
        var result = OutcomeClassifier.setup(outcome, name: name, test: test, phase: .teardown, log: logPath,
                                             timeout: effective(setup.timeout))
        OutcomeClassifier.noteFullDisk(&result, layout: options.layout, log: log)
        if let logFailure { result.reason = OutcomeClassifier.adding(OutcomeClassifier.notKept(logFailure), to: result.reason) }
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
        let outcome = await launcher.run(.shell(restore.command, environment: [:], base: base, directory: restore.directory,
                                                output: log.map { .log($0) } ?? .discarded),
                                         tag: "\(options.runID)/restore\(index)", timeout: .seconds(600), interruptible: interruptible)
        var result = OutcomeClassifier.setup(outcome, name: "restore", test: nil, phase: .restore, log: logPath, timeout: .seconds(600))
        OutcomeClassifier.noteFullDisk(&result, layout: options.layout, log: log)
        if let logFailure { result.reason = OutcomeClassifier.adding(OutcomeClassifier.notKept(logFailure), to: result.reason) }
        return .restore(result)
    }
}
