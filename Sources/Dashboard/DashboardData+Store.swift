import Execution
import Foundation
import History
import HostFacts
import Results
import Subtests

extension DashboardData {
    /// How many regressions get their `why` (the others name `testbed why`).
    public static let explainedRegressions = 50
    /// How many changes of a snapshot diff are listed.
    public static let changesShown = 30

    /// The dashboard of the newest `last` runs of `store`.
    ///
    /// Runs are read one at a time (a run's results are folded into the rows and dropped), so that
    /// 100 runs of 10,000 tests never sit in memory as 1,000,000 results.
    ///
    /// - Parameters:
    ///   - store: the results store.
    ///   - last: how many runs (at least 1).
    ///   - generated: when it is gathered (shown on the page).
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read (no runs is not an error: the page says so).
    public init(store: any RunStore, last: Int, generated: Date = Date()) throws(StoreError) {
        let newestFirst = try store.runs(RunFilter(limit: max(1, last)))
        var gatherer = Gatherer(runCount: newestFirst.count, resultsDirectory: store.directory)
        var latest: RunReport?
        for (index, run) in newestFirst.reversed().enumerated() {
            if index == newestFirst.count - 1 {
                let report = try store.report(run.id)
                gatherer.add(run: report.run, tests: report.tests, setups: report.setups, at: index)
                latest = report
            } else {
                let (tests, setups) = try store.briefResults(ofRun: run.id)
                gatherer.add(run: run, tests: tests, setups: setups, at: index)
            }
        }
        var comparison: Comparison?
        if let latest, let previous = try store.previousComparableRun(of: latest.run) {
            comparison = try Self.compare(latest, with: store.report(previous.id), in: store)
        }
        self.init(generated: generated, resultsDirectory: store.directory, runs: gatherer.columns,
                  summary: latest.map { gatherer.summary(of: $0) }, comparison: comparison, tests: gatherer.rows,
                  fragileSetups: gatherer.fragileSetups, fragileHosts: gatherer.fragileHosts,
                  unsupported: latest.map(Self.unsupported) ?? [])
    }

    /// The latest run against each test's latest earlier verdict on its host and environment (so a partial run in
    /// between hides nothing; nothing is gone), with the previous comparable run's setups and state: `RunComparison`'s lists, the regressions
    /// as the end of `testbed run` finds them (each with its `why`), and what differs between the two runs' states.
    ///
    /// - Parameters:
    ///   - latest: the latest run.
    ///   - previous: the previous run on its host and environment.
    ///   - store: where their history and snapshots are read.
    /// - Returns: the comparison.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    static func compare(_ latest: RunReport, with previous: RunReport, in store: any RunStore) throws(StoreError) -> Comparison {
        // Only a verdict now is compared with an earlier one (`RunComparison`): the others are never looked up.
        let verdicts = try store.latestVerdicts(of: latest.tests.filter { $0.outcome == .pass || $0.outcome.isTestFailure }.map(\.id),
                                                before: latest.run)
        let diff = RunComparison(after: latest.tests, earlierVerdicts: verdicts, setupsBefore: previous.setups, setupsAfter: latest.setups)
        let regressions = Regression.find(current: latest.tests, host: latest.run.host, environment: latest.run.environment,
                                          earlier: verdicts.mapValues { [$0] })
        var states = StateCache(store: store)
        let place = RunFilter(host: latest.run.host, environment: latest.run.environment)
        let logs = Dictionary(latest.tests.map { ($0.id, $0.logDirectory) }, uniquingKeysWith: { first, _ in first })
        var rows: [RegressionRow] = []
        for (index, regression) in regressions.enumerated() {
            var why = "passed in \(regression.lastPass.runID); `testbed why \(regression.test)` tells what changed"
            var headline = why
            var changes: [String] = []
            if index < explainedRegressions {
                let timeline = TestTimeline(try store.testHistory(regression.test, filter: place))
                let answer = Why(test: regression.test, timeline: timeline, state: { states.state($0.runID) })
                why = answer.text(limit: 6)
                headline = why
                if case let .changed(pass, failure) = answer.answer {
                    let kernel = answer.lastPassKernel.map { " (kernel \($0))" } ?? ""
                    headline = "last passed in run \(pass.runID)\(kernel), first failed in \(failure.runID)"
                        + (answer.diff.map { $0.isEmpty ? ": " + $0.summary() : "; what changed:" } ?? "; what changed is unknown")
                }
                changes = Self.bounded(answer.diff?.changes.map(\.text) ?? [])
            }
            rows.append(RegressionRow(test: regression.test, outcome: regression.outcome, lastPass: regression.lastPass.runID,
                                      why: why, headline: headline, changes: changes, log: logs[regression.test] ?? nil))
        }
        let changes = SnapshotDiff(from: states.state(previous.run.id) ?? SnapshotDiff.State(run: previous.run, snapshot: nil),
                                   to: states.state(latest.run.id) ?? SnapshotDiff.State(run: latest.run, snapshot: nil))
        return Comparison(previous: previous.run.id, regressions: rows, fixes: diff.fixes.map(\.id),
                          newInfrastructureFailures: diff.newInfrastructureFailures.map(\.label),
                          stillFailing: diff.stillFailing.map(\.id), new: diff.new.map(\.id), gone: diff.gone.map(\.id),
                          changes: changes.isEmpty ? [changes.summary()] : Self.bounded(changes.changes.map(\.text)))
    }

    /// At most `changesShown` changes, then `and N more`.
    static func bounded(_ changes: [String]) -> [String] {
        changes.count <= changesShown ? changes : Array(changes.prefix(changesShown)) + ["and \(changes.count - changesShown) more"]
    }

    /// The run's unsupported tests and their reasons.
    static func unsupported(_ report: RunReport) -> [UnsupportedRow] {
        report.tests.filter { $0.outcome == .unsupported }.map { UnsupportedRow(test: $0.id, reason: $0.reason ?? "no reason recorded") }
    }
}

/// What a run recorded (snapshot, labels, commit), read once per run.
struct StateCache {
    let store: any RunStore
    var states: [String: SnapshotDiff.State?] = [:]

    init(store: any RunStore) { self.store = store }

    /// Run `id`'s state; nil when its row cannot be read.
    mutating func state(_ id: String) -> SnapshotDiff.State? {
        if let state = states[id] { return state }
        let state = (try? store.run(id)).map { SnapshotDiff.State(run: $0, snapshot: (try? store.snapshot(ofRun: id)) ?? nil) }
        states[id] = state
        return state
    }
}

/// Folds runs, oldest first, into the dashboard's rows, columns and fragile lists.
struct Gatherer {
    let runCount: Int
    let resultsDirectory: String
    var columns: [DashboardData.RunColumn] = []
    var rowIndex: [String: Int] = [:]
    var rows: [DashboardData.TestRow] = []
    var setups: [String: Tally] = [:]
    var hosts: [String: Tally] = [:]

    /// Failures of one setup or host.
    struct Tally {
        var failures = 0
        var failedRuns = 0
        var runs = 0
        var lastRun = ""
        var lastReason: String?
    }

    init(runCount: Int, resultsDirectory: String) {
        self.runCount = runCount
        self.resultsDirectory = resultsDirectory
    }

    /// Adds run number `index` (0: the oldest shown): its row, tests and setups.
    mutating func add(run: RunReport.Run, tests: [TestResult], setups runSetups: [SetupResult], at index: Int) {
        let failedSetups = runSetups.filter(\.outcome.isInfrastructureFailure)
        columns.append(column(run, counts: RunReport.counts(of: tests), infrastructureFailures: failedSetups.count))
        for test in tests {
            let row: Int
            if let known = rowIndex[test.id] {
                row = known
            } else {
                row = rows.count
                rowIndex[test.id] = row
                rows.append(DashboardData.TestRow(id: test.id, outcomes: Array(repeating: nil, count: runCount),
                                                  logged: Array(repeating: false, count: runCount)))
            }
            guard rows[row].outcomes[index] == nil else { continue }
            rows[row].outcomes[index] = test.outcome
            if test.started != nil { rows[row].durations[index] = test.duration }
            if let log = test.logDirectory {
                rows[row].log = log
                rows[row].logged[index] = true
            }
            // Runs come oldest first: the newest run's subtests stay.
            rows[row].failedSubtestCount = test.subtestCounts?.fail ?? 0
            rows[row].failedSubtests = test.subtests.lazy.filter { $0.outcome == .fail }.prefix(3).map(\.name)
        }
        var seen: [String: Bool] = [:]
        for setup in runSetups {
            let failed = setup.outcome.isInfrastructureFailure
            seen[setup.name] = (seen[setup.name] ?? false) || failed
            if failed {
                setups[setup.name, default: Tally()].failures += 1
                setups[setup.name]?.lastRun = run.id
                setups[setup.name]?.lastReason = Self.firstLine(setup.reason).map { setup.label + ": " + $0 } ?? setup.label
            }
        }
        for (name, failed) in seen {
            setups[name, default: Tally()].runs += 1
            if failed { setups[name]?.failedRuns += 1 }
        }
        let host = run.host ?? "(host not recorded)"
        hosts[host, default: Tally()].runs += 1
        if let failure = failedSetups.last {
            hosts[host]?.failures += failedSetups.count
            hosts[host]?.failedRuns += 1
            hosts[host]?.lastRun = run.id
            hosts[host]?.lastReason = Self.firstLine(failure.reason).map { failure.label + ": " + $0 } ?? failure.label
        }
    }

    /// The setups that failed at least once, most failures first.
    var fragileSetups: [DashboardData.FragileRow] {
        Self.ranked(setups.filter { $0.value.failures > 0 })
    }

    /// Every host, most failures first.
    var fragileHosts: [DashboardData.FragileRow] { Self.ranked(hosts) }

    /// The latest run at a glance.
    func summary(of report: RunReport) -> DashboardData.Summary {
        DashboardData.Summary(run: column(report.run, counts: report.counts, infrastructureFailures: report.infrastructureFailures.count),
                              failedSetups: report.infrastructureFailures.map(\.label),
                              blocked: report.tests.filter { $0.outcome == .blocked }.count)
    }

    func column(_ run: RunReport.Run, counts: [TestOutcome: Int], infrastructureFailures: Int) -> DashboardData.RunColumn {
        let prefix = resultsDirectory.hasSuffix("/") ? resultsDirectory : resultsDirectory + "/"
        let directory = run.directory.hasPrefix(prefix) ? String(run.directory.dropFirst(prefix.count)) : run.directory
        return DashboardData.RunColumn(id: run.id, started: run.started, host: run.host, environment: run.environment, labels: run.labels,
                                       exitCode: run.exitCode, complete: run.complete, running: run.running != nil, directory: directory,
                                       counts: counts, infrastructureFailures: infrastructureFailures)
    }

    static func ranked(_ tallies: [String: Tally]) -> [DashboardData.FragileRow] {
        let rows = tallies.map { name, tally in
            DashboardData.FragileRow(name: name, failures: tally.failures, failedRuns: tally.failedRuns, runs: tally.runs,
                                     lastRun: tally.lastRun, lastReason: tally.lastReason)
        }
        return Array(rows.sorted { ($0.failures, $0.failedRuns, $1.name) > ($1.failures, $1.failedRuns, $0.name) }
            .prefix(DashboardData.listLimit))
    }

    static func firstLine(_ text: String?) -> String? {
        guard let line = text?.split(separator: "\n", omittingEmptySubsequences: true).first else { return nil }
        return line.count > 200 ? String(line.prefix(199)) + "…" : String(line)
    }
}
