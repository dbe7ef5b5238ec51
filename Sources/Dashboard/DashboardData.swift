import Execution
import Foundation
import History
import Results

/// Everything the dashboard shows, gathered from the store first (`init(store:last:)`)
/// and rendered after (`DashboardPage`): a plain value, so that a server can
/// gather it once and render it per request.
///
/// The runs are the newest `last` ones of the store, any host and environment,
/// oldest first (the columns of the status strips). The latest run is the
/// newest of them; its diff is against the previous comparable run (same
/// host and environment), which need not be among them.
public struct DashboardData: Sendable, Hashable {
    /// One run: a column of the status strips.
    public struct RunColumn: Sendable, Hashable {
        /// The run id.
        public var id: String
        /// When it started.
        public var started: Date
        /// Its host; nil for runs recorded before hosts were.
        public var host: String?
        /// Its environment's name.
        public var environment: String
        /// Its labels (`--label KEY=VALUE`).
        public var labels: [String: String]
        /// Its exit code; nil when it did not finish.
        public var exitCode: Int32?
        /// Every step finished and it was not interrupted.
        public var complete: Bool
        /// A `testbed run` is still writing it.
        public var running: Bool
        /// Its run directory, relative to the results directory (`20261121-142233-1a2b`)
        /// when it is inside it, else absolute.
        public var directory: String
        /// How many tests had each outcome.
        public var counts: [TestOutcome: Int]
        /// How many setups, teardowns and restores failed or timed out (infrastructure failures).
        public var infrastructureFailures: Int

        /// A column.
        ///
        /// - Parameters:
        ///   - id: the run id.
        ///   - started: when it started.
        ///   - host: its host.
        ///   - environment: its environment.
        ///   - labels: its labels.
        ///   - exitCode: its exit code.
        ///   - complete: whether it completed.
        ///   - running: whether it is still going.
        ///   - directory: its directory, relative to the results directory.
        ///   - counts: tests by outcome.
        ///   - infrastructureFailures: failed setups.
        public init(id: String, started: Date, host: String? = nil, environment: String = "local", labels: [String: String] = [:],
                    exitCode: Int32? = 0, complete: Bool = true, running: Bool = false, directory: String? = nil,
                    counts: [TestOutcome: Int] = [:], infrastructureFailures: Int = 0) {
            self.id = id
            self.started = started
            self.host = host
            self.environment = environment
            self.labels = labels
            self.exitCode = exitCode
            self.complete = complete
            self.running = running
            self.directory = directory ?? id
            self.counts = counts
            self.infrastructureFailures = infrastructureFailures
        }

        /// Tests that failed, timed out or could not start: the code's failures.
        public var testFailures: Int { counts.filter { $0.key.isTestFailure }.values.reduce(0, +) }
        /// How many tests it had.
        public var total: Int { counts.values.reduce(0, +) }
    }

    /// The latest run at a glance: what the code broke against what the lab broke.
    public struct Summary: Sendable, Hashable {
        /// The run.
        public var run: RunColumn
        /// The setups, teardowns and restores that failed (their labels: `guest-image (teardown)`), in the order they ended.
        public var failedSetups: [String]
        /// The tests they (or the restore, or Testbed) blocked.
        public var blocked: Int

        /// A summary.
        ///
        /// - Parameters:
        ///   - run: the run.
        ///   - failedSetups: the failed setups' labels.
        ///   - blocked: how many tests were blocked.
        public init(run: RunColumn, failedSetups: [String], blocked: Int) {
            self.run = run
            self.failedSetups = failedSetups
            self.blocked = blocked
        }
    }

    /// A regression of the latest run, with what changed since the test last passed.
    public struct RegressionRow: Sendable, Hashable {
        /// The test's id.
        public var test: String
        /// Its failing outcome now.
        public var outcome: TestOutcome
        /// The run where it last passed (same host and environment).
        public var lastPass: String
        /// `testbed why` in one line.
        public var why: String
        /// Where it passed and failed, without what changed (`last passed in run R1 (kernel 6.1.0-13), first failed in R2`):
        /// shown above `changes`.
        public var headline: String
        /// What differs between the last pass's run and the first failure's, one change each
        /// (`kernel 6.1.0-13 → 6.1.0-15`); empty when nothing recorded differs or it is unknown.
        public var changes: [String]
        /// The test's directory in the latest run's directory (its log is `output.log` there); nil when it has none.
        public var log: String?

        /// A row.
        ///
        /// - Parameters:
        ///   - test: the test's id.
        ///   - outcome: its outcome now.
        ///   - lastPass: the run where it last passed.
        ///   - why: `why` in one line.
        ///   - headline: where it passed and failed (default: `why`).
        ///   - changes: what differs, one change each.
        ///   - log: its directory in the latest run.
        public init(test: String, outcome: TestOutcome, lastPass: String, why: String, headline: String? = nil, changes: [String],
                    log: String?) {
            self.test = test
            self.outcome = outcome
            self.lastPass = lastPass
            self.why = why
            self.headline = headline ?? why
            self.changes = changes
            self.log = log
        }
    }

    /// The latest run against the previous comparable one (same host and environment).
    public struct Comparison: Sendable, Hashable {
        /// The previous comparable run's id.
        public var previous: String
        /// The regressions (failed now, passed the last time they had a verdict there), with their `why`.
        public var regressions: [RegressionRow]
        /// Failed in the previous run, passed now.
        public var fixes: [String]
        /// Setups that failed now and not in the previous run (labels).
        public var newInfrastructureFailures: [String]
        /// Failed in both.
        public var stillFailing: [String]
        /// In the latest run only.
        public var new: [String]
        /// In the previous run only.
        public var gone: [String]
        /// What differs between the two runs' states, one change each.
        public var changes: [String]

        /// A comparison.
        ///
        /// - Parameters:
        ///   - previous: the previous run's id.
        ///   - regressions: the regressions.
        ///   - fixes: the fixes.
        ///   - newInfrastructureFailures: the new infrastructure failures.
        ///   - stillFailing: the tests failing in both.
        ///   - new: the new tests.
        ///   - gone: the gone tests.
        ///   - changes: what differs between the runs' states.
        public init(previous: String, regressions: [RegressionRow] = [], fixes: [String] = [], newInfrastructureFailures: [String] = [],
                    stillFailing: [String] = [], new: [String] = [], gone: [String] = [], changes: [String] = []) {
            self.previous = previous
            self.regressions = regressions
            self.fixes = fixes
            self.newInfrastructureFailures = newInfrastructureFailures
            self.stillFailing = stillFailing
            self.new = new
            self.gone = gone
            self.changes = changes
        }
    }

    /// One test across the runs: a row of the status strips.
    public struct TestRow: Sendable, Hashable {
        /// The test's id.
        public var id: String
        /// Its outcome in each run, oldest first (as `runs`); nil where the run did not have it.
        public var outcomes: [TestOutcome?]
        /// Its duration in each run, in seconds; nil where it did not run.
        public var durations: [Double?]
        /// Its directory in a run's directory (the newest one recorded: the same in every run), where
        /// `output.log` is; nil when no run recorded one.
        public var log: String?
        /// The runs where it had a log directory (a cell links to the log only there).
        public var logged: [Bool]
        /// How many of its subtests failed in the newest run that has it (0: none, or no subtests).
        public var failedSubtestCount = 0
        /// The names of the first of those (at most 3), in the order reported.
        public var failedSubtests: [String] = []

        /// A row.
        ///
        /// - Parameters:
        ///   - id: the test's id.
        ///   - outcomes: its outcome per run, oldest first.
        ///   - durations: its duration per run, in seconds.
        ///   - log: its directory in a run's directory.
        ///   - logged: whether each run recorded a log directory for it.
        public init(id: String, outcomes: [TestOutcome?], durations: [Double?] = [], log: String? = nil, logged: [Bool] = []) {
            self.id = id
            self.outcomes = outcomes
            self.durations = durations.count == outcomes.count ? durations : outcomes.map { _ in nil }
            self.log = log
            self.logged = logged.count == outcomes.count ? logged : outcomes.map { _ in log != nil }
        }

        /// How often consecutive verdicts changed between pass and fail, over the runs shown (as `TestTimeline.flips`
        /// counts them: other outcomes in between are passed over).
        public var flips: Int {
            var count = 0
            var previous: Bool?
            for case let outcome? in outcomes where outcome.isVerdict {
                if let previous, previous != outcome.isTestFailure { count += 1 }
                previous = outcome.isTestFailure
            }
            return count
        }

        /// Its fail ratio over the runs shown.
        public var ratio: FailRatio { FailRatio(failed: outcomes.lazy.compactMap { $0 }.filter(\.isVerdict).map(\.isTestFailure)) }
    }

    /// A test that flipped between pass and fail over the runs shown.
    public struct FlakyRow: Sendable, Hashable {
        /// The test's id.
        public var test: String
        /// How often it flipped.
        public var flips: Int
        /// Its fail ratio, with the 95% interval.
        public var ratio: FailRatio

        /// A row.
        ///
        /// - Parameters:
        ///   - test: the test's id.
        ///   - flips: how often it flipped.
        ///   - ratio: its fail ratio.
        public init(test: String, flips: Int, ratio: FailRatio) {
            self.test = test
            self.flips = flips
            self.ratio = ratio
        }
    }

    /// Infrastructure failures of one setup or one host over the runs shown ("most fragile").
    public struct FragileRow: Sendable, Hashable {
        /// The setup's name, or the host's.
        public var name: String
        /// How many times it failed (setups, teardowns and restores that failed or timed out).
        public var failures: Int
        /// In how many runs it failed.
        public var failedRuns: Int
        /// In how many runs it appeared.
        public var runs: Int
        /// The newest failure's run id.
        public var lastRun: String
        /// The newest failure's reason (one line); nil when none was recorded.
        public var lastReason: String?

        /// A row.
        ///
        /// - Parameters:
        ///   - name: the setup or host.
        ///   - failures: how many times it failed.
        ///   - failedRuns: in how many runs.
        ///   - runs: in how many runs it appeared.
        ///   - lastRun: the newest failure's run.
        ///   - lastReason: its reason.
        public init(name: String, failures: Int, failedRuns: Int, runs: Int, lastRun: String, lastReason: String?) {
            self.name = name
            self.failures = failures
            self.failedRuns = failedRuns
            self.runs = runs
            self.lastRun = lastRun
            self.lastReason = lastReason
        }
    }

    /// A test the latest run could not run on its host, and why.
    public struct UnsupportedRow: Sendable, Hashable {
        /// The test's id.
        public var test: String
        /// Its unmet requirements (one per line), as recorded.
        public var reason: String

        /// A row.
        ///
        /// - Parameters:
        ///   - test: the test's id.
        ///   - reason: why.
        public init(test: String, reason: String) {
            self.test = test
            self.reason = reason
        }
    }

    /// When the data was gathered.
    public var generated: Date
    /// The results directory, absolute.
    public var resultsDirectory: String
    /// The runs shown, oldest first.
    public var runs: [RunColumn]
    /// The latest run at a glance; nil when there are no runs.
    public var summary: Summary?
    /// The latest run against the previous comparable one; nil when there is none.
    public var comparison: Comparison?
    /// Every test of the runs shown, by id.
    public var tests: [TestRow]
    /// The tests that flipped, most flips first (at most `DashboardData.listLimit`).
    public var flaky: [FlakyRow]
    /// Infrastructure failures per setup, most first.
    public var fragileSetups: [FragileRow]
    /// Infrastructure failures per host, most first.
    public var fragileHosts: [FragileRow]
    /// The slowest tests (by their mean duration over the runs shown), slowest first (at most `DashboardData.slowestCount`).
    public var slowest: [TestRow]
    /// The tests the latest run had unsupported, by id.
    public var unsupported: [UnsupportedRow]
    /// The grid's hosts, for the Hosts section (`testbed serve --grid slurm`); nil when the page is not a grid's.
    public var hosts: [HostRow]? = nil
    /// Why the grid's hosts could not be read (shown in their section instead); nil when they were.
    public var hostsProblem: String? = nil

    /// How many rows a list (flaky, fragile) keeps.
    public static let listLimit = 100
    /// How many of the slowest tests get a duration trend.
    public static let slowestCount = 10

    /// Data from its parts: the flaky list, the slowest tests and the unsupported ones are derived from `tests`
    /// and `unsupported` as given.
    ///
    /// - Parameters:
    ///   - generated: when it was gathered.
    ///   - resultsDirectory: the results directory, absolute.
    ///   - runs: the runs, oldest first.
    ///   - summary: the latest run at a glance.
    ///   - comparison: the latest run's diff.
    ///   - tests: the rows, by id.
    ///   - fragileSetups: infrastructure failures per setup.
    ///   - fragileHosts: infrastructure failures per host.
    ///   - unsupported: the latest run's unsupported tests.
    public init(generated: Date = Date(), resultsDirectory: String, runs: [RunColumn], summary: Summary?, comparison: Comparison?,
                tests: [TestRow], fragileSetups: [FragileRow] = [], fragileHosts: [FragileRow] = [],
                unsupported: [UnsupportedRow] = []) {
        self.generated = generated
        self.resultsDirectory = resultsDirectory
        self.runs = runs
        self.summary = summary
        self.comparison = comparison
        self.tests = tests.sorted { $0.id < $1.id }
        self.fragileSetups = fragileSetups
        self.fragileHosts = fragileHosts
        self.unsupported = unsupported.sorted { $0.test < $1.test }
        flaky = Self.flakyRows(self.tests)
        slowest = Self.slowestRows(self.tests)
    }

    /// The tests that flipped, most flips first, then the highest fail ratio, then by id.
    static func flakyRows(_ tests: [TestRow]) -> [FlakyRow] {
        let rows = tests.compactMap { test -> FlakyRow? in
            let flips = test.flips
            return flips > 0 ? FlakyRow(test: test.id, flips: flips, ratio: test.ratio) : nil
        }
        return Array(rows.sorted {
            ($0.flips, $0.ratio.ratio ?? 0, $1.test) > ($1.flips, $1.ratio.ratio ?? 0, $0.test)
        }.prefix(listLimit))
    }

    /// The tests with the highest mean duration where they ran (at least one run), slowest first.
    static func slowestRows(_ tests: [TestRow]) -> [TestRow] {
        let means = tests.compactMap { test -> (TestRow, Double)? in
            let ran = test.durations.compactMap { $0 }
            return ran.isEmpty ? nil : (test, ran.reduce(0, +) / Double(ran.count))
        }
        return means.sorted { ($0.1, $1.0.id) > ($1.1, $0.0.id) }.prefix(slowestCount).map(\.0)
    }
}
