import History
import Testing

struct FailRatioTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var failures: Int
        var verdicts: Int
        var text: String
        var low: Double?
        var high: Double?
        var testDescription: String { "\(failures) of \(verdicts)" }
    }

    static let cases: [Case] = [
        Case(failures: 0, verdicts: 0, text: "no verdicts", low: nil, high: nil),
        // The rule of three: no failure in n runs bounds the ratio below 3/n.
        Case(failures: 0, verdicts: 10, text: "< 30% (0 of 10)", low: 0, high: 0.3),
        Case(failures: 0, verdicts: 1000, text: "< 0.3% (0 of 1000)", low: 0, high: 0.003),
        Case(failures: 0, verdicts: 2, text: "< 100% (0 of 2)", low: 0, high: 1),
        // p ± 1.96·√(p(1−p)/n): 0.3 ± 1.96·√(0.021) = 0.3 ± 0.284.
        Case(failures: 3, verdicts: 10, text: "30% (95% interval 1.6–58%, 3 of 10)", low: 0.3 - 1.96 * (0.021).squareRoot(),
             high: 0.3 + 1.96 * (0.021).squareRoot()),
        // Clamped: 1 of 2 is 0.5 ± 0.69.
        Case(failures: 1, verdicts: 2, text: "50% (95% interval 0–100%, 1 of 2)", low: 0, high: 1),
        // The rule of three's mirror: every one of n verdicts a failure bounds the ratio above 1 − 3/n.
        Case(failures: 4, verdicts: 4, text: "> 25% (4 of 4)", low: 0.25, high: 1),
        Case(failures: 10, verdicts: 10, text: "> 70% (10 of 10)", low: 0.7, high: 1),
        Case(failures: 2, verdicts: 2, text: "> 0% (2 of 2)", low: 0, high: 1),
        Case(failures: 1, verdicts: 3, text: "33% (95% interval 0–87%, 1 of 3)", low: 0, high: 1 / 3 + 1.96 * (2.0 / 27).squareRoot()),
    ]

    @Test("the ratio, its 95% interval (normal approximation, clamped; the rule of three without failures) and its text",
          arguments: cases)
    func ratio(_ example: Case) throws {
        let ratio = FailRatio(failures: example.failures, verdicts: example.verdicts)
        #expect(ratio.text == example.text)
        if let low = example.low, let high = example.high {
            let interval = try #require(ratio.interval)
            #expect(abs(interval.lowerBound - low) < 1e-9)
            #expect(abs(interval.upperBound - high) < 1e-9)
        } else {
            #expect(ratio.interval == nil)
            #expect(ratio.ratio == nil)
        }
    }

    @Test("the JSON form names the rule of three and carries the text", arguments: [(0, 10, true), (2, 10, false), (0, 0, false), (4, 4, true)])
    func json(failures: Int, verdicts: Int, ruleOfThree: Bool) {
        let json = FailRatio(failures: failures, verdicts: verdicts).json
        #expect(json.ruleOfThree == ruleOfThree)
        #expect(json.failures == failures && json.verdicts == verdicts)
        #expect(json.text == FailRatio(failures: failures, verdicts: verdicts).text)
        #expect((json.ratio == nil) == (verdicts == 0))
    }

    @Test("the JSON numbers are rounded to 4 decimals (no float noise such as 0.010000000000000009)")
    func jsonRounded() throws {
        let json = FailRatio(failures: 1, verdicts: 3).json
        let low = try #require(json.low)
        let high = try #require(json.high)
        let ratio = try #require(json.ratio)
        #expect(ratio == 0.3333 && low == 0 && high == 0.8668)
        let all = FailRatio(failures: 300, verdicts: 300).json
        #expect(all.low == 0.99 && all.high == 1)
    }

    @Test("counted from outcomes: true is a failure", arguments: [([true, false, false, true], 2, 4), ([], 0, 0), ([false], 0, 1)])
    func counted(failed: [Bool], failures: Int, verdicts: Int) {
        let ratio = FailRatio(failed: failed)
        #expect(ratio.failures == failures && ratio.verdicts == verdicts)
    }

    @Test("percentages: whole from 10% up, one decimal below, no trailing .0",
          arguments: [(0.0, "0%"), (0.003, "0.3%"), (0.05, "5%"), (0.075, "7.5%"), (0.3, "30%"), (1.0, "100%"), (0.0999, "10%")])
    func percent(fraction: Double, text: String) {
        #expect(FailRatio.percent(fraction) == text)
    }
}
