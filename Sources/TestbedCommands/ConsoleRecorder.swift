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
    var done = 0
    var failures = 0
    var infrastructure = 0
    /// The steps running now, in the order they started.
    var running: [Running] = []
    /// Tests an interrupt or a halt kept from starting, by reason, in order:
    /// one line each reason at the end, not one line per test.
    var neverStarted: [(reason: String, ids: [String])] = []
    var lastDraw = ContinuousClock.now - .seconds(1)
    var drawn = false

    init(style: Style, live: Bool, quiet: Bool, suite: String? = nil) {
        self.style = style
        self.live = live
        self.quiet = quiet
        self.suite = suite
    }

    func record(_ event: RunEvent) async {
        switch event {
        case .started(let info):
            total = info.tests.count
            done = info.decided.count
            let unsupported = info.decided.count
            write("testbed: run \(info.id) on \(info.environment)\(suite.map { ", \($0)" } ?? ""): \(info.tests.count) test\(info.tests.count == 1 ? "" : "s")"
                  + (unsupported > 0 ? " (\(unsupported) unsupported here)" : "") + ", -j \(info.jobs)\n")
        case let .stepStarted(id, kind, _):
            running.append(Running(id: id, kind: kind))
            draw()
        case let .testFinished(result, step):
            done += 1
            remove(step)
            if result.outcome.isTestFailure { failures += 1 }
            if result.outcome == .interrupted, result.started == nil {
                let reason = result.reason ?? ""
                if let index = neverStarted.firstIndex(where: { $0.reason == reason }) {
                    neverStarted[index].ids.append(result.id)
                } else {
                    neverStarted.append((reason, [result.id]))
                }
            } else if (!live && !quiet) || result.outcome != .pass {
                var line = "\(Self.mark(result.outcome, style)) \(result.id)"
                if result.duration > 0 { line += style.dim(String(format: " (%.2f s)", result.duration)) }
                if result.outcome != .pass, let reason = result.reason?.split(separator: "\n").first {
                    line += "  " + reason.escapingControls
                }
                print(line)
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

    /// Redraws the progress line, at most ten times a second.
    func draw() {
        guard live else { return }
        let now = ContinuousClock.now
        guard now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        var line = "[\(done)/\(total)]"
        if failures > 0 { line += " " + style.red("\(failures) failed") }
        if infrastructure > 0 { line += " " + style.red("\(infrastructure) infra") }
        if !running.isEmpty {
            let names = running.prefix(3).map(\.name).joined(separator: ", ") + (running.count > 3 ? " +\(running.count - 3)" : "")
            line += " running: " + names
        }
        let width = Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 120
        if line.count > width { line = String(line.prefix(width - 1)) + "…" }
        writeText("\r\u{1B}[2K\(line)", to: STDERR_FILENO)
        drawn = true
    }
}
