import Declarations
import Execution
import ProcessSupervision
import Foundation
import Requirements
import Results

/// A run as text for a person: counts, test failures (each with the last
/// lines of its output and the log's path), and infrastructure failures in a
/// section of their own (the setup, its exit status, the last lines of its
/// log, the log's path, and the tests it blocked).
public struct TextReport {
    /// The run to show.
    public let report: RunReport
    /// ANSI colours (off for pipes and with NO_COLOR).
    public let color: Bool
    /// How many log lines to show for each failed, timed-out or unstartable
    /// test and for each infrastructure failure.
    public var tailLines = 8

    /// - Parameters:
    ///   - report: the run to show.
    ///   - color: whether to colour outcomes with ANSI escapes.
    public init(_ report: RunReport, color: Bool) {
        self.report = report
        self.color = color
    }

    var style: Style { Style(enabled: color) }
    func bold(_ text: String) -> String { style.bold(text) }
    func red(_ text: String) -> String { style.red(text) }
    func yellow(_ text: String) -> String { style.yellow(text) }
    func green(_ text: String) -> String { style.green(text) }
    func dim(_ text: String) -> String { style.dim(text) }

    /// A path as short as it can be shown: relative to the working directory when below it.
    func shown(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        if path.hasPrefix(cwd + "/") { return String(path.dropFirst(cwd.count + 1)) }
        return path
    }

    /// " (not there)" when the log `relative` is not in the run directory
    /// (a step deleted or moved it; `recording:` says when the run
    /// directory went), " (not a regular file)" when a step put a link or a
    /// FIFO in its place: the path shown is where it was written.
    func missing(_ relative: String) -> String {
        LogTail.absence(inRun: report.run.directory, log: relative).map { " (\($0))" } ?? ""
    }

    /// The last `tailLines` lines of the log `relative` (below the run
    /// directory), each after `      | ` (made printable and cut at 300
    /// characters by `LogTail.lines`), then the log's path.
    ///
    /// A run of another host whose log is not here (its results directory is not shared with this host): only
    /// where the log is, `      log on HOST: PATH`.
    func tail(_ relative: String) -> String {
        if !report.run.ranHere, let host = report.run.host, LogTail.absence(inRun: report.run.directory, log: relative) != nil {
            return dim("      log on \(host): \(report.run.directory + "/" + relative)") + "\n"
        }
        var out = ""
        for line in LogTail.lines(inRun: report.run.directory, log: relative, count: tailLines) { out += dim("      | ") + line + "\n" }
        return out + dim("      log: \(shown(report.run.directory + "/" + relative))" + missing(relative)) + "\n"
    }

    /// A failed test's kernel log (`kmsg.log`): its first `tailLines` records
    /// after `      kmsg | `, how many more, and the file's path; empty when it has none.
    func kernelLog(_ test: TestResult) -> String {
        guard let text = test.kernelLog, let directory = test.logDirectory else { return "" }
        let records = text.split(separator: "\n").filter { !$0.hasPrefix("# ") }
        var out = ""
        for line in records.prefix(tailLines) { out += dim("      kmsg | ") + LogTail.printable(String(line), limit: 300) + "\n" }
        if records.count > tailLines { out += dim("      kmsg | … \(records.count - tailLines) more") + "\n" }
        let relative = directory + "/kmsg.log"
        return out + dim("      kernel log: \(shown(report.run.directory + "/" + relative))" + missing(relative)) + "\n"
    }

    /// How many failed subtests a failure shows under it, at most.
    static let shownSubtests = 20

    /// A test's failed subtests, one a line under it (`      ✗ subtest name  reason`), at most `shownSubtests`, then how many more.
    func failedSubtests(_ test: TestResult) -> String {
        let failed = test.subtests.filter { $0.outcome == .fail }
        let total = test.subtestCounts?.fail ?? failed.count
        guard total > 0 else { return "" }
        var out = ""
        for subtest in failed.prefix(Self.shownSubtests) {
            // A reason that only repeats the name (kvm-unit-tests' `FAIL: name` line) is not shown again.
            let reason = subtest.reason.flatMap { $0.hasSuffix(subtest.name) ? nil : $0 }
            out += "      " + red("✗") + " subtest " + subtest.name.escapingControls
                + (reason.map { "  " + dim($0.escapingControls) } ?? "") + "\n"
        }
        let more = total - min(failed.count, Self.shownSubtests)
        if more > 0 { out += "      … and \(more) more failed subtest\(more == 1 ? "" : "s")\n" }
        return out
    }

    /// The report as `testbed report` (and `testbed run`, at its end) prints it.
    /// - Returns: lines ending in newlines: the run's header, its verdicts,
    ///   test failures and infrastructure failures with their log tails, and the summary.
    public func render() -> String {
        var out = ""
        let run = report.run
        let counts = report.counts
        let duration = run.finished.map { $0.timeIntervalSince(run.started) }
        out += bold("run \(run.id)") + " on \(run.environment)"
        out += duration.map { String(format: ", %.1f s", $0) } ?? ""
        if !run.complete {
            out += run.interrupted ? " " + yellow("(interrupted)") : " " + yellow(run.runningNote ?? "(incomplete: testbed stopped before the "
                + "run finished, or could not record its end)")
        }
        out += "\n"
        if !run.labels.isEmpty {
            out += "labels: " + run.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)".escapingControls }.joined(separator: " ") + "\n"
        }
        if let trouble = run.recordingError { out += yellow("recording: \(trouble.escapingControls)") + "\n" }
        if let taint = run.taintAtStart {
            out += yellow("kernel: already tainted (\(taint.escapingControls)) before the run; not blamed on any test") + "\n"
        }

        let failures = report.countedFailures
        if !failures.isEmpty {
            out += "\n" + red("test failures (\(failures.count))") + "\n"
            for test in failures {
                let tries = test.attempts.isEmpty ? "" : dim(" (failed all \(test.attempts.count + 1) attempts)")
                out += "  \(test.id.escapingControls)  \(red(test.outcome.rawValue))" + tries
                    + (test.reason.map { "  \($0.escapingControls)" } ?? "") + "\n"
                out += failedSubtests(test)
                if let directory = test.logDirectory {
                    out += tail(directory + "/output.log")
                }
                out += kernelLog(test)
            }
        }
        out += flakySection()

        let infrastructure = report.infrastructureFailures
        if !infrastructure.isEmpty {
            out += "\n" + red("infrastructure failures (\(infrastructure.count)): the lab, not the code") + "\n"
            for setup in infrastructure {
                out += "  \(setup.phase == .setup ? "setup" : setup.phase.rawValue) \(bold(setup.name))"
                    + (setup.test.map { " [\($0)]" } ?? "") + "  \(red(setup.outcome.rawValue))"
                    + (setup.reason.map { "  \($0.escapingControls)" } ?? "") + "\n"
                if let log = setup.logPath { out += tail(log) }
                let blocked = report.blocked(by: setup.name)
                if !blocked.isEmpty {
                    let names = blocked.prefix(10).map(\.id).joined(separator: ", ")
                    out += "      blocked \(blocked.count) test\(blocked.count == 1 ? "" : "s"): \(names)"
                        + (blocked.count > 10 ? ", …" : "") + "\n"
                }
            }
        }

        let blockedElsewhere = report.tests.filter { test in
            test.outcome == .blocked && !infrastructure.contains { $0.name == test.blockedBy }
        }
        if !blockedElsewhere.isEmpty {
            out += "\n" + yellow("blocked (\(blockedElsewhere.count))") + "\n"
            for test in blockedElsewhere { out += "  \(test.id.escapingControls)  \((test.reason ?? "").escapingControls)\n" }
        }

        // The reasons recorded with the run (one unmet requirement a line),
        // not today's host: as `check` lays them out.
        let unsupported = report.tests.filter { $0.outcome == .unsupported }
        if !unsupported.isEmpty {
            out += "\n" + dim("unsupported (\(unsupported.count))") + "\n"
            for test in unsupported {
                out += "  \(test.id.escapingControls)\n"
                for reason in (test.reason ?? "").split(separator: "\n") { out += "      \(reason.escapingControls)\n" }
            }
        }
        // Grouped by reason: the tests (the first three, then how many more) and why, said once.
        let notRun = report.tests.filter { $0.outcome == .interrupted }
        if !notRun.isEmpty {
            out += "\n" + yellow("not run (\(notRun.count))") + "\n"
            var groups: [(reason: String, ids: [String])] = []
            for test in notRun {
                let reason = Self.notRunReason(test.reason)
                if let index = groups.firstIndex(where: { $0.reason == reason }) {
                    groups[index].ids.append(test.id)
                } else {
                    groups.append((reason, [test.id]))
                }
            }
            for (reason, ids) in groups {
                let names = ids.prefix(3).map(\.escapingControls).joined(separator: ", ") + (ids.count > 3 ? " +\(ids.count - 3)" : "")
                out += "  \(names)" + (reason.isEmpty ? "" : "  \(reason.escapingControls)") + "\n"
            }
        }

        var parts: [String] = []
        let forgiven = report.forgivenFailures
        let reruns = report.rerunPasses.count
        for outcome in TestOutcome.allCases {
            let excused = outcome.isTestFailure ? forgiven.filter { $0.outcome == outcome }.count : 0
            guard let all = counts[outcome], case let count = all - excused, count > 0 else { continue }
            let text = "\(count) \(Self.words[outcome]!)"
            switch outcome {
            // A rerun pass is one of the passes, counted once: `1 passed (1 flaky: passed on a rerun)`.
            case .pass: parts.append(green(text) + (reruns > 0 ? " " + yellow("(\(reruns) flaky: passed on a rerun)") : ""))
            case .fail, .timeout, .error: parts.append(red(text))
            case .blocked: parts.append(yellow(text))
            default: parts.append(text)
            }
        }
        if !forgiven.isEmpty {
            parts.append(yellow("\(forgiven.count) flaky failure\(forgiven.count == 1 ? "" : "s") forgiven"))
        }
        if !infrastructure.isEmpty {
            parts.append(red("\(infrastructure.count) infrastructure failure\(infrastructure.count == 1 ? "" : "s")"))
        }
        out += "\n" + (parts.isEmpty ? "no tests" : parts.joined(separator: ", "))
        if let code = run.exitCode, run.finished != nil { out += dim(" — exit \(code)") }
        out += "\n"
        return out
    }

    /// Failures the flaky policy forgave (each with its log's tail: it did
    /// fail) and passes on a rerun (with how each earlier attempt ended), in a
    /// section of their own: neither counts toward the exit code.
    func flakySection() -> String {
        let forgiven = report.forgivenFailures
        let reruns = report.rerunPasses
        guard !forgiven.isEmpty || !reruns.isEmpty else { return "" }
        var out = "\n" + yellow("flaky (\(forgiven.count + reruns.count)): not counted in the exit code") + "\n"
        for test in forgiven {
            let words = test.flaky?.words(rerunFailures: report.run.rerunFailures) ?? "flaky"
            var threshold = ""
            if case let .forgiven(_, _, k)? = test.flaky { threshold = ", threshold \(k)" }
            out += "  \(test.id.escapingControls)  \(yellow(test.outcome.rawValue)) (\(words)\(threshold))"
                + (test.reason.map { "  \($0.escapingControls)" } ?? "") + "\n"
            if let directory = test.logDirectory { out += tail(directory + "/output.log") }
        }
        for test in reruns {
            let words = test.flaky?.words(rerunFailures: report.run.rerunFailures) ?? "flaky"
            out += "  \(test.id.escapingControls)  \(green(test.outcome.rawValue)) (\(words))\n"
            for (index, attempt) in test.attempts.enumerated() {
                out += dim("      attempt \(index + 1): ") + attempt.outcome.rawValue
                    + (attempt.reason.map { "  \($0.escapingControls)" } ?? "")
                    + (attempt.logDirectory.map { dim("  log: \(shown(report.run.directory + "/" + $0 + "/output.log"))") } ?? "") + "\n"
            }
        }
        return out
    }

    /// A not-run test's reason under the `not run (N)` heading: without its own leading `not run: `.
    /// - Parameter reason: The test's reason.
    /// - Returns: The reason to show; empty when there is none.
    static func notRunReason(_ reason: String?) -> String {
        let reason = reason ?? ""
        return reason.hasPrefix("not run: ") ? String(reason.dropFirst("not run: ".count)) : reason
    }

    static let words: [TestOutcome: String] = [
        .pass: "passed", .fail: "failed", .timeout: "timed out", .error: "could not start", .skip: "skipped",
        .unsupported: "unsupported", .blocked: "blocked by infrastructure", .interrupted: "not run",
    ]
}
