import Execution
import ProcessSupervision
import Foundation
import HostFacts
import Requirements

/// Where a run stands, as `runs --json` and `report --json` write it (`"state"`).
public enum RunState: String, Sendable, Codable {
    /// Every step finished and the run was not interrupted.
    case complete
    /// Stopped by a signal (Ctrl-C, SIGTERM).
    case interrupted
    /// A `testbed run` still holds it.
    case running
    /// Ended without its end recorded (killed, or its recording failed) and no `testbed run` holds it.
    case incomplete
}

/// One run as a `RunStore` has it: what `testbed report` shows and every
/// report writer (text, JSON, JUnit, TAP) renders. Read back from the store
/// (`RunStore.report(_:)`), or handed over by the recorder as a run ends
/// (`RunRecorder.report`): the same value either way.
public struct RunReport: Sendable {
    /// The run's own row.
    public struct Run: Sendable {
        /// The run id (`20261121-142233-1a2b`).
        public var id: String
        /// The environment's name (`local`, `lab-r420`).
        public var environment: String
        /// When the run started.
        public var started: Date
        /// When it ended; nil when it never finished (killed) or its end could not be recorded.
        public var finished: Date?
        /// The exit code recorded with its end (`ExitPolicy`); nil when unfinished.
        public var exitCode: Int32?
        /// Every step finished and the run was not interrupted.
        public var complete: Bool
        /// The run was stopped by a signal.
        public var interrupted: Bool
        /// The infrastructure failure that halted the run (`--halt-on-infra`), if any.
        public var haltedBy: String?
        /// Absolute path of the run directory.
        public var directory: String
        /// How many steps ran at once (`-j`).
        public var jobs: Int
        /// What went wrong while recording the run (the results database was
        /// deleted, the disk was full): nil when nothing did.
        public var recordingError: String? = nil
        /// The `testbed run` still going on with this run (it holds the run's
        /// `RunLock`: a lock on its run directory), as read back by the store; nil when none does.
        public var running: RunLock.Holder? = nil
        /// The hostname the run ran on; nil for runs recorded before Testbed recorded it.
        public var host: String? = nil
        /// `/etc/machine-id` of that host; nil when unreadable or not recorded.
        public var machineID: String? = nil
        /// `--label KEY=VALUE`, by key (empty: none).
        public var labels: [String: String] = [:]
        /// The suite root's git commit; nil outside a git work tree (or not recorded).
        public var suiteCommit: String? = nil
        /// Whether the suite's work tree had changes; nil outside one (or not recorded).
        public var suiteDirty: Bool? = nil
        /// The hash (SHA-256, hex) of the run's snapshot (`RunSnapshot`); nil when none was recorded.
        public var snapshot: String? = nil
        /// How many tests had each outcome, as recorded at the run's end; for a run that never ended, counted from its
        /// results when read back (`runs`, `report`: a result not written yet is left out while the run is still going, and
        /// counts as interrupted once it is not); nil when nothing counted them.
        public var counts: [TestOutcome: Int]? = nil
        /// Of the failures in `counts`, how many the flaky policy forgave, and of the passes, how many passed
        /// on a rerun, as recorded at the run's end (the `counts` keys `forgiven` and `flaky_pass`); nil for runs
        /// recorded before Testbed kept them, or that never ended.
        public var flakyCounts: (forgiven: Int, rerunPasses: Int)? = nil
        /// `--rerun-failures` of the run; nil for runs recorded before Testbed recorded it.
        public var rerunFailures: Int? = nil
        /// The kernel's taint flags as the run started (`W`: never blamed on a test); nil when untainted, not read,
        /// or recorded before Testbed kept it.
        public var taintAtStart: String? = nil

        /// Where the run stands: complete, interrupted, still running, or incomplete (ended without its end recorded).
        public var state: RunState {
            complete ? .complete : interrupted ? .interrupted : running != nil ? .running : .incomplete
        }

        /// The counts as recorded at the run's end, by outcome name, with `forgiven` and `flaky_pass` when
        /// any (the JSON `"counts"` of `runs --json` and `report --json`); empty for a run that never ended.
        public var countsByName: [String: Int] {
            var names = Dictionary(uniqueKeysWithValues: (counts ?? [:]).map { ($0.key.rawValue, $0.value) })
            if let flakyCounts, flakyCounts.forgiven > 0 { names["forgiven"] = flakyCounts.forgiven }
            if let flakyCounts, flakyCounts.rerunPasses > 0 { names["flaky_pass"] = flakyCounts.rerunPasses }
            return names
        }

        /// Seconds from start to end, rounded to the millisecond; nil when unfinished.
        public var duration: Double? {
            finished.map { ($0.timeIntervalSince(started) * 1000).rounded() / 1000 }
        }

        /// "(running for 12 s: testbed pid 4242 is still writing it, in RUN_DIR)" while
        /// a `testbed run` holds the run; nil when none does.
        public var runningNote: String? {
            guard let running else { return nil }
            let elapsed = max(0, Int(Date().timeIntervalSince(started)))
            let time = elapsed < 120 ? "\(elapsed) s" : elapsed < 7200 ? "\(elapsed / 60) min" : "\(elapsed / 3600) h"
            let who = running.pid.map { "testbed pid \($0)" } ?? "a testbed"
            return "(running for \(time): \(who) is still writing it, in \(directory))"
        }
    }

    /// The run's own row.
    public var run: Run
    /// Every selected test, in plan order.
    public var tests: [TestResult]
    /// Every setup, teardown and restore, in the order they ended.
    public var setups: [SetupResult]
    /// The facts of the environment, as recorded with the run.
    public var facts: [Fact]

    /// A run from its parts.
    ///
    /// - Parameters:
    ///   - run: the run's row.
    ///   - tests: every selected test's result, in plan order.
    ///   - setups: every setup's, teardown's and restore's result.
    ///   - facts: the facts recorded with the run.
    public init(run: Run, tests: [TestResult], setups: [SetupResult], facts: [Fact]) {
        self.run = run
        self.tests = tests
        self.setups = setups
        self.facts = facts
    }

    /// The report of a run that just ended, without reading the database
    /// back: its exit code and recording trouble as `recording` has them
    /// (the run row's).
    ///
    /// - Parameters:
    ///   - info: the run as it started (`.started`).
    ///   - summary: the run as it ended (`.finished`).
    ///   - recording: how its recording ended.
    public init(info: RunInfo, summary: RunSummary, recording: RecordingOutcome) {
        run = Run(id: info.id, environment: info.environment, started: summary.started, finished: summary.finished,
                  exitCode: recording.exitCode, complete: !summary.interrupted, interrupted: summary.interrupted,
                  haltedBy: summary.haltedBy, directory: info.directory, jobs: info.jobs,
                  recordingError: recording.recordingError)
        run.host = info.host
        run.machineID = info.machineID
        run.labels = info.labels
        run.suiteCommit = info.suiteCommit
        run.suiteDirty = info.suiteDirty
        run.snapshot = info.snapshot.map { RunSnapshot.hash(of: $0.canonicalJSON()) }
        run.counts = RunReport.counts(of: summary.tests)
        run.rerunFailures = info.rerunFailures
        run.taintAtStart = info.taintAtStart
        tests = summary.tests
        setups = summary.setups
        facts = info.facts
    }

    /// The tests that failed, timed out or could not start.
    public var testFailures: [TestResult] { tests.filter(\.outcome.isTestFailure) }
    /// The setups, teardowns and restores that failed or timed out.
    public var infrastructureFailures: [SetupResult] { setups.filter(\.outcome.isInfrastructureFailure) }

    /// The run's exit code as `--exit-codes` asks, by `ExitPolicy` (130 when
    /// interrupted, the infrastructure bit when its recording went wrong).
    ///
    /// - Parameter codes: the scheme (`--exit-codes`).
    /// - Returns: the code (`ExitPolicy.run(tests:setups:interrupted:recordingFailed:)`).
    public func exitCode(_ codes: ExitCodes) -> Int32 {
        ExitPolicy(codes).run(tests: tests, setups: setups.lazy.map(\.outcome), interrupted: run.interrupted,
                              recordingFailed: run.recordingError != nil)
    }

    /// How many tests have each outcome.
    public var counts: [TestOutcome: Int] { Self.counts(of: tests) }

    /// How many of `tests` have each outcome (outcomes none has are absent).
    ///
    /// - Parameter tests: the results.
    /// - Returns: outcome → count.
    public static func counts(of tests: [TestResult]) -> [TestOutcome: Int] {
        var counts: [TestOutcome: Int] = [:]
        for test in tests { counts[test.outcome, default: 0] += 1 }
        return counts
    }

    /// The tests a failed setup blocked.
    ///
    /// - Parameter setup: the setup's name.
    /// - Returns: the blocked tests naming it, in plan order.
    public func blocked(by setup: String) -> [TestResult] {
        tests.filter { $0.outcome == .blocked && $0.blockedBy == setup }
    }
}
