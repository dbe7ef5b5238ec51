import Foundation

/// The progress line's "~3m left": what the tests not finished yet took
/// last time (`RunStore.history()`), shared among the `-j` jobs. A test that
/// never ran to a verdict before counts as the median of those that did;
/// when none of the run's tests has a recorded duration there is no
/// estimate. Setups and teardowns are not counted (their durations are not
/// recorded), so the estimate is a floor for suites with long setups.
struct TimeLeft: Sendable {
    /// Seconds each test of the run is expected to take: its recorded
    /// duration, else the median of the recorded ones.
    let expected: [String: Double]
    /// The tests that have neither started nor finished yet.
    private(set) var waiting: Set<String>
    /// The sum of `expected` over `waiting`, in seconds.
    private(set) var waitingSeconds: Double

    /// The estimate for a run of `tests`, nil when none of them has a recorded duration.
    /// - Parameters:
    ///   - tests: the ids of the tests that will run (not those decided before anything runs).
    ///   - recorded: each test's last recorded duration, in seconds, by id; a negative or non-finite one is ignored.
    init?(tests: [String], recorded: [String: Double]) {
        let known = tests.compactMap { id in recorded[id].flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } }
        guard let median = Self.median(known) else { return nil }
        var expected: [String: Double] = [:]
        for id in tests { expected[id] = recorded[id].flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? median }
        self.expected = expected
        waiting = Set(tests)
        waitingSeconds = tests.reduce(0) { $0 + expected[$1, default: 0] }
    }

    /// Test `id` started or finished (without starting: blocked, interrupted): it no longer waits.
    /// - Parameter id: the test's id.
    mutating func leaves(_ id: String) {
        guard waiting.remove(id) != nil else { return }
        waitingSeconds = waiting.isEmpty ? 0 : max(0, waitingSeconds - expected[id, default: 0])
    }

    /// The time left now.
    /// - Parameters:
    ///   - running: the tests running now, with how long each has run.
    ///   - jobs: how many steps run at once (`-j`).
    /// - Returns: the estimate (`estimate(waiting:running:jobs:)`).
    func estimate(running: [(id: String, elapsed: Duration)], jobs: Int) -> Duration {
        Self.estimate(waiting: waitingSeconds, running: running.map { (expected[$0.id, default: 0], $0.elapsed) }, jobs: jobs)
    }

    /// The time left: what the waiting tests and the rest of the running
    /// ones are expected to take, shared among `jobs` (each running test's
    /// rest is its expected time less what it has run, at least 0), and no
    /// less than the longest rest of a running test (one test is never
    /// shared among jobs).
    /// - Parameters:
    ///   - waiting: the expected seconds of the tests not started yet, summed.
    ///   - running: each running test's expected seconds and how long it has run.
    ///   - jobs: how many steps run at once (`-j`); below 1 counts as 1.
    /// - Returns: the estimate, never negative.
    static func estimate(waiting: Double, running: [(expected: Double, elapsed: Duration)], jobs: Int) -> Duration {
        let rests = running.map { max(0, $0.expected - seconds($0.elapsed)) }
        let shared = (max(0, waiting) + rests.reduce(0, +)) / Double(max(1, jobs))
        let left = max(shared, rests.max() ?? 0)
        guard left.isFinite else { return .zero }
        return .milliseconds(Int64(min(left, 1e9) * 1000))
    }

    /// The median of `values` (the mean of the middle two for an even count).
    /// - Parameter values: durations, in seconds.
    /// - Returns: the median; nil when `values` is empty.
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// How the progress line shows an estimate: "~45s left", "~3m left",
    /// "~1h05m left" (rounded to the second or the minute); nil below one
    /// second (every test left has run past its recorded time: no honest
    /// estimate) and from 1000 hours on (no honest estimate either).
    /// - Parameter left: the estimate.
    /// - Returns: the text, or nil.
    static func shown(_ left: Duration) -> String? {
        let seconds = Int(self.seconds(left).rounded())
        guard seconds >= 1 else { return nil }
        if seconds < 60 { return "~\(seconds)s left" }
        let minutes = (seconds + 30) / 60
        if minutes < 60 { return "~\(minutes)m left" }
        guard minutes < 1000 * 60 else { return nil }
        return String(format: "~%dh%02dm left", minutes / 60, minutes % 60)
    }

    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
