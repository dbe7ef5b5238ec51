import Declarations
import Execution
import ProcessSupervision
import Foundation
import Requirements
import Results
import Subtests

/// Machine-readable renderings of a run: JSON (DESIGN.md's shape), JUnit XML
/// and TAP 13.
public enum ReportWriter {
    /// A time as every JSON answer writes it: ISO 8601 in UTC to the millisecond (`2026-11-30T09:01:02.120Z`), the
    /// fraction truncated; `report --json`, `runs --json`, `history --json` and the API share it, so one run's times
    /// are the same text everywhere.
    ///
    /// - Parameter date: the time, or nil.
    /// - Returns: the text, nil for nil.
    public static func iso8601(_ date: Date?) -> String? {
        date.map { isoStyle.format($0) }
    }

    static let isoStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func round(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }

    // MARK: - JSON

    /// `{"run": {...}, "tests": [...], "setups": [...]}` as DESIGN.md gives it,
    /// with more fields (exit status, log paths) besides; keys sorted, nil
    /// fields left out, as JSONEncoder would write it (but `run.running`:
    /// `null` when no `testbed run` still writes the run).
    ///
    /// - Parameter report: The run read back from the results database.
    /// - Returns: The whole JSON document as one string.
    public static func json(_ report: RunReport) -> String {
        collected { json(report, to: $0) }
    }

    /// All that a chunked writer writes, as one string (for small reports and tests).
    static func collected(_ writer: ((String) -> Void) -> Void) -> String {
        var text = ""
        writer { text += $0 }
        return text
    }

    /// The same, written in chunks: a report of 100,000 tests is never one string.
    ///
    /// - Parameters:
    ///   - report: The run read back from the results database.
    ///   - write: Called with each chunk in order; the chunks joined are what `json(_:)` returns. Not kept after the call.
    public static func json(_ report: RunReport, to write: (String) -> Void) {
        withoutActuallyEscaping(write) { writeJSON(report, to: $0) }
    }

    static func writeJSON(_ report: RunReport, to write: @escaping (String) -> Void) {
        var out = ChunkedOutput(write)
        let run = report.run
        let labels = nested(indent: "    ", run.labels.sorted { $0.key < $1.key }.map { ($0.key, string($0.value)) })
        let counts = nested(indent: "    ", run.countsByName.sorted { $0.key < $1.key }.map { ($0.key, String($0.value)) })
        out.append("{\n  \"run\" : ")
        object(&out, indent: "  ", [
            ("complete", bool(run.complete)), ("counts", counts), ("directory", string(run.directory)),
            ("duration", run.duration.map(number)), ("environment", string(run.environment)),
            ("exit_code", run.exitCode.map { String($0) }), ("finished", iso8601(run.finished).map(string)),
            ("halted_by", run.haltedBy.map(string)), ("host", run.host.map(string)), ("id", string(run.id)),
            ("interrupted", bool(run.interrupted)), ("labels", labels),
            ("machine_id", run.machineID.map(string)), ("recording_error", run.recordingError.map(string)),
            ("rerun_failures", run.rerunFailures.map { String($0) }), ("running", running(run)),
            ("snapshot", run.snapshot.map(string)), ("started", iso8601(run.started).map(string)), ("state", string(run.state.rawValue)),
            ("suite_commit", run.suiteCommit.map(string)), ("suite_dirty", run.suiteDirty.map(bool)),
            ("taint_at_start", run.taintAtStart.map(string)),
        ])
        out.append(",\n  \"setups\" : [")
        for (index, setup) in report.setups.enumerated() {
            out.append(index == 0 ? "\n    " : ",\n    ")
            object(&out, indent: "    ", [
                ("duration", number(round(setup.duration))), ("exit_status", setup.exitStatus.map { String($0) }),
                ("log", setup.logPath.map { string(run.directory + "/" + $0) }), ("name", string(setup.name)),
                ("outcome", string(setup.outcome.rawValue)), ("phase", string(setup.phase.rawValue)),
                ("reason", setup.reason.map(string)), ("test", setup.test.map(string)),
            ])
        }
        out.append(report.setups.isEmpty ? "\n\n  ]" : "\n  ]")
        out.append(",\n  \"tests\" : [")
        for (index, test) in report.tests.enumerated() {
            out.append(index == 0 ? "\n    " : ",\n    ")
            object(&out, indent: "    ", [
                ("attempts", test.attempts.isEmpty ? nil : attemptsJSON(test.attempts, directory: run.directory)),
                ("blocked_by", test.blockedBy.map(string)), ("duration", number(round(test.duration))),
                ("exit_status", test.exitStatus.map { String($0) }), ("flaky", test.flaky.map(flakyJSON)),
                ("id", string(test.id)), ("kernel_log", test.kernelLog.map(string)),
                ("log", test.logDirectory.map { string(run.directory + "/" + $0 + "/output.log") }),
                ("outcome", string(test.outcome.rawValue)), ("reason", test.reason.map(string)),
                ("signal", test.signal.map { String($0) }),
                ("subtest_counts", test.subtestCounts.map(subtestCountsJSON)),
                ("subtests", test.subtests.isEmpty ? nil : subtestsJSON(test.subtests)),
            ])
        }
        out.append(report.tests.isEmpty ? "\n\n  ]\n}\n" : "\n  ]\n}\n")
        out.flush()
    }

    /// `{"for_seconds": 12, "pid": 4242}` while a `testbed run` still holds
    /// the run (`for_seconds`: whole seconds since it started; `pid` left out
    /// when `/proc/locks` does not name it), `null` when none does.
    static func running(_ run: RunReport.Run) -> String {
        guard let holder = run.running else { return "null" }
        let seconds = max(0, Int(Date().timeIntervalSince(run.started)))
        return "{\n      \"for_seconds\" : \(seconds)" + (holder.pid.map { ",\n      \"pid\" : \($0)" } ?? "") + "\n    }"
    }

    /// `{"kind": "forgiven", "failures": 1, "window": 3, "threshold": 2}` or `{"kind": "rerun", "attempts": 2}`, on one line.
    static func flakyJSON(_ mark: FlakyMark) -> String {
        switch mark {
        case let .forgiven(failures, window, threshold):
            "{\"failures\" : \(failures), \"kind\" : \"forgiven\", \"threshold\" : \(threshold), \"window\" : \(window)}"
        case let .rerun(attempts):
            "{\"attempts\" : \(attempts), \"kind\" : \"rerun\"}"
        }
    }

    /// A test's earlier attempts, first first: each an object with its
    /// number (`attempt`, from 1) and the fields of a test's result.
    static func attemptsJSON(_ attempts: [TestAttempt], directory: String) -> String {
        var text = ""
        do {
            var out = ChunkedOutput { text += $0 }
            out.append("[")
            for (index, attempt) in attempts.enumerated() {
                out.append(index == 0 ? "\n        " : ",\n        ")
                object(&out, indent: "        ", [
                    ("attempt", String(index + 1)), ("duration", number(round(attempt.duration))),
                    ("exit_status", attempt.exitStatus.map { String($0) }),
                    ("log", attempt.logDirectory.map { string(directory + "/" + $0 + "/output.log") }),
                    ("outcome", string(attempt.outcome.rawValue)), ("reason", attempt.reason.map(string)),
                    ("signal", attempt.signal.map { String($0) }), ("started", iso8601(attempt.started).map(string)),
                ])
            }
            out.append("\n      ]")
            out.flush()
        }
        return text
    }

    static func object(_ out: inout ChunkedOutput, indent: String, _ fields: [(String, String?)]) {
        out.append("{")
        var first = true
        for (key, value) in fields {
            guard let value else { continue }
            out.append(first ? "\n" : ",\n")
            out.append(indent + "  \"" + key + "\" : " + value)
            first = false
        }
        out.append("\n" + indent + "}")
    }

    /// An object as a value of another (`{}` when empty), its keys at `indent` + 2 spaces.
    static func nested(indent: String, _ fields: [(String, String)]) -> String {
        guard !fields.isEmpty else { return "{}" }
        var text = ""
        var out = ChunkedOutput { text += $0 }
        object(&out, indent: indent, fields.map { ($0.0, $0.1) })
        out.flush()
        return text
    }

    static func bool(_ value: Bool) -> String { value ? "true" : "false" }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A JSON string literal; `/` stays as it is. Every character
    /// `isUnprintable` names (C0 and C1 controls, DEL, bidirectional
    /// controls, invisible format characters, U+2028/U+2029) is written
    /// `\uXXXX` (`jsonEscaped`: a surrogate pair beyond U+FFFF): the same
    /// string to a JSON reader, nothing raw for a terminal that shows the file.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if isUnprintable(scalar) { out += jsonEscaped(scalar) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    // MARK: - JUnit

    /// Text for an XML attribute or element: escaped, and without the control
    /// characters XML 1.0 forbids; the others `isUnprintable` names (DEL, C1
    /// controls, bidirectional controls, U+2028/U+2029) become `?` too.
    /// `body`: for the body of an element (a `failure`, a `system-out`):
    /// quotes stay as they are, newlines are kept, and a carriage return
    /// becomes `?` (a reader would make it a newline).
    static func xml(_ text: String, body: Bool = false) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where !body: out += "&quot;"
            case "'" where !body: out += "&apos;"
            case "\n": if body { out.unicodeScalars.append(scalar) } else { out += "&#10;" }
            case "\r" where body: out += "?"
            case "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                if isUnprintable(scalar) || scalar.value == 0xFFFE || scalar.value == 0xFFFF { out += "?" }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// Text for the body of an element: `xml(_:body:)` with `body: true`.
    static func xmlBody(_ text: String) -> String { xml(text, body: true) }

    /// How many of a log's last lines a JUnit `failure` or `error` body, and
    /// the `system-out` beside it, hold (each line cut at 300 characters, so
    /// at most about 15 KB a test).
    static let junitTailLines = 50

    /// The close of a `failure` or `error` element that has a body, and the
    /// `system-out` after it: the body is `reason`, then (when the log
    /// `relative` below `directory` has lines) a blank line, its last
    /// `junitTailLines` lines and the log's path (" (not there)" as the
    /// text report says it); `system-out` holds those lines alone. Nil `relative` (nothing ran): the body is the reason alone.
    static func junitBody(_ element: String, reason: String, directory: String, log relative: String?) -> String {
        let lines = relative.map { LogTail.lines(inRun: directory, log: $0, count: junitTailLines) } ?? []
        var body = reason
        if let relative { body += "\n\n" + logLines(lines, directory: directory, log: relative) }
        var out = ">" + xmlBody(body) + "</" + element + ">\n"
        if !lines.isEmpty { out += "      <system-out>" + xmlBody(lines.joined(separator: "\n") + "\n") + "</system-out>\n" }
        return out
    }

    /// `lines`, each ending in a newline, then `log: PATH` (with " (not
    /// there)" as the text report says it), without a final newline.
    static func logLines(_ lines: [String], directory: String, log relative: String) -> String {
        let absence = LogTail.absence(inRun: directory, log: relative).map { " (\($0))" } ?? ""
        return lines.map { $0 + "\n" }.joined() + "log: " + directory + "/" + relative + absence
    }

    /// How many of the blocking setup's last log lines a blocked test's
    /// `error` body holds: fewer than the setup's own `testcase` has
    /// (`junitTailLines`), as one setup may block thousands of tests.
    static let junitBlockedTailLines = 10

    /// The setup `test` is blocked by (its `blockedBy`), as the run
    /// recorded it: for a `scope: test` setup, the one run for this test;
    /// a failed one before one that ran (a setup that ran and broke its
    /// promise); nil when what blocked it is no setup (`results disk`, `testbed`).
    static func blockingSetup(of test: TestResult, in setups: [SetupResult]) -> SetupResult? {
        guard let name = test.blockedBy else { return nil }
        let candidates = setups.filter { $0.name == name && $0.phase != .teardown && ($0.test == nil || $0.test == test.id) }
        return candidates.first { $0.outcome.isInfrastructureFailure && $0.test == test.id }
            ?? candidates.first(where: \.outcome.isInfrastructureFailure) ?? candidates.first
    }

    /// What a blocked test's `error` body says after its message, when a
    /// setup blocked it: a blank line, that setup's label, outcome and
    /// reason, the last `junitBlockedTailLines` lines of its log and the
    /// log's path; empty when no setup did.
    static func blockedDetail(setup: SetupResult?, directory: String) -> String {
        guard let setup else { return "" }
        let what = switch setup.phase {
        case .setup: "setup \(setup.label)"
        case .restore: "the environment's restore"
        case .health: "the host's health"
        case .teardown: setup.label
        }
        var body = "\n\n" + what + " " + setup.outcome.rawValue + (setup.reason.map { " (\($0))" } ?? "")
        if let log = setup.logPath {
            body += "\n" + logLines(LogTail.lines(inRun: directory, log: log, count: junitBlockedTailLines), directory: directory, log: log)
        }
        return body
    }

    /// One `testcase` per test: failures as `failure`, blocked tests and tests
    /// that could not start as `error` (a blocked test's message names the
    /// setup; its body adds that setup's outcome, reason and last log lines,
    /// `blockedDetail`), skipped, unsupported and interrupted ones as `skipped`. Infrastructure failures
    /// also appear as errors of a second suite, `testbed.setups`. A failure,
    /// a timeout, a test that could not start and an infrastructure failure
    /// have a body (the reason, the last `junitTailLines` lines of the log
    /// and its path) and a `system-out` with those lines, so CI pages
    /// (GitLab, Jenkins) show what the step printed last.
    ///
    /// - Parameter report: The run read back from the results database.
    /// - Returns: The whole JUnit XML document as one string (durations in seconds, as JUnit's `time` attributes are).
    public static func junit(_ report: RunReport) -> String {
        collected { junit(report, to: $0) }
    }

    /// The same, written in chunks.
    ///
    /// - Parameters:
    ///   - report: The run read back from the results database.
    ///   - write: Called with each chunk in order; the chunks joined are what `junit(_:)` returns. Not kept after the call.
    public static func junit(_ report: RunReport, to write: (String) -> Void) {
        withoutActuallyEscaping(write) { writeJUnit(report, to: $0) }
    }

    static func writeJUnit(_ report: RunReport, to write: @escaping (String) -> Void) {
        var out = ChunkedOutput(write)
        let counts = report.counts
        // A failure the flaky policy forgave is `skipped` (the run's exit code does not count it).
        let forgiven = report.forgivenFailures
        let failures = (counts[.fail] ?? 0) + (counts[.timeout] ?? 0) - forgiven.filter { $0.outcome != .error }.count
        let errors = (counts[.error] ?? 0) + (counts[.blocked] ?? 0) - forgiven.filter { $0.outcome == .error }.count
        let skipped = (counts[.skip] ?? 0) + (counts[.unsupported] ?? 0) + (counts[.interrupted] ?? 0) + forgiven.count
        let time = report.tests.reduce(0) { $0 + $1.duration }
        let setupFailures = report.infrastructureFailures
        // Each kept subtest is a test case of its own (classname: its test's id).
        let subtests = SubtestCounts(report.tests.lazy.flatMap(\.subtests))
        let (allTests, allFailures, allSkipped) = (report.tests.count + subtests.total, failures + subtests.fail,
                                                   skipped + subtests.skip + subtests.xfail)
        out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"testbed\" tests=\"\(allTests + report.setups.count)\" failures=\"\(allFailures)\" "
            + "errors=\"\(errors + setupFailures.count)\" skipped=\"\(allSkipped)\" time=\"\(round(time))\">\n"
        out += "  <testsuite name=\"testbed.\(xml(report.run.environment))\" tests=\"\(allTests)\" failures=\"\(allFailures)\" "
            + "errors=\"\(errors)\" skipped=\"\(allSkipped)\" time=\"\(round(time))\" timestamp=\"\(xml(iso8601(report.run.started) ?? ""))\">\n"
        out += "    <properties>\n"
        out += "      <property name=\"run\" value=\"\(xml(report.run.id))\"/>\n"
        out += "      <property name=\"environment\" value=\"\(xml(report.run.environment))\"/>\n"
        out += "      <property name=\"complete\" value=\"\(report.run.complete)\"/>\n"
        out += "    </properties>\n"
        let setupNames = Set(report.setups.map(\.name))
        var blockedDetails: [String: String] = [:]
        for test in report.tests {
            defer { if !test.subtests.isEmpty { out += junitSubtests(test) } }
            out += "    <testcase name=\"\(xml(test.id))\" classname=\"\(xml(classname(test.id)))\" time=\"\(round(test.duration))\""
            let reason = xml(test.reason ?? test.outcome.rawValue)
            switch test.outcome {
            case .pass where !test.attempts.isEmpty:
                // Surefire's convention (Jenkins reads it): a pass after failed attempts is flaky.
                out += ">\n" + junitAttempts(test.attempts, flaky: true, directory: report.run.directory) + "    </testcase>\n"
            case .pass:
                out += "/>\n"
            case .fail, .timeout, .error:
                if case let .forgiven(failures, window, threshold)? = test.flaky {
                    // Not red on a CI page: the run's exit code does not count it (docs/README.md, Decisions).
                    let message = "flaky failure forgiven: \(test.outcome.rawValue) (\(failures) of the last \(window), threshold \(threshold))"
                        + (test.reason.map { ": \($0)" } ?? "")
                    out += ">\n      <skipped message=\"\(xml(message))\"/>\n"
                    let lines = test.logDirectory.map { LogTail.lines(inRun: report.run.directory, log: $0 + "/output.log", count: junitTailLines) } ?? []
                    if !lines.isEmpty { out += "      <system-out>" + xmlBody(lines.joined(separator: "\n") + "\n") + "</system-out>\n" }
                    out += "    </testcase>\n"
                    continue
                }
                let element = test.outcome == .error ? "error" : "failure"
                out += ">\n      <\(element) type=\"\(test.outcome.rawValue)\" message=\"\(reason)\""
                out += junitBody(element, reason: test.reason ?? test.outcome.rawValue, directory: report.run.directory,
                                 log: test.logDirectory.map { $0 + "/output.log" })
                out += junitAttempts(test.attempts, flaky: false, directory: report.run.directory)
                out += "    </testcase>\n"
            case .blocked:
                // A setup by name, or what else blocked it (`results disk`, `testbed`).
                let blocker = test.blockedBy.map { setupNames.contains($0) ? "setup \($0)" : $0 } ?? "setup ?"
                let message = "blocked by \(blocker): \(test.reason ?? "")"
                let setup = blockingSetup(of: test, in: report.setups)
                // One setup may block thousands of tests: its part of the body is made once.
                let key = setup.map { "\($0.name)\u{0}\($0.test ?? "")\u{0}\($0.phase.rawValue)" }
                let detail = key.flatMap { blockedDetails[$0] } ?? blockedDetail(setup: setup, directory: report.run.directory)
                if let key { blockedDetails[key] = detail }
                out += ">\n      <error type=\"blocked\" message=\"\(xml(message))\">\(xmlBody(message + detail))</error>\n    </testcase>\n"
            case .skip, .unsupported, .interrupted:
                out += ">\n      <skipped message=\"\(xml(test.outcome.rawValue + ": " + (test.reason ?? "")))\"/>\n    </testcase>\n"
            }
        }
        out += "  </testsuite>\n"
        out += "  <testsuite name=\"testbed.setups\" tests=\"\(report.setups.count)\" failures=\"0\" "
            + "errors=\"\(setupFailures.count)\" skipped=\"0\" time=\"\(round(report.setups.reduce(0) { $0 + $1.duration }))\">\n"
        for setup in report.setups {
            out += "    <testcase name=\"\(xml(setup.label))\" classname=\"testbed.setups\" time=\"\(round(setup.duration))\""
            if setup.outcome.isInfrastructureFailure {
                let blocked = report.blocked(by: setup.name).count
                let message = "infrastructure failure: \(setup.label) \(setup.outcome.rawValue)"
                    + (setup.reason.map { " (\($0))" } ?? "") + (blocked > 0 ? "; blocked \(blocked) test\(blocked == 1 ? "" : "s")" : "")
                out += ">\n      <error type=\"infrastructure\" message=\"\(xml(message))\""
                out += junitBody("error", reason: message, directory: report.run.directory, log: setup.logPath) + "    </testcase>\n"
            } else {
                out += "/>\n"
            }
        }
        out += "  </testsuite>\n</testsuites>\n"
        out.flush()
    }

    /// A test's earlier attempts as surefire writes reruns: `flakyFailure` /
    /// `flakyError` in a test that passed in the end (`flaky`), `rerunFailure`
    /// / `rerunError` in one that failed every attempt; each with `message`
    /// and `type`, a `stackTrace` (the reason and the log's last lines and
    /// path) and a `system-out` (those lines).
    static func junitAttempts(_ attempts: [TestAttempt], flaky: Bool, directory: String) -> String {
        var out = ""
        for (index, attempt) in attempts.enumerated() {
            let element = (flaky ? "flaky" : "rerun") + (attempt.outcome == .error ? "Error" : "Failure")
            let reason = "attempt \(index + 1): " + (attempt.reason ?? attempt.outcome.rawValue)
            let relative = attempt.logDirectory.map { $0 + "/output.log" }
            let lines = relative.map { LogTail.lines(inRun: directory, log: $0, count: junitTailLines) } ?? []
            var trace = reason
            if let relative { trace += "\n\n" + lines.map { $0 + "\n" }.joined() + "log: " + directory + "/" + relative }
            out += "      <\(element) type=\"\(attempt.outcome.rawValue)\" message=\"\(xml(reason))\">\n"
            out += "        <stackTrace>" + xmlBody(trace) + "</stackTrace>\n"
            if !lines.isEmpty { out += "        <system-out>" + xmlBody(lines.joined(separator: "\n") + "\n") + "</system-out>\n" }
            out += "      </\(element)>\n"
        }
        return out
    }

    /// `/migration/precopy/tcp` → `migration.precopy`.
    static func classname(_ id: String) -> String {
        let parts = id.split(separator: "/").dropLast()
        return parts.isEmpty ? "testbed" : "testbed." + parts.joined(separator: ".")
    }

    // MARK: - TAP

    /// TAP version 13: `ok` for passes and skips (`# SKIP` for skipped,
    /// unsupported and interrupted tests), `not ok` for test failures and for
    /// blocked tests, each with a YAML block saying why. When a test has
    /// subtests, the stream is TAP version 14 and they come before its line as
    /// an indented subtest (`# Subtest: ID`, its plan, a test point each).
    ///
    /// - Parameter report: The run read back from the results database.
    /// - Returns: The TAP stream: the version line, the plan `1..N`, and one numbered line per test in the report's order.
    public static func tap(_ report: RunReport) -> String {
        let version = report.tests.contains { !$0.subtests.isEmpty } ? 14 : 13
        var out = "TAP version \(version)\n1..\(report.tests.count)\n"
        for (index, test) in report.tests.enumerated() {
            let number = index + 1
            let name = tapName(test.id)
            if !test.subtests.isEmpty { out += tapSubtests(test, name: name) }
            let reason = (test.reason ?? "").replacingOccurrences(of: "\n", with: "; ").replacingOccurrences(of: "#", with: "\\#")
                .escapingControls
            if case let .forgiven(failures, window, threshold)? = test.flaky, test.outcome.isTestFailure {
                // TAP's "a failure that does not count".
                out += "not ok \(number) - \(name) # TODO flaky: forgiven (\(failures) of the last \(window), threshold \(threshold))\n"
                out += "  ---\n  outcome: \(test.outcome.rawValue)\n"
                if let reason = test.reason { out += "  message: \(yaml(reason))\n" }
                out += "  duration_ms: \(Int((test.duration * 1000).rounded()))\n  ...\n"
                continue
            }
            switch test.outcome {
            case .pass where !test.attempts.isEmpty:
                out += "ok \(number) - \(name)\n"
                out += "  ---\n  flaky: \(yaml(test.flaky?.words(rerunFailures: report.run.rerunFailures) ?? "flaky"))\n"
                out += "  attempts: \(test.attempts.count + 1)\n"
                for (index, attempt) in test.attempts.enumerated() {
                    out += "  attempt_\(index + 1): \(yaml(attempt.outcome.rawValue + (attempt.reason.map { ": " + $0 } ?? "")))\n"
                }
                out += "  ...\n"
            case .pass:
                out += "ok \(number) - \(name)\n"
            case .skip, .unsupported, .interrupted:
                out += "ok \(number) - \(name) # SKIP \(test.outcome.rawValue)\(reason.isEmpty ? "" : ": " + reason)\n"
            case .fail, .timeout, .error, .blocked:
                out += "not ok \(number) - \(name)\n"
                out += "  ---\n"
                out += "  outcome: \(test.outcome.rawValue)\n"
                if let blocked = test.blockedBy { out += "  blocked_by: \(yaml(blocked))\n" }
                if let reason = test.reason { out += "  message: \(yaml(reason))\n" }
                out += "  duration_ms: \(Int((test.duration * 1000).rounded()))\n"
                out += "  ...\n"
            }
        }
        return out
    }

    /// A name for a TAP description: `\` and `#` escaped, on one line, controls escaped.
    static func tapName(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "#", with: "\\#")
            .replacingOccurrences(of: "\n", with: " ").escapingControls
    }

    /// A YAML scalar in double quotes; every character `isUnprintable` names
    /// escaped (`\x1B`, `\u202E`, `\U000E0001`), as YAML reads it back.
    static func yaml(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value <= 0xFF && isUnprintable(scalar) { out += String(format: "\\x%02X", scalar.value) }
                else if scalar.value <= 0xFFFF && isUnprintable(scalar) { out += String(format: "\\u%04X", scalar.value) }
                else if isUnprintable(scalar) { out += String(format: "\\U%08X", scalar.value) }
                else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// Text written in chunks of about 64 KiB.
struct ChunkedOutput {
    let write: (String) -> Void
    var buffer = ""

    init(_ write: @escaping (String) -> Void) {
        self.write = write
    }

    mutating func append(_ text: String) {
        buffer += text
        if buffer.utf8.count >= 65536 { flush() }
    }

    static func += (output: inout ChunkedOutput, text: String) {
        output.append(text)
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        write(buffer)
        buffer = ""
    }
}
