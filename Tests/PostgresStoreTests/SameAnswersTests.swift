@testable import Execution
import Foundation
import HostFacts
import Reporting
import Requirements
import Results
import Subtests
import TestSupport
import Testing

/// The same runs recorded into SQLite and PostgreSQL give the same answers to every query (the issue's test):
/// whole reports (as `report --json` writes them), runs, histories, verdicts, outcomes. Needs `TESTBED_TEST_DATABASE`.
@Suite("Both stores: the same runs give the same answers", .enabled(if: StoreKind.serverURL != nil))
struct SameAnswersTests {
    /// A lab's week in small: three hosts, two environments, reruns, forgiven failures, subtests, setups, facts,
    /// labels, snapshots, a run killed half-way.
    static func record(into store: some RunStore) async {
        let tests = ["/boot", "/net/ping", "/kvm/unit", "/flaky", "/io"]
        for index in 0..<12 {
            let id = "202611\(String(format: "%02d", index + 1))-000000-\(String(format: "%04x", index))"
            let started = Date(timeIntervalSince1970: 1_790_000_000 + Double(index) * 5_400.5)
            var info = RunInfo(id: id, environment: index % 4 == 3 ? "qemu" : "lab", started: started, directory: "/srv/results/" + id,
                               tests: tests, decided: index % 5 == 0 ? [TestResult(id: "/io", outcome: .unsupported, reason: "needs /dev/nvme0")] : [],
                               facts: [Fact(name: "kernel", value: "6.\(index % 3)", source: "uname -r"), Fact(name: "memory", value: nil, source: "meminfo")],
                               jobs: 1 + index % 3)
            info.host = ["lab1", "lab2", "lab3"][index % 3]
            info.machineID = "m\(index % 3)"
            info.labels = ["build": "b\(index)", "kernel": "6.\(index % 3)"]
            info.suiteCommit = index % 2 == 0 ? "abc\(index)" : nil
            info.suiteDirty = index % 2 == 0 ? index % 4 == 0 : nil
            info.rerunFailures = index % 4
            info.taintAtStart = index % 4 == 1 ? "W" : index == 6 ? "GW" : nil
            info.snapshot = RunSnapshot(facts: ["kernel": "6.\(index % 3)"])
            let recorder = store.recorder(runID: id, exitCodes: .standard, layout: nil)
            await recorder.record(.started(info))
            await recorder.record(.setupFinished(SetupResult(name: "vm", phase: .setup, outcome: index == 7 ? .failed : .ok, started: started,
                                                             duration: 1.25, exitStatus: index == 7 ? 2 : 0, reason: index == 7 ? "exit 2" : nil,
                                                             logPath: "setups/vm")))
            var results: [TestResult] = []
            for (position, test) in tests.enumerated() where !(index % 5 == 0 && test == "/io") {
                let outcomes: [TestOutcome] = [.pass, .fail, .pass, .timeout, .skip, .pass, .error]
                var result = TestResult(id: test, outcome: outcomes[(index + position) % outcomes.count],
                                        started: started.addingTimeInterval(Double(position)), duration: 0.5 + Double(position),
                                        exitStatus: Int32(position), signal: position == 3 ? 9 : nil, reason: "reason \(position)",
                                        logDirectory: "tests/\(position)")
                if test == "/boot" && index % 2 == 0 {
                    result.kernelLog = "<4>[ \(index).000000] WARNING: CPU: 1 PID: 7 at mm/slub.c:42\n<6>[ \(index).5] \"quoted\" ü"
                }
                if test == "/kvm/unit" {
                    result.subtests = [Subtest(name: "smp, 2 cpus", outcome: .pass, ordinal: 1),
                                       Subtest(name: "apic", outcome: index % 2 == 0 ? .fail : .pass, reason: "timer", ordinal: 2),
                                       Subtest(name: "pmu", outcome: .skip, ordinal: 3), Subtest(name: "x", outcome: .fail, ordinal: 4)]
                    result.subtestCounts = SubtestCounts(result.subtests)
                }
                if test == "/flaky" && index % 3 == 1 {
                    let first = TestResult(id: test, outcome: .fail, started: started, duration: 0.75, exitStatus: 1, reason: "exit 1",
                                           logDirectory: "tests/flaky-1")
                    await recorder.record(.testRerun(first, attempt: 1, step: nil))
                    result.outcome = .pass
                    result.attempts = [TestAttempt(first)]
                    result.flaky = .rerun(attempts: 2)
                }
                if test == "/flaky" && index % 3 == 2 {
                    result.outcome = .fail
                    result.flaky = .forgiven(failures: 1, window: 5, threshold: 2)
                }
                results.append(result)
                if index == 11 && position == 2 { break }
                await recorder.record(.testFinished(result))
            }
            // The last run is killed after its third test: no end.
            if index == 11 { continue }
            await recorder.record(.finished(RunSummary(id: id, started: started, finished: started.addingTimeInterval(600), tests: results,
                                                       setups: [], interrupted: index == 9, haltedBy: index == 7 ? "vm" : nil)))
        }
    }

    @Test("every query of the history commands answers the same on SQLite and PostgreSQL")
    func same() async throws {
        let sqliteTree = try TemporaryTree()
        let postgresTree = try TemporaryTree()
        let sqlite = try StoreKind.sqlite.open(sqliteTree)
        let postgres = try StoreKind.postgres.open(postgresTree)
        await Self.record(into: sqlite)
        await Self.record(into: postgres)
        let ids = try sqlite.runs().map(\.id)
        #expect(ids.count == 12)
        #expect(try postgres.runs().map(\.id) == ids)
        for id in ids {
            #expect(ReportWriter.json(try postgres.report(id)) == ReportWriter.json(try sqlite.report(id)), "report \(id)")
            #expect(Self.describe(try postgres.run(id)) == Self.describe(try sqlite.run(id)))
            let (sqliteTests, sqliteSetups) = try sqlite.outcomes(ofRun: id)
            let (postgresTests, postgresSetups) = try postgres.outcomes(ofRun: id)
            #expect(postgresTests == sqliteTests && postgresSetups == sqliteSetups, "outcomes \(id)")
            let (sqliteBrief, sqliteBriefSetups) = try sqlite.briefResults(ofRun: id)
            let (postgresBrief, postgresBriefSetups) = try postgres.briefResults(ofRun: id)
            #expect(postgresBrief == sqliteBrief && postgresBriefSetups == sqliteBriefSetups, "brief \(id)")
            #expect(try postgres.snapshot(ofRun: id) == sqlite.snapshot(ofRun: id))
            let run = try sqlite.run(id)
            #expect(try postgres.previousComparableRun(of: run)?.id == sqlite.previousComparableRun(of: run)?.id)
            let tests = ["/boot", "/net/ping", "/kvm/unit", "/flaky", "/io", "/absent"]
            #expect(try postgres.latestVerdicts(of: tests, before: run) == sqlite.latestVerdicts(of: tests, before: run), "verdicts before \(id)")
        }
        for filter in [RunFilter(), RunFilter(host: "lab2"), RunFilter(host: "lab1", environment: "qemu"), RunFilter(environment: "lab", limit: 3)] {
            #expect(try postgres.runs(filter).map(Self.describe) == sqlite.runs(filter).map(Self.describe))
            for test in ["/boot", "/kvm/unit", "/flaky", "/io", "/absent"] {
                #expect(try postgres.testHistory(test, filter: filter) == sqlite.testHistory(test, filter: filter), "history \(test)")
            }
        }
        for test in ["/flaky", "/kvm/unit"] {
            #expect(postgres.verdictHistory(host: "lab2", environment: "lab", excludingRun: ids[0]).recentVerdicts(test: test, limit: 4)
                == sqlite.verdictHistory(host: "lab2", environment: "lab", excludingRun: ids[0]).recentVerdicts(test: test, limit: 4))
        }
        #expect(try postgres.recentTestIDs(runs: 3) == sqlite.recentTestIDs(runs: 3))
        #expect(try postgres.hasTest("/io") && !postgres.hasTest("/IO"))
        #expect(postgres.history() == sqlite.history())
        #expect(try postgres.testHistory("/kvm/unit", filter: RunFilter()).contains { $0.failedSubtests == ["apic", "x"] })
        // Schema v6 read back from PostgreSQL itself (not only equal to SQLite's).
        let boot = try postgres.report("20261101-000000-0000").tests.first { $0.id == "/boot" }
        #expect(boot?.kernelLog?.hasSuffix("\"quoted\" ü") == true)
        #expect(try postgres.run("20261102-000000-0001").taintAtStart == "W")
        #expect(try postgres.run("20261103-000000-0002").taintAtStart == nil)
    }

    /// A run row as text, every field (its directory and lock holder too).
    static func describe(_ run: RunReport.Run) -> String {
        "\(run.id) \(run.environment) \(run.started.timeIntervalSince1970) \(String(describing: run.finished?.timeIntervalSince1970)) "
            + "\(String(describing: run.exitCode)) \(run.complete) \(run.interrupted) \(String(describing: run.haltedBy)) \(run.directory) "
            + "\(run.jobs) \(String(describing: run.recordingError)) \(String(describing: run.host)) \(String(describing: run.machineID)) "
            + "\(run.labels.sorted { $0.key < $1.key }) \(String(describing: run.suiteCommit)) \(String(describing: run.suiteDirty)) "
            + "\(String(describing: run.snapshot)) \(String(describing: run.counts?.sorted { $0.key.rawValue < $1.key.rawValue })) "
            + "\(String(describing: run.flakyCounts)) \(String(describing: run.rerunFailures)) \(run.running == nil) "
            + "\(String(describing: run.taintAtStart))"
    }
}
