import Foundation
import Results

/// How often a test failed among its verdicts: k failures of n runs that
/// passed or failed, with a 95% interval.
///
/// With failures, the interval is the normal approximation p ± 1.96·√(p(1−p)/n),
/// clamped to [0, 1]. With none, the rule of three bounds the true ratio:
/// below 3/n (shown "< 300/n %"); with every verdict a failure, its mirror:
/// above 1 − 3/n (shown "> (100 − 300/n) %").
public struct FailRatio: Sendable, Hashable {
    /// How many verdicts were failures (fail, timeout, error).
    public let failures: Int
    /// How many verdicts there were (pass, fail, timeout, error).
    public let verdicts: Int

    /// The ratio of `failures` among `verdicts`.
    ///
    /// - Parameters:
    ///   - failures: the failures counted (clamped to 0…verdicts).
    ///   - verdicts: the verdicts counted (clamped to at least 0).
    public init(failures: Int, verdicts: Int) {
        self.verdicts = max(0, verdicts)
        self.failures = min(max(0, failures), self.verdicts)
    }

    /// The ratio of the failures among `outcomes`' verdicts (other outcomes are not counted).
    ///
    /// - Parameter outcomes: whether each verdict failed.
    public init<Failures: Sequence<Bool>>(failed outcomes: Failures) {
        var failures = 0
        var verdicts = 0
        for failed in outcomes {
            verdicts += 1
            if failed { failures += 1 }
        }
        self.init(failures: failures, verdicts: verdicts)
    }

    /// k/n; nil without verdicts.
    public var ratio: Double? { verdicts == 0 ? nil : Double(failures) / Double(verdicts) }

    /// The 95% interval: p ± 1.96·√(p(1−p)/n) clamped to [0, 1] with
    /// failures and passes; [0, 3/n] (the rule of three, at most 1) without failures; [1 − 3/n, 1]
    /// (at least 0) with nothing but failures; nil without verdicts.
    public var interval: ClosedRange<Double>? {
        guard let p = ratio else { return nil }
        guard failures > 0 else { return 0...min(1, 3 / Double(verdicts)) }
        guard failures < verdicts else { return max(0, 1 - 3 / Double(verdicts))...1 }
        let half = 1.96 * (p * (1 - p) / Double(verdicts)).squareRoot()
        return max(0, p - half)...min(1, p + half)
    }

    /// `30% (95% interval 2–58%, 3 of 10)`; `< 30% (0 of 10)` without
    /// failures (the rule of three); `> 70% (10 of 10)` with nothing but failures (its mirror);
    /// `no verdicts` without any.
    public var text: String {
        guard let p = ratio, let interval else { return "no verdicts" }
        guard failures > 0 else { return "< \(Self.percent(interval.upperBound)) (0 of \(verdicts))" }
        guard failures < verdicts else { return "> \(Self.percent(interval.lowerBound)) (\(verdicts) of \(verdicts))" }
        return "\(Self.percent(p)) (95% interval \(Self.percent(interval.lowerBound, sign: false))–\(Self.percent(interval.upperBound)), "
            + "\(failures) of \(verdicts))"
    }

    /// A fraction as a percentage: whole numbers from 10% up, one decimal below
    /// (`0.3%`, `7.5%`, `30%`), no trailing `.0`.
    ///
    /// - Parameters:
    ///   - fraction: the value, 0…1.
    ///   - sign: whether to end with `%`.
    /// - Returns: the text.
    public static func percent(_ fraction: Double, sign: Bool = true) -> String {
        let value = fraction * 100
        var text: String
        if value >= 10 || value == 0 {
            text = String(Int(value.rounded()))
        } else {
            text = String(format: "%.1f", value)
            if text.hasSuffix(".0") { text.removeLast(2) }
        }
        return sign ? text + "%" : text
    }

    /// The JSON form: `failures`, `verdicts`, `ratio`, `low` and `high` (the
    /// 95% interval; `low` 0 and `high` 3/n without failures, `low` 1 − 3/n and `high` 1 with nothing
    /// but failures), `rule_of_three` (true when the interval is the rule of three's bound or its mirror),
    /// `text`; the numbers rounded to 4 decimals.
    public var json: FailRatioJSON {
        let rounded = { (value: Double?) in value.map { ($0 * 10_000).rounded() / 10_000 } }
        return FailRatioJSON(failures: failures, verdicts: verdicts, ratio: rounded(ratio), low: rounded(interval?.lowerBound),
                             high: rounded(interval?.upperBound), ruleOfThree: verdicts > 0 && (failures == 0 || failures == verdicts),
                             text: text)
    }
}

/// `FailRatio` as JSON has it (keys in snake case).
public struct FailRatioJSON: Sendable, Hashable, Codable {
    /// How many verdicts failed.
    public var failures: Int
    /// How many verdicts there were.
    public var verdicts: Int
    /// failures / verdicts; nil without verdicts.
    public var ratio: Double?
    /// The 95% interval's lower bound.
    public var low: Double?
    /// The 95% interval's upper bound.
    public var high: Double?
    /// Whether the interval is the rule of three's (`high` 3/n: no failures) or its mirror's (`low` 1 − 3/n: all failures).
    public var ruleOfThree: Bool
    /// As text (`FailRatio.text`).
    public var text: String

    enum CodingKeys: String, CodingKey {
        case failures, verdicts, ratio, low, high, text
        case ruleOfThree = "rule_of_three"
    }
}
