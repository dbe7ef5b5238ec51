import Execution
import ProcessSupervision
import Foundation
import GRDB
import Requirements

/// One run as the results database has it: what `testbed report` shows.
public struct RunReport: Sendable {
    /// The run's own row.
    public struct Run: Sendable {
        public var id: String
        public var environment: String
        public var started: Date
        public var finished: Date?
        public var exitCode: Int32?
        /// Every step finished and the run was not interrupted.
        public var complete: Bool
        public var interrupted: Bool
        public var haltedBy: String?
        /// Absolute path of the run directory.
        public var directory: String
        public var jobs: Int
        /// What went wrong while recording the run (the results database was
        /// deleted, the disk was full): nil when nothing did.
        public var recordingError: String? = nil
    }

    public var run: Run
    public var tests: [TestResult]
    public var setups: [SetupResult]
    public var facts: [Fact]

    public init(run: Run, tests: [TestResult], setups: [SetupResult], facts: [Fact]) {
        self.run = run
        self.tests = tests
        self.setups = setups
        self.facts = facts
    }

    /// The report of a run that just ended, without reading the database
    /// back: its exit code and recording trouble as `recording` has them
    /// (the run row's).
    public init(info: RunInfo, summary: RunSummary, recording: RecordingOutcome) {
        run = Run(id: info.id, environment: info.environment, started: summary.started, finished: summary.finished,
                  exitCode: recording.exitCode, complete: !summary.interrupted, interrupted: summary.interrupted,
                  haltedBy: summary.haltedBy, directory: info.directory, jobs: info.jobs,
                  recordingError: recording.recordingError)
        tests = summary.tests
        setups = summary.setups
        facts = info.facts
    }

    public var testFailures: [TestResult] { tests.filter(\.outcome.isTestFailure) }
    public var infrastructureFailures: [SetupResult] { setups.filter(\.outcome.isInfrastructureFailure) }

    /// The run's exit code as `--exit-codes` asks (130 when interrupted),
    /// by the rule of `RunSummary.exitCode(_:recordingFailed:)`.
    public func exitCode(_ codes: ExitCodes) -> Int32 {
        codes.code(codes.code(testFailures: testFailures.count,
                              infrastructureFailures: infrastructureFailures.count + tests.filter { $0.outcome == .blocked }.count,
                              interrupted: run.interrupted, nothingSelected: tests.isEmpty,
                              nothingTested: !tests.contains { $0.outcome.isVerdict }),
                   recordingFailed: run.recordingError != nil)
    }

    /// How many tests have each outcome.
    public var counts: [TestOutcome: Int] {
        var counts: [TestOutcome: Int] = [:]
        for test in tests { counts[test.outcome, default: 0] += 1 }
        return counts
    }

    /// The tests a failed setup blocked.
    public func blocked(by setup: String) -> [TestResult] {
        tests.filter { $0.outcome == .blocked && $0.blockedBy == setup }
    }
}

extension ResultStore {
    /// A run by id (or a unique prefix of one); the newest when `id` is nil.
    public func report(_ id: String? = nil) throws(StoreError) -> RunReport {
        do {
            return try pool.read { db -> RunReport in
                let row: Row?
                if let id {
                    row = try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id])
                        ?? Row.fetchAll(db, sql: "SELECT * FROM run WHERE id LIKE ? ORDER BY started DESC", arguments: [id + "%"])
                            .first
                } else {
                    row = try Row.fetchOne(db, sql: "SELECT * FROM run ORDER BY started DESC, id DESC LIMIT 1")
                }
                guard let row else { throw id.map { StoreError.noSuchRun($0, directory) } ?? StoreError.noRuns(directory) }
                return try Self.load(db, run: row)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .cannotOpen(directory + "/" + Self.databaseName, Self.why(error))
        }
    }

    /// Every run, newest first.
    public func runs() throws(StoreError) -> [RunReport.Run] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM run ORDER BY started DESC, id DESC").map(Self.run)
            }
        } catch {
            throw .cannotOpen(directory + "/" + Self.databaseName, Self.why(error))
        }
    }

    static func run(_ row: Row) -> RunReport.Run {
        RunReport.Run(
            id: row["id"], environment: row["environment"],
            started: Date(timeIntervalSince1970: row["started"]),
            finished: (row["finished"] as Double?).map(Date.init(timeIntervalSince1970:)),
            exitCode: row["exit_code"], complete: row["complete"], interrupted: row["interrupted"],
            haltedBy: row["halted_by"], directory: row["directory"], jobs: row["jobs"],
            recordingError: row["recording_error"])
    }

    static func load(_ db: Database, run row: Row) throws -> RunReport {
        let run = Self.run(row)
        let tests = try Row.fetchAll(db, sql: "SELECT * FROM test_result WHERE run_id = ? ORDER BY position", arguments: [run.id])
            .map { row -> TestResult in
                let stored: String = row["outcome"]
                var result = TestResult(
                    id: row["id"], outcome: TestOutcome(rawValue: stored) ?? .interrupted,
                    started: (row["started"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    duration: row["duration"], exitStatus: row["exit_status"], signal: row["signal"],
                    reason: row["reason"], blockedBy: row["blocked_by"], logDirectory: row["log"])
                if stored == "pending" {
                    result.reason = run.finished == nil
                        ? "not finished: the run stopped before this test had a result (testbed was killed, or could not record it)"
                        : run.recordingError == nil ? "not run"
                        : "not run, or its result could not be recorded (the run's recording error says why)"
                }
                return result
            }
        let setups = try Row.fetchAll(db, sql: "SELECT * FROM setup_result WHERE run_id = ? ORDER BY seq", arguments: [run.id])
            .map { row in
                SetupResult(
                    name: row["name"], test: row["test_id"], phase: SetupPhase(rawValue: row["phase"]) ?? .setup,
                    outcome: SetupOutcome(rawValue: row["outcome"]) ?? .failed,
                    started: (row["started"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    duration: row["duration"], exitStatus: row["exit_status"], signal: row["signal"],
                    reason: row["reason"], logPath: row["log"])
            }
        let facts = try Row.fetchAll(db, sql: "SELECT * FROM fact WHERE run_id = ? ORDER BY name", arguments: [run.id])
            .map { Fact(name: $0["name"], value: $0["value"], source: $0["source"]) }
        return RunReport(run: run, tests: tests, setups: setups, facts: facts)
    }
}
