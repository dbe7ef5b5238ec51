import Results

/// The formats a run is written in: `testbed report --format NAME` (and
/// `--json`, `--junit`, `--tap`), `testbed run --json`, and the
/// `report.json` and `junit.xml` kept in each run directory. Every format
/// renders the same `RunReport`, whether read back from the store or
/// handed over by the recorder as the run ends.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// For a person: counts, test failures, infrastructure failures apart (`TextReport`).
    case text
    /// DESIGN.md's shape: `{"run": {...}, "tests": [...], "setups": [...]}` (`ReportWriter.json`).
    case json
    /// JUnit XML: one testcase per test, blocked tests as errors naming the setup (`ReportWriter.junit`).
    case junit
    /// TAP version 13 (`ReportWriter.tap`).
    case tap

    /// The report as one string (for small reports and tests).
    ///
    /// - Parameters:
    ///   - report: the run.
    ///   - color: ANSI colours (text only).
    /// - Returns: the whole rendering.
    public func render(_ report: RunReport, color: Bool = false) -> String {
        var text = ""
        write(report, color: color) { text += $0 }
        return text
    }

    /// The report written in chunks of about 64 KiB where the format allows
    /// (JSON, JUnit): a report of 100,000 tests is never one string.
    ///
    /// - Parameters:
    ///   - report: the run.
    ///   - color: ANSI colours (text only).
    ///   - write: called with each chunk, in order.
    public func write(_ report: RunReport, color: Bool = false, to write: (String) -> Void) {
        switch self {
        case .text: write(TextReport(report, color: color).render())
        case .json: ReportWriter.json(report, to: write)
        case .junit: ReportWriter.junit(report, to: write)
        case .tap: write(ReportWriter.tap(report))
        }
    }
}
