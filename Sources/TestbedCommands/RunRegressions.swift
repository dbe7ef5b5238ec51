import Execution
import Foundation
import History
import Reporting
import Results

/// The end of `testbed run`: the tests that regressed against the earlier
/// runs on the same host and environment, each with what changed since it last passed.
enum RunRegressions {
    /// How many regressions get a line of what changed (the rest: `testbed why`).
    static let explained = 5

    /// `regressions (passed the last time they ran on this host and environment): /a, /b` and one
    /// line of what changed for each (at most `explained`); empty when there
    /// is none, no comparable earlier run, or the store cannot say. A failure the flaky policy forgave is
    /// no regression (the summary lists it as forgiven). Only for
    /// a run recorded without trouble (the caller checks `recordingError`):
    /// after trouble the results directory may not be the one the run wrote.
    ///
    /// - Parameters:
    ///   - report: the run that just ended (its host, environment and start as recorded).
    ///   - store: the store it was recorded in.
    ///   - style: the colours.
    /// - Returns: the lines, each ended; empty for none.
    static func text(for report: RunReport, in store: any RunStore, style: Style) -> String {
        // A failure the flaky policy forgave is shown as such in the summary; it is no regression.
        // Only the counted failures are copied: a run of 100,000 tests that passed copies none.
        let counted = report.tests.filter(\.isCountedFailure)
        let failing = counted.map(\.id)
        guard !failing.isEmpty, let verdicts = try? store.latestVerdicts(of: failing, before: report.run) else { return "" }
        let regressions = Regression.find(current: counted, host: report.run.host, environment: report.run.environment,
                                          earlier: verdicts.mapValues { [$0] })
        guard !regressions.isEmpty else { return "" }
        let named = regressions.prefix(20).map { $0.test.escapingControls }.joined(separator: ", ")
            + (regressions.count > 20 ? " and \(regressions.count - 20) more" : "")
        var out = "\n" + style.red("regressions (passed the last time they ran on this host and environment): ") + named + "\n"
        let states = RunStates(store)
        let now = SnapshotDiff.State(run: report.run, snapshot: (try? store.snapshot(ofRun: report.run.id)) ?? nil)
        for regression in regressions.prefix(explained) {
            let changed = states.state(regression.lastPass.runID).map { SnapshotDiff(from: $0, to: now).summary(limit: 3) }
                ?? "unknown (that run's state could not be read)"
            out += "  \(regression.test.escapingControls): what changed since it passed in \(regression.lastPass.runID): "
                + changed.escapingControls + "\n"
        }
        if regressions.count > explained { out += "  `testbed why TEST` tells the others'; `testbed diff` compares the runs\n" }
        return out
    }
}
