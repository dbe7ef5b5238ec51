import Catalog
import Declarations
import Execution
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Reporting
import Requirements
import Results

/// Shows a run as it goes. On a terminal: one progress line, rewritten in
/// place (done/total, what runs now, failures so far), with failures printed
/// above it as they happen. Elsewhere (CI logs, pipes): one plain line per
/// finished test or setup.
actor ConsoleRecorder: Recorder {
    let style: Style
    let live: Bool
    let quiet: Bool
    /// The suite root, for the first line: `suite examples (root of examples/image)`.
    let suite: String?
    var total = 0
    /// The run's `--rerun-failures`: "passed on attempt 2 of 3".
    var rerunFailures = 0
    var done = 0
    var failures = 0
    var infrastructure = 0
    /// The steps running now, in the order they started.
    var running: [Running] = []
    /// Tests an interrupt or a halt kept from starting, by reason, in order:
    /// one line each reason at the end, not one line per test.
    var neverStarted: [(reason: String, ids: [String])] = []
    var lastDraw = ContinuousClock.now - .seconds(1)
    /// When the run started (`.started`), for the elapsed time.
    var runStarted = ContinuousClock.now
    /// A redraw is due once the throttle allows it (a burst of starts is drawn, not dropped).
    var redrawScheduled = false
    var drawn = false
    /// Off a terminal: how often to name what still runs (nil: never).
    let heartbeat: Duration?
    /// The steps already named as running long.
    var announced: Set<Int> = []
    /// When the last heartbeat was written.
    var lastHeartbeat = ContinuousClock.now
    /// Wakes up the heartbeat off a terminal.
    var ticker: Task<Void, Never>?
    /// Each test's last recorded duration, in seconds, by id (`RunStore.history()`).
    let recorded: [String: Double]
    /// The time left, from `recorded` (nil: no test of the run has a recorded duration).
    var timeLeft: TimeLeft?
    /// How many steps run at once (`-j`).
    var jobs = 1

    /// Lines about the host to show right under the run's first line, without `testbed: ` (kernel health's unreadable files,
    /// a taint the kernel had before the run).
    let notices: [String]

    init(style: Style, live: Bool, quiet: Bool, suite: String? = nil, heartbeat: Duration? = nil, recorded: [String: Double] = [:],
         notices: [String] = []) {
        self.notices = notices
        self.style = style
        self.live = live
        self.quiet = quiet
        self.suite = suite
        self.heartbeat = heartbeat.flatMap { $0 > .zero ? $0 : nil }
        self.recorded = recorded
    }

    func record(_ event: RunEvent) async {
        switch event {
        case .started(let info):
            runStarted = ContinuousClock.now
            lastHeartbeat = runStarted
            if !live, let heartbeat {
                let tick = min(heartbeat, Self.longStep) / 5
                ticker = Task { [weak self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tick)
                        await self?.beat()
                    }
                }
            }
            total = info.tests.count
            rerunFailures = info.rerunFailures
            done = info.decided.count
            jobs = info.jobs
            let decided = Set(info.decided.map(\.id))
            timeLeft = live ? TimeLeft(tests: info.tests.filter { !decided.contains($0) }, recorded: recorded) : nil
            let unsupported = info.decided.count
            write("testbed: run \(info.id) on \(info.environment)\(suite.map { ", \($0)" } ?? ""): \(info.tests.count) test\(info.tests.count == 1 ? "" : "s")"
                  + (unsupported > 0 ? " (\(unsupported) unsupported here)" : "") + ", -j \(info.jobs)\n")
            for notice in notices { write("testbed: \(notice)\n") }
        case let .stepStarted(id, kind, _):
            running.append(Running(id: id, kind: kind, since: ContinuousClock.now))
            if case .test(let test) = kind { timeLeft?.leaves(test) }
            draw()
        case let .testFinished(result, step):
            done += 1
            remove(step)
            timeLeft?.leaves(result.id)
            if result.isCountedFailure { failures += 1 }
            if result.outcome == .interrupted, result.started == nil {
                // "never started" says "not run" already.
                var reason = result.reason ?? ""
                if reason.hasPrefix("not run: ") { reason.removeFirst("not run: ".count) }
                if let index = neverStarted.firstIndex(where: { $0.reason == reason }) {
                    neverStarted[index].ids.append(result.id)
                } else {
                    neverStarted.append((reason, [result.id]))
                }
            } else if (!live && !quiet) || result.outcome != .pass || result.flaky != nil {
                var line = "\(Self.mark(result.outcome, style)) \(result.id)"
                if result.duration > 0 { line += style.dim(String(format: " (%.2f s)", result.duration)) }
                if let flaky = result.flaky {
                    var threshold = ""
                    if case let .forgiven(_, _, k) = flaky { threshold = ", threshold \(k)" }
                    line += " " + style.yellow("(\(flaky.words(rerunFailures: rerunFailures))\(threshold))")
                }
                if result.outcome != .pass, let reason = result.reason?.split(separator: "\n").first {
                    line += "  " + reason.escapingControls
                }
                print(line)
            }
            draw()
        case let .testRerun(result, attempt, step):
            remove(step)
            if !quiet || !live {
                var line = "\(style.yellow("RERUN")) \(result.id)  attempt \(attempt) ended \(result.outcome.rawValue)"
                if let reason = result.reason?.split(separator: "\n").first { line += ": " + reason.escapingControls }
                print(line + "; running it again")
            }
            draw()
        case let .setupFinished(result, step):
            remove(step)
            if result.outcome.isInfrastructureFailure { infrastructure += 1 }
            let interesting = result.outcome.isInfrastructureFailure || result.outcome == .blocked
            if !live || interesting {
                if !quiet || interesting {
                    let phase = result.phase == .setup ? "setup" : result.phase.rawValue
                    let mark = result.outcome.isInfrastructureFailure ? style.red("INFRA") : style.dim(result.outcome.rawValue.uppercased())
                    print("\(mark) \(result.phase == .restore ? "restore" : "\(phase) \(result.name)")" + (result.test.map { " [\($0)]" } ?? "")
                          + (result.reason.map { "  \($0.escapingControls)" } ?? ""))
                }
            }
            draw()
        case .finished:
            ticker?.cancel()
            ticker = nil
            clear()
            for (reason, ids) in neverStarted {
                let shown = ids.prefix(3).map(\.escapingControls).joined(separator: ", ") + (ids.count > 3 ? " +\(ids.count - 3)" : "")
                print("\(Self.mark(.interrupted, style)) \(ids.count) test\(ids.count == 1 ? "" : "s") never started: \(shown)"
                      + (reason.isEmpty ? "" : "  \(reason.escapingControls)"))
            }
        }
    }

    static func mark(_ outcome: TestOutcome, _ style: Style) -> String {
        switch outcome {
        case .pass: style.green("PASS")
        case .fail: style.red("FAIL")
        case .timeout: style.red("TIMEOUT")
        case .error: style.red("ERROR")
        case .skip: style.dim("SKIP")
        case .unsupported: style.dim("UNSUPPORTED")
        case .blocked: style.yellow("BLOCKED")
        case .interrupted: style.yellow("INTERRUPTED")
        }
    }

    /// A step that runs: its id in the plan and what it is (unique in the plan).
    struct Running {
        let id: Int
        let kind: Step.Kind
        /// When it started.
        let since: ContinuousClock.Instant

        /// How the progress line names it: a test by its id, a setup or
        /// teardown as `setup NAME` or `teardown NAME [TEST]`.
        var name: String {
            switch kind {
            case .test(let id): id
            case .setup(let name): "setup \(name)"
            case .teardown(let name): "teardown \(name)"
            case let .testSetup(setup, test): "setup \(setup) [\(test)]"
            case let .testTeardown(setup, test): "teardown \(setup) [\(test)]"
            }
        }
    }

    /// The running step with this id has ended (nil: a verdict no step gave, the restore).
    func remove(_ step: Int?) {
        if let step, let index = running.firstIndex(where: { $0.id == step }) { running.remove(at: index) }
    }

    func write(_ text: String) {
        clear()
        writeText(text, to: STDERR_FILENO)
    }

    func print(_ line: String) {
        clear()
        writeText((line + "\n"), to: STDERR_FILENO)
    }

    func clear() {
        guard live, drawn else { return }
        writeText("\r\u{1B}[2K", to: STDERR_FILENO)
        drawn = false
    }

    /// How long a step runs before a log (not a terminal) names it.
    static let longStep = Duration.seconds(5)

    /// Off a terminal: names a step once it has run `longStep` (or the
    /// heartbeat, if shorter) — "running (5s): /migration/postcopy" — and,
    /// every `heartbeat`, every step still running and for how long —
    /// "still running (12m): /migration/postcopy" — so a long step is not
    /// minutes of silence in a CI log.
    func beat() {
        guard let heartbeat else { return }
        let now = ContinuousClock.now
        let announceAfter = min(heartbeat, Self.longStep)
        var named: [Int] = []
        for step in running where !announced.contains(step.id) && now - step.since >= announceAfter {
            announced.insert(step.id)
            named.append(step.id)
            print("running (\(Self.shortDuration(now - step.since))): \(step.name)")
        }
        guard now - lastHeartbeat >= heartbeat else { return }
        lastHeartbeat = now
        // Steps named before this beat, that is: running longer than a few seconds.
        let long = running.filter { announced.contains($0.id) && !named.contains($0.id) }
        for step in long.prefix(5) { print("still running (\(Self.shortDuration(now - step.since))): \(step.name)") }
        if long.count > 5 { print("still running: \(long.count - 5) more") }
    }

    /// Redraws the progress line, at most ten times a second; a change
    /// inside the throttle is drawn when it ends, so a burst of steps that
    /// start together is never left out.
    func draw() {
        guard live else { return }
        let now = ContinuousClock.now
        let wait = lastDraw + .milliseconds(100) - now
        guard wait <= .zero else {
            if !redrawScheduled {
                redrawScheduled = true
                Task { [weak self] in
                    try? await Task.sleep(for: wait)
                    await self?.redraw()
                }
            }
            return
        }
        lastDraw = now
        let tests = running.compactMap { step -> (id: String, elapsed: Duration)? in
            if case .test(let id) = step.kind { (id, now - step.since) } else { nil }
        }
        let left = timeLeft.flatMap { TimeLeft.shown($0.estimate(running: tests, jobs: jobs)) }
        let line = Self.progressLine(done: done, total: total, failures: failures, infrastructure: infrastructure,
                                     elapsed: now - runStarted, left: left, running: running.map { ($0.name, now - $0.since) },
                                     width: Self.terminalWidth(), style: style)
        writeText("\r\u{1B}[2K\(line)", to: STDERR_FILENO)
        drawn = true
    }

    /// The scheduled redraw, unless the run has ended meanwhile.
    func redraw() {
        redrawScheduled = false
        guard done < total || !running.isEmpty else { return }
        draw()
    }

    /// "[3/18] 1m05s ~3m left 1 failed running: /a, /b, setup image" — or, with more
    /// than three steps running, their count and the longest-running one
    /// ("running 7, longest /migration/postcopy (2m10s)") — cut to `width`
    /// visible characters.
    /// - Parameters:
    ///   - done: tests with a verdict.
    ///   - total: tests selected.
    ///   - failures: test failures so far.
    ///   - infrastructure: infrastructure failures so far.
    ///   - elapsed: time since the run started.
    ///   - left: the estimate of the time left ("~3m left", `TimeLeft.shown`), nil for none.
    ///   - running: the running steps' names and how long each has run, in start order.
    ///   - width: the terminal's columns.
    ///   - style: colours.
    /// - Returns: the line, without a newline.
    static func progressLine(done: Int, total: Int, failures: Int, infrastructure: Int, elapsed: Duration, left: String? = nil,
                             running: [(name: String, time: Duration)], width: Int, style: Style) -> String {
        var plain = "[\(done)/\(total)] \(shortDuration(elapsed))" + (left.map { " " + $0 } ?? "")
        var line = plain
        func add(_ text: String, _ styled: String) {
            plain += text
            line += styled
        }
        if failures > 0 { add(" \(failures) failed", " " + style.red("\(failures) failed")) }
        if infrastructure > 0 { add(" \(infrastructure) infra", " " + style.red("\(infrastructure) infra")) }
        if running.count > 3, let longest = running.max(by: { $0.time < $1.time }) {
            let text = " running \(running.count), longest \(longest.name) (\(shortDuration(longest.time)))"
            add(text, text)
        } else if !running.isEmpty {
            let text = " running: " + running.map(\.name).joined(separator: ", ")
            add(text, text)
        }
        guard plain.count > width, width > 1 else { return line }
        return String(plain.prefix(width - 1)) + "…"
    }

    /// "45s", "2m05s", "1h02m".
    /// - Parameter duration: a non-negative duration.
    /// - Returns: whole seconds below a minute, then minutes and seconds, then hours and minutes.
    static func shortDuration(_ duration: Duration) -> String {
        let seconds = max(0, Int(duration.components.seconds))
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return String(format: "%dm%02ds", seconds / 60, seconds % 60) }
        return String(format: "%dh%02dm", seconds / 3600, seconds % 3600 / 60)
    }

    /// The terminal's width in columns: asked of the terminal itself
    /// (TIOCGWINSZ on stderr, so a resize counts from the next redraw), else
    /// `$COLUMNS`, else 80.
    /// - Returns: the number of columns, at least 20.
    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return max(20, Int(size.ws_col)) }
        return max(20, Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 80)
    }
}
