import Execution
import Foundation
import Results

/// A test's outcomes over runs, newest first: its last pass, how often it
/// flipped between pass and fail, and its fail ratio (`testbed history`).
public struct TestTimeline: Sendable, Hashable {
    /// The test's results, newest first.
    public let entries: [HistoryEntry]

    /// A timeline.
    ///
    /// - Parameter entries: the test's results, newest first.
    public init(_ entries: [HistoryEntry]) {
        self.entries = entries
    }

    /// The entries that are verdicts (pass, fail, timeout, error), newest first.
    public var verdicts: [HistoryEntry] { entries.filter(\.isVerdict) }

    /// The newest pass; nil when it never passed.
    public var lastPass: HistoryEntry? { entries.first { $0.outcome == .pass } }

    /// The newest verdict; nil when there is none.
    public var latestVerdict: HistoryEntry? { entries.first(where: \.isVerdict) }

    /// How many times consecutive verdicts changed between pass and fail
    /// (other outcomes in between are passed over).
    public var flips: Int {
        var count = 0
        var previous: Bool?
        for entry in entries where entry.isVerdict {
            if let previous, previous != entry.failed { count += 1 }
            previous = entry.failed
        }
        return count
    }

    /// The fail ratio among the verdicts.
    public var ratio: FailRatio { FailRatio(failed: entries.lazy.filter(\.isVerdict).map(\.failed)) }

    /// The oldest failure after the last pass (the first failing run since it
    /// passed); nil when the newest verdict is a pass. When it never passed,
    /// the oldest failure.
    public var firstFailureSinceLastPass: HistoryEntry? {
        let since = entries.firstIndex { $0.outcome == .pass } ?? entries.count
        return entries[..<since].last(where: \.failed)
    }
}
