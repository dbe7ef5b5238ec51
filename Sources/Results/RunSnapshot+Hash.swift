import Crypto
import Execution
import Foundation
import HostFacts

extension RunSnapshot {
    /// The key a snapshot is stored under: the SHA-256 of its stored body, in lower-case hex.
    ///
    /// - Parameter body: the snapshot's `canonicalJSON()`.
    /// - Returns: 64 hex digits.
    public static func hash(of body: String) -> String {
        SHA256.hash(data: Data(body.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The key this snapshot is stored under (`hash(of: canonicalJSON())`).
    public var hash: String { Self.hash(of: canonicalJSON()) }
}

/// The JSON of the run row's `labels` and `counts`: an object with sorted keys (every store writes the same text).
public enum RowJSON {
    /// `{"build":"abc","qemu":"9.1"}`, keys sorted.
    ///
    /// - Parameter object: the labels.
    /// - Returns: the JSON text.
    public static func encode(_ object: [String: String]) -> String {
        encoded(object)
    }

    /// `{"fail":1,"pass":3}`, keys sorted; with the flaky marks when there are any: `"forgiven"` (failures
    /// the flaky policy forgave) and `"flaky_pass"` (passes on a rerun).
    ///
    /// - Parameters:
    ///   - counts: the tests by outcome.
    ///   - marks: how many failures were forgiven and how many passes came on a rerun.
    /// - Returns: the JSON text.
    public static func encode(_ counts: [TestOutcome: Int], marks: (forgiven: Int, rerunPasses: Int) = (0, 0)) -> String {
        var object = Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
        if marks.forgiven > 0 { object["forgiven"] = marks.forgiven }
        if marks.rerunPasses > 0 { object["flaky_pass"] = marks.rerunPasses }
        return encoded(object)
    }

    /// How many of `tests` are failures the flaky policy forgave, and how many passed on a rerun.
    ///
    /// - Parameter tests: a run's results.
    /// - Returns: the two numbers.
    public static func marks(of tests: [TestResult]) -> (forgiven: Int, rerunPasses: Int) {
        var marks = (forgiven: 0, rerunPasses: 0)
        for test in tests {
            switch test.flaky {
            case .forgiven? where test.outcome.isTestFailure: marks.forgiven += 1
            case .rerun? where test.outcome == .pass: marks.rerunPasses += 1
            default: break
            }
        }
        return marks
    }

    /// The flaky marks of a row's counts: nil when the text is not an object of numbers.
    ///
    /// - Parameter text: the row's `counts`.
    /// - Returns: the marks, or nil.
    public static func marks(_ text: String?) -> (forgiven: Int, rerunPasses: Int)? {
        guard let text, let data = text.data(using: .utf8),
              let raw = try? JSONDecoder().decode([String: Int].self, from: data) else { return nil }
        return (raw["forgiven"] ?? 0, raw["flaky_pass"] ?? 0)
    }

    /// A value as JSON text, keys sorted (a column of the `host` table).
    ///
    /// - Parameter value: the value.
    /// - Returns: its JSON; `{}` when it cannot be encoded.
    public static func encoded<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The labels of a row; empty when the text is not an object of strings.
    ///
    /// - Parameter text: the row's `labels`.
    /// - Returns: the labels by key.
    public static func labels(_ text: String?) -> [String: String] {
        guard let text, let data = text.data(using: .utf8) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: data)) ?? [:]
    }

    /// The counts of a row; nil when there are none (or the text is not an object of numbers).
    /// Outcomes this version does not know are left out.
    ///
    /// - Parameter text: the row's `counts`.
    /// - Returns: the counts by outcome, or nil.
    public static func counts(_ text: String?) -> [TestOutcome: Int]? {
        guard let text, let data = text.data(using: .utf8),
              let raw = try? JSONDecoder().decode([String: Int].self, from: data) else { return nil }
        var counts: [TestOutcome: Int] = [:]
        for (key, value) in raw { if let outcome = TestOutcome(rawValue: key) { counts[outcome] = value } }
        return counts
    }
}
