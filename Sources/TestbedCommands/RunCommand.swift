import ArgumentParser
import CShim
import Catalog
import Declarations
import Execution
import Foundation
import Grid
import HostFacts
import Planning
import ProcessSupervision
import Reporting
import Requirements
import Results
import Synchronization
@preconcurrency import Dispatch

extension ExitCodes: ExpressibleByArgument {}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the tests that suit this host, with the setups and teardowns they need.",
        discussion: """
        Builds one graph of setups, tests and teardowns and runs it in parallel (-j), \
        each shared setup once, teardowns always. A failing setup is an infrastructure \
        failure: the tests behind it are blocked, not failed, and the summary puts it \
        apart. Whatever path you give, the whole suite around it is loaded (its root: \
        the nearest testbed.yaml at or above the path, then up while parents hold one) \
        and the path selects tests; ids are from the root (in a git work tree, folders \
        without a testbed.yaml in between are crossed, up to the work tree's top). Results go to --results DIR \
        (default: testbed-results at the suite root; testbed.sqlite and one directory \
        per run, `latest` points at the newest), written as they happen.

        What a setup starts (a daemonized QEMU, a backgrounded server) lives until its \
        teardown has run, or the end of the run. A command is looked for when it runs: \
        a test whose program never started is `error`; one that started and exited \
        126 or 127 is `fail`. Testbed never follows a link or opens a FIFO a test \
        plants in the results (it is replaced, and the log says so); a results or run \
        directory a test deletes, moves away or replaces by a link is made again where \
        it was, with a warning (a --results DIR that is itself a link, to another disk \
        say, is followed once, at the start); an export a \
        program cannot be given (over 128 KiB, past ARG_MAX, a NUL byte) fails its \
        setup, naming the line.

          testbed run examples
          testbed run examples --tag quick -j 4
          testbed run ./my-test.sh
          git bisect run testbed run tests --exit-codes bisect

        Exit codes: 0 every selected test passed, skipped or was unsupported; 1 a test \
        failed (fail, timeout, error); 2 an infrastructure failure (setup, teardown, \
        restore, a test that failed while the results disk was full (blocked by \
        "results disk"), a results directory that stopped taking results during the run, \
        deleted, moved, replaced by a link or full: they are written when it can, and \
        the run says so, or a file descriptor limit under 64 (ulimit -n; refused before \
        anything runs)); 3 both; \
        4 nothing selected; 64 bad command line; 65 invalid declarations; 130 \
        interrupted. With --exit-codes bisect: 0 good, 1 bad, 125 this commit cannot \
        be tested (only infrastructure failed, invalid declarations, nothing selected, \
        a file descriptor limit under 64, \
        a missing suite or environment file, or no test passed or \
        failed), 128 a bad command line (which stops the bisection).

        Ctrl-C stops launching, terminates what runs (a setup's check and a restore \
        included), runs the teardowns and keeps the results; a second Ctrl-C kills \
        everything at once. What a test leaves running is killed once no step that may \
        have started it runs, also a process that cleared its environment and left its \
        session (what a setup leaves: after its teardown).
        """)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var environmentOptions: EnvironmentOptions
    @OptionGroup var gridOptions: GridRunOptions

    @Option(name: [.customShort("j", allowingJoined: true), .customLong("jobs")], help: ArgumentHelp(
        "How many steps run at once (default: the CPUs this process may use: its affinity mask and cgroup "
            + "CPU quota; lowered, saying so, when the file descriptor limit, ulimit -Hn, allows fewer).",
        valueName: "n"))
    var jobs: Int?

    @Option(help: ArgumentHelp("The results directory (default: testbed-results at the suite "
        + "root when every path lies in one suite, else ./testbed-results).", valueName: "dir"))
    var results: String?

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .customLong("halt-on-infra"), help: "After an infrastructure failure, launch nothing new (teardowns still run).")
    var haltOnInfra = false

    @Option(name: .customLong("exit-codes"), help: ArgumentHelp("standard, or bisect for `git bisect run`.", valueName: "scheme"))
    var exitCodes: ExitCodes = .standard

    @Option(name: [.customShort("t"), .customLong("timeout-multiplier")], parsing: .unconditional, help: ArgumentHelp(
        "Multiply every test's and setup's timeout by F, a decimal number (2, 0.5, 1e3; at "
            + "least 0.001), for slow hosts such as TCG (meson's -t); 0 or less: no timeouts.",
        valueName: "F"))
    var timeoutMultiplierText = "1"

    /// `-t` as validated (`parseTimeoutMultiplier`).
    var timeoutMultiplier: Double { (try? parseTimeoutMultiplier(timeoutMultiplierText)) ?? 1 }

    @Option(name: .customLong("kill-grace"), help: ArgumentHelp("Time between SIGTERM and SIGKILL for a "
        + "test that times out or is interrupted.", valueName: "duration"))
    var killGrace = "5s"

    @Option(help: ArgumentHelp("Off a terminal (CI logs): name a step once it has run 5 s, and every DURATION each step "
        + "still running and for how long; 0: never.", valueName: "duration"))
    var heartbeat = "1m"

    @Option(name: .customLong("rerun-failures"), help: ArgumentHelp("Run a test that fails (fail, timeout, error) again up to N "
        + "times, with its scope: test setups; every attempt is recorded, and a test that then passes is a pass marked flaky.",
        valueName: "n"))
    var rerunFailures = 0

    @Flag(help: "Print the report as JSON at the end (the shape of `testbed report --json`).")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only failures and the summary.")
    var quiet = false

    @Option(name: .customLong("label"), help: ArgumentHelp("Record what is under test with the run: KEY=VALUE "
        + "(qemu=9.1.0-rc2, build=abc123); the key of letters, digits, _ . -; repeatable.", valueName: "key=value"))
    var labelTexts: [String] = []

    @Option(name: .customLong("taint-ignore"), help: ArgumentHelp("Kernel taint flags that do not fail a test: letters "
        + "such as W or W,O (W a kernel warning, D an oops, L a soft lockup; docs/kernel-health.md); repeatable, added to the "
        + "environment file's taint-ignore.", valueName: "letters"))
    var taintIgnore: [String] = []

    @Option(name: .customLong("host-root"), help: ArgumentHelp("For testing: the directory that stands for / when reading "
        + "proc/sys/kernel/tainted and dev/kmsg (a regular file there stands for /dev/kmsg).", valueName: "dir", visibility: .hidden))
    var hostRoot = "/"

    @Flag(name: .customLong("plan-order"), help: ArgumentHelp("Start ready tests in plan order, ignoring earlier runs "
        + "(default: tests that failed last time first, then the longest)."))
    var planOrder = false

    @OptionGroup var shard: GridShardOptions

    func validate() throws {
        try selection.requireExistingPaths(policy: policy)
        try environmentOptions.requireExistingFile(policy: policy, suite: selection.suitePaths)
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1, not \(jobs)") }
        if rerunFailures < 0 || rerunFailures > Self.maximumReruns {
            throw ValidationError("--rerun-failures must be from 0 to \(Self.maximumReruns), not \(rerunFailures)")
        }
        do {
            _ = try parseTimeoutMultiplier(timeoutMultiplierText)
        } catch .notANumber {
            throw ValidationError("--timeout-multiplier \(shortened(timeoutMultiplierText)) is not "
                + "a decimal number; write e.g. 2 or 0.5 (0 or less: no timeouts)")
        } catch .tooSmall {
            throw ValidationError("--timeout-multiplier \(shortened(timeoutMultiplierText)) is above 0 but under \(smallestTimeoutMultiplier), "
                + "the smallest multiplier (timeouts are kept in whole milliseconds); write "
                    + "at least \(smallestTimeoutMultiplier), or 0 or less for no timeouts")
        }
        if parseTimeout(heartbeat) == nil {
            throw ValidationError("--heartbeat \(shortened(heartbeat)) is not a duration; \(durationForms); or 0 for none")
        }
        if parseTimeout(killGrace) == nil {
            throw ValidationError("--kill-grace \(shortened(killGrace)) is not a duration; \(durationForms)")
        }
        _ = try Self.parseLabels(labelTexts)
        try shard.validate(labels: labelTexts)
        _ = try ignoredTaint()
    }

    /// The exit codes of this run (`--exit-codes`).
    var policy: ExitPolicy { ExitPolicy(exitCodes) }

    /// The most `--rerun-failures` allows: a test runs at most 101 times in a run.
    static let maximumReruns = 100

    func run() async throws {
        // Signals are caught from the start: one that comes before the run
        // exists stops it cleanly (130), one during the run stops the run.
        // A closed stdout or stderr (`testbed run … | head`) loses text, never
        // the run: writes fail with EPIPE instead (children get the default back).
        signal(SIGPIPE, SIG_IGN)
        if gridOptions.grid != nil { return try await runGrid() }
        let latch = InterruptLatch()
        // Probe commands running in groups of their own are stopped too (HelperProcesses).
        let signals = SignalForwarder(signals: [SIGINT, SIGTERM, SIGHUP]) { latch.fire(); HelperProcesses.interrupt() }
        defer { signals.stop() }
        // As many steps as descriptors allow, the soft limit raised for them
        // (a step that cannot start for want of them is Testbed's limit, not the test's).
        let descriptors = DescriptorBudget.apply(requested: jobs ?? CPUBudget().count)
        // Before the snapshot starts: while its probes run, a child that is not one of their helpers is swept as an orphan.
        try shard.checkNode(policy: policy)
        let environment = shard.withNodeFeatures(try environmentOptions.load(policy: policy, suite: selection.suitePaths))
        let suites = selection.suitePaths
        let results = self.results ?? suites.defaultResults
        // The package list and git take a while: they run while the plan is made.
        let snapshot = Self.startSnapshot(of: environment, suites: suites, results: results)
        let (catalog, plan) = try await selection.resolveCatalog(in: environment, policy: policy, command: "run")
        if latch.fired {
            writeText("testbed: interrupted before the run started; nothing ran\n", to: STDERR_FILENO)
            throw ExitCode(ExitPolicy.interrupted)
        }
        guard !plan.tests.isEmpty else {
            let suite = suites.firstLineLabel(colon: false, catalog: catalog).map { "testbed: \($0)\n" } ?? ""
            writeText(suite + "testbed: \(selection.nothingSelectedMessage(catalog, command: "run"))\n", to: STDERR_FILENO)
            throw ExitCode(policy.nothingSelected)
        }
        let store: any RunStore
        let run: (id: String, directory: String)
        let layout: RunLayout
        do {
            store = try openStore(results, database: database.url)
            run = try store.newRun()
        } catch {
            throw CommandFailure(error.description, status: policy.cannotWork)
        }
        for note in store.notes { writeText("testbed: warning: \(note)\n", to: STDERR_FILENO) }
        do {
            // Held open for the run: everything below it is written by descriptor.
            layout = try RunLayout(results: store.results, name: run.id)
        } catch {
            throw CommandFailure(error.description, status: policy.cannotWork)
        }
        // Held until this command returns (or the process dies): `testbed report` tells a running run by it.
        let runLock = RunLock.hold(in: layout)
        defer { withExtendedLifetime(runLock) {} }

        let facts = environment.recordedFacts()
        if let data = try? JSONEncoder().encode(facts) {
            writeFile("facts.json", in: layout) { $0(String(decoding: data, as: UTF8.self)) }
        }
        var base = ProcessInfo.processInfo.environment.merging(environment.binaryVariables) { $1 }
        base["TESTBED_RUN_ID"] = run.id
        base["TESTBED_RUN_DIR"] = run.directory
        let restore = environment.restore.map { ($0.text, environment.directory) }
        let history = store.history()
        var options = ExecutorOptions(
            jobs: descriptors.jobs, haltOnInfrastructureFailure: haltOnInfra,
            runID: run.id, layout: layout, baseEnvironment: base, restore: restore,
            history: planOrder ? [:] : history, timeoutMultiplier: timeoutMultiplier)
        options.rerunFailures = rerunFailures
        // A flaky test's failure is judged against the runs recorded on this host (the run row's `host`).
        if let host = SnapshotProbe.hostname() {
            options.verdictHistory = store.verdictHistory(host: host, environment: plan.environment, excludingRun: run.id)
        }
        let kernelHealth = Self.kernelHealth(root: hostRoot, ignored: try ignoredTaint().union(environment.taintIgnore))
        options.kernelHealth = kernelHealth.monitor

        if let warning = descriptors.warning { writeText(warning + "\n", to: STDERR_FILENO) }
        // Every child of this process is now Testbed's: an orphan no step is
        // tracked for escaped its step (see ProcessSupervisor+Escapees).
        ProcessSupervisor.becomeSubreaper(huntingEscapees: true)
        // If this process is killed outright, the guard kills what it started
        // (and if the guard is killed, another takes its place).
        let runGuard = RunGuard.start(executable: "/proc/self/exe", prefix: run.id + "/") { writeText($0 + "\n", to: STDERR_FILENO) }
        if runGuard == nil {
            writeText("testbed: warning: the guard process could not start; a kill -9 of testbed would leave its processes running\n",
                      to: STDERR_FILENO)
        }
        let console = ConsoleRecorder(style: Style.forStandardError, live: isatty(STDERR_FILENO) == 1 && !json, quiet: quiet || json,
                                      suite: suites.firstLineLabel(colon: false, catalog: catalog), heartbeat: json ? nil : parseTimeout(heartbeat),
                                      recorded: history.mapValues(\.duration), notices: kernelHealth.notices)
        let recorder = store.recorder(runID: run.id, exitCodes: exitCodes, layout: layout)
        // A grid shard drains its node the moment a setup fails (after the store and the console have the failure).
        let quarantine = shard.gridNode.map { [ShardQuarantineRecorder(quarantine: ShardQuarantine(node: $0, runID: run.id))] } ?? []
        let executor = Executor(plan: plan, facts: environment, options: options,
                                supervisor: ProcessSupervisor(grace: parseTimeout(killGrace)!),
                                recorders: [recorder, console] + quarantine)
        let labels = shard.labels((try? Self.parseLabels(labelTexts)) ?? [:])
        let provenance = await Self.finishSnapshot(snapshot, labels: labels, layout: layout)
        latch.attach { executor.interrupt() }
        _ = await executor.run(facts: facts, provenance: provenance)
        // Every step has ended and every service was stopped: no escapee has an owner left.
        ProcessSupervisor.killEscapees()

        // The run as the store recorded it: its exit code (`ExitPolicy`, with
        // recording trouble) for the summary, the reports and the process alike.
        // The recorder saw every event (the executor's recorders hear `.finished` before `run` returns).
        guard let recording = recorder.outcome, let report = recorder.report else {
            throw CommandFailure("the run ended but its recorder never saw its start or its end; this is a bug in Testbed, "
                                 + "please report it with the output above", status: ExitPolicy.infrastructureFailure)
        }
        // Written in chunks: the report of a 100,000-test run is never one string in memory.
        // Both at once: on a large run they are the tail every user waits for.
        await withDiscardingTaskGroup { group in
            group.addTask { writeFile("report.json", in: layout) { write in ReportFormat.json.write(report, to: write) } }
            group.addTask { writeFile("junit.xml", in: layout) { write in ReportFormat.junit.write(report, to: write) } }
        }
        if json {
            emit(ReportFormat.json.render(report))
        } else {
            emit("\n" + ReportFormat.text.render(report, color: Style.standard.enabled))
            // What broke since the last comparable run, and what changed since each passed
            // (not when the recording went wrong: the database may not be the one this run wrote).
            if recording.unrecorded == nil && report.run.recordingError == nil {
                emit(RunRegressions.text(for: report, in: store, style: Style.standard))
            }
        }
        // Directories made again after the recorder's last look (while writing the reports).
        for repair in store.results.takeRepairs() { writeText("testbed: warning: \(repair.warning)\n", to: STDERR_FILENO) }
        if let why = recording.unrecorded {
            // The lab, not the code: the results directory could not take the run's end.
            let kept = recording.inDatabase ? "the database is not (it shows this run as incomplete)" : "no database holds this run"
            writeText("testbed: error: results could not be written to \(results) (\(why)): the summary above is complete, "
                      + "\(kept); \(recording.unrecordedFix ?? "free some space or choose another --results DIR")\n",
                      to: STDERR_FILENO)
        }
        if recording.exitCode != ExitPolicy.success { throw ExitCode(recording.exitCode) }
    }
}

/// Creates `name` in the run directory (by descriptor: a link or FIFO a
/// test planted there is replaced, with a warning, never followed) and lets
/// `body` write it in pieces; on a write error (a full disk) the rest is
/// dropped and a warning says so.
func writeFile(_ name: String, in layout: RunLayout, _ body: ((String) -> Void) -> Void) {
    let path = layout.absolute(name)
    let (fd, notes, problem) = layout.createFile(name)
    for note in notes { writeText("testbed: warning: \(note)\n", to: STDERR_FILENO) }
    guard fd >= 0 else {
        writeText("testbed: warning: cannot write \(path): \(problem ?? "unknown error")\n", to: STDERR_FILENO)
        return
    }
    defer { close(fd) }
    var failure: Int32 = 0
    body { text in
        guard failure == 0 else { return }
        var text = text
        failure = text.withUTF8 { testbed_write_all(fd, $0.baseAddress, $0.count) }
    }
    if failure != 0 {
        writeText("testbed: warning: \(path) is incomplete: \(String(cString: strerror(-failure)))\n", to: STDERR_FILENO)
    }
}

/// Turns SIGINT/SIGTERM/SIGHUP into calls of `handler`, instead of dying.
/// (Dispatch sources are thread-safe; they are only created and cancelled here.)
/// Counts interrupts, and passes each to the executor once there is one
/// (those that came before it, at once).
final class InterruptLatch: Sendable {
    let state = Mutex<(count: Int, target: (@Sendable () -> Void)?)>((0, nil))

    var fired: Bool { state.withLock { $0.count > 0 } }

    func fire() {
        let target = state.withLock { state -> (@Sendable () -> Void)? in
            state.count += 1
            return state.target
        }
        target?()
    }

    func attach(_ target: @escaping @Sendable () -> Void) {
        let earlier = state.withLock { state -> Int in
            state.target = target
            return state.count
        }
        for _ in 0..<min(earlier, 2) { target() }
    }
}

final class SignalForwarder: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        var sources: [any DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func stop() {
        for source in sources { source.cancel() }
    }
}

extension Style {
    /// Colours for stderr (the progress line), under the same rules as stdout.
    static let forStandardError = Style(
        enabled: isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
            && ProcessInfo.processInfo.environment["TERM"] != "dumb")
}
