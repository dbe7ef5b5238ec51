import Execution
import Foundation
import History
import Results
import Testing

/// Entries from a compact string, newest first: `p` pass, `f` fail, `t` timeout, `e` error, `s` skip, `b` blocked,
/// `u` unsupported; run ids `r<n>` counting down so that the first is the newest.
func entries(_ outcomes: String, host: String? = "lab1", environment: String = "local") -> [HistoryEntry] {
    let map: [Character: TestOutcome] = ["p": .pass, "f": .fail, "t": .timeout, "e": .error, "s": .skip, "b": .blocked,
                                         "u": .unsupported, "i": .interrupted]
    let count = outcomes.count
    return outcomes.enumerated().map { index, letter in
        HistoryEntry(runID: "r\(count - index)", started: Date(timeIntervalSince1970: Double(1000 * (count - index))), host: host,
                     environment: environment, outcome: map[letter]!, duration: 1)
    }
}

struct TestTimelineTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var outcomes: String
        var lastPass: String?
        var flips: Int
        var failures: Int
        var verdicts: Int
        var firstFailure: String?
        var testDescription: String { outcomes.isEmpty ? "(none)" : outcomes }
    }

    // Newest first: "fp" failed in r2 after passing in r1.
    static let cases: [Case] = [
        Case(outcomes: "", lastPass: nil, flips: 0, failures: 0, verdicts: 0, firstFailure: nil),
        Case(outcomes: "ppp", lastPass: "r3", flips: 0, failures: 0, verdicts: 3, firstFailure: nil),
        Case(outcomes: "fp", lastPass: "r1", flips: 1, failures: 1, verdicts: 2, firstFailure: "r2"),
        Case(outcomes: "ffpp", lastPass: "r2", flips: 1, failures: 2, verdicts: 4, firstFailure: "r3"),
        // Skips, blocked and unsupported runs are not verdicts: no flip through them, not counted.
        Case(outcomes: "fsbup", lastPass: "r1", flips: 1, failures: 1, verdicts: 2, firstFailure: "r5"),
        Case(outcomes: "pfpfp", lastPass: "r5", flips: 4, failures: 2, verdicts: 5, firstFailure: nil),
        Case(outcomes: "tefp", lastPass: "r1", flips: 1, failures: 3, verdicts: 4, firstFailure: "r2"),
        // Never passed: the oldest failure.
        Case(outcomes: "ffsf", lastPass: nil, flips: 0, failures: 3, verdicts: 3, firstFailure: "r1"),
        Case(outcomes: "sbu", lastPass: nil, flips: 0, failures: 0, verdicts: 0, firstFailure: nil),
    ]

    @Test("last pass, flips between pass and fail among verdicts, the fail ratio, the first failure since the last pass",
          arguments: cases)
    func timeline(_ example: Case) {
        let timeline = TestTimeline(entries(example.outcomes))
        #expect(timeline.lastPass?.runID == example.lastPass)
        #expect(timeline.flips == example.flips)
        #expect(timeline.ratio == FailRatio(failures: example.failures, verdicts: example.verdicts))
        #expect(timeline.firstFailureSinceLastPass?.runID == example.firstFailure)
        #expect(timeline.verdicts.count == example.verdicts)
    }
}
