import Execution
import Subtests

// Subtests in the machine-readable reports: JSON, JUnit test cases of their own, TAP 14 subtests.
extension ReportWriter {
    /// `{"fail" : 1, "pass" : 3, "skip" : 0, "xfail" : 0}`, on one line: every subtest reported, those not kept too.
    static func subtestCountsJSON(_ counts: SubtestCounts) -> String {
        "{\"fail\" : \(counts.fail), \"pass\" : \(counts.pass), \"skip\" : \(counts.skip), \"xfail\" : \(counts.xfail)}"
    }

    /// A test's subtests in the order reported: each `{"name", "outcome", "reason"}` on one line (`reason` left out when none).
    static func subtestsJSON(_ subtests: [Subtest]) -> String {
        var text = "["
        for (index, subtest) in subtests.enumerated() {
            text += index == 0 ? "\n        " : ",\n        "
            text += "{\"name\" : " + string(subtest.name) + ", \"outcome\" : " + string(subtest.outcome.rawValue)
                + (subtest.reason.map { ", \"reason\" : " + string($0) } ?? "") + "}"
        }
        return text + "\n      ]"
    }

    /// A test's subtests as test cases of their own, after the test's: `classname` the test's id, `name` the
    /// subtest's; a failed one has a `failure` (type `subtest`, its reason), a skipped one and an expected failure
    /// (`xfail`) are `skipped` with theirs.
    static func junitSubtests(_ test: TestResult) -> String {
        var out = ""
        for subtest in test.subtests {
            out += "    <testcase name=\"\(xml(subtest.name))\" classname=\"\(xml(test.id))\" time=\"0\""
            switch subtest.outcome {
            case .pass:
                out += "/>\n"
            case .fail:
                let message = subtest.reason ?? "failed"
                out += ">\n      <failure type=\"subtest\" message=\"\(xml(message))\">\(xmlBody(message))</failure>\n    </testcase>\n"
            case .skip, .xfail:
                let message = (subtest.outcome == .xfail ? "expected failure" : "skip") + (subtest.reason.map { ": \($0)" } ?? "")
                out += ">\n      <skipped message=\"\(xml(message))\"/>\n    </testcase>\n"
            }
        }
        return out
    }

    /// A test's subtests as a TAP 14 subtest, indented 4 spaces: `# Subtest: ID`, `1..K`, then `ok`, `not ok` (with
    /// its reason in a YAML block), `# SKIP reason`, `not ok … # TODO reason` for an expected failure.
    static func tapSubtests(_ test: TestResult, name: String) -> String {
        var out = "    # Subtest: \(name)\n    1..\(test.subtests.count)\n"
        for (index, subtest) in test.subtests.enumerated() {
            let line = "\(index + 1) - \(tapName(subtest.name))"
            let reason = subtest.reason.map { " " + $0.replacingOccurrences(of: "\n", with: "; ").replacingOccurrences(of: "#", with: "\\#")
                .escapingControls } ?? ""
            switch subtest.outcome {
            case .pass: out += "    ok \(line)\n"
            case .skip: out += "    ok \(line) # SKIP\(reason)\n"
            case .xfail: out += "    not ok \(line) # TODO\(reason)\n"
            case .fail:
                out += "    not ok \(line)\n"
                if let message = subtest.reason { out += "      ---\n      message: \(yaml(message))\n      ...\n" }
            }
        }
        return out
    }
}
