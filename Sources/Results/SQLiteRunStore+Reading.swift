import Execution
import Foundation
import GRDB
import Requirements
import Subtests

// Reading runs back from the SQLite database: `testbed report`.
extension SQLiteRunStore {
    /// A run by id (or a unique prefix of one); the newest when `id` is nil.
    ///
    /// - Parameter id: a run id or a unique prefix of one (every character literal: `%` and `_` too); nil for the latest run.
    /// - Returns: the run with every result written; `run.running` says whether a `testbed run` still holds it.
    /// - Throws: `StoreError.noSuchRun`, `.ambiguousRun` (a prefix of several runs' ids), `.noRuns`, or `.cannotOpen` when the
    ///   database cannot be read.
    public func report(_ id: String? = nil) throws(StoreError) -> RunReport {
        do {
            return try pool.read { db -> RunReport in
                try Self.load(db, run: runRow(db, id))
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .cannotOpen(directory + "/" + Self.databaseName, Self.why(error))
        }
    }

    /// Every run, newest first.
    ///
    /// - Returns: the runs' rows.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func runs() throws(StoreError) -> [RunReport.Run] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM run ORDER BY started DESC, id DESC").map(Self.run)
            }
        } catch {
            throw .cannotOpen(directory + "/" + Self.databaseName, Self.why(error))
        }
    }

    /// The run whose id begins with `prefix` (compared character for
    /// character: no LIKE, so `%` and `_` are themselves); nil when none does.
    ///
    /// - Throws: `StoreError.ambiguousRun` naming the runs (newest first) when several do.
    /// The row of run `id` (or of the one run whose id begins with it); the latest run's when `id` is nil.
    ///
    /// - Throws: `StoreError.noSuchRun`, `.ambiguousRun`, `.noRuns`, or what the database throws.
    func runRow(_ db: Database, _ id: String?) throws -> Row {
        let row: Row?
        if let id {
            row = try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]) ?? onlyRun(db, prefix: id)
        } else {
            row = try Row.fetchOne(db, sql: "SELECT * FROM run ORDER BY started DESC, id DESC LIMIT 1")
        }
        guard let row else { throw id.map { StoreError.noSuchRun($0, directory) } ?? StoreError.noRuns(directory) }
        return row
    }

    func onlyRun(_ db: Database, prefix: String) throws -> Row? {
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM run WHERE substr(id, 1, length(?1)) = ?1 ORDER BY started DESC, id DESC",
                                    arguments: [prefix])
        guard rows.count > 1 else { return rows.first }
        throw StoreError.ambiguousRun(prefix, rows.map { $0["id"] as String }, directory)
    }

    static func run(_ row: Row) -> RunReport.Run {
        let finished = (row["finished"] as Double?).map(Date.init(timeIntervalSince1970:))
        let directory: String = row["directory"]
        var run = RunReport.Run(
            id: row["id"], environment: row["environment"],
            started: Date(timeIntervalSince1970: row["started"]),
            finished: finished,
            exitCode: row["exit_code"], complete: row["complete"], interrupted: row["interrupted"],
            haltedBy: row["halted_by"], directory: directory, jobs: row["jobs"],
            recordingError: row["recording_error"],
            running: finished == nil ? RunLock.holder(ofRunAt: directory) : nil)
        run.host = row["host"]
        run.machineID = row["machine_id"]
        run.labels = RowJSON.labels(row["labels"])
        run.suiteCommit = row["suite_commit"]
        run.suiteDirty = row["suite_dirty"]
        run.snapshot = row["snapshot"]
        run.counts = RowJSON.counts(row["counts"])
        run.flakyCounts = RowJSON.marks(row["counts"])
        run.rerunFailures = row["rerun_failures"]
        run.taintAtStart = row["taint_at_start"]
        return run
    }

    static func load(_ db: Database, run row: Row) throws -> RunReport {
        var run = Self.run(row)
        // As `runs` has them: a run that never ended has its results counted.
        if run.counts == nil { run.counts = try Self.countResults(db, run: run) }
        var subtestCounts: [String: SubtestCounts] = [:]
        let results = try Row.fetchAll(db, sql: "SELECT * FROM test_result WHERE run_id = ? ORDER BY position", arguments: [run.id])
            .map { row -> TestResult in
                if let counts = Self.subtestCounts(row["subtest_counts"]) { subtestCounts[row["id"]] = counts }
                let stored: String = row["outcome"]
                var result = TestResult(
                    id: row["id"], outcome: TestOutcome(rawValue: stored) ?? .interrupted,
                    started: (row["started"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    duration: row["duration"], exitStatus: row["exit_status"], signal: row["signal"],
                    reason: row["reason"], blockedBy: row["blocked_by"], logDirectory: row["log"])
                result.flaky = Self.flakyMark(row)
                result.kernelLog = row["kernel_log"]
                if stored == "pending" { result.reason = run.pendingReason }
                return result
            }
        let tests = try Self.withSubtests(db, run: run.id, try Self.withAttempts(db, run: run.id, results), counts: subtestCounts)
        let setups = try Row.fetchAll(db, sql: "SELECT * FROM setup_result WHERE run_id = ? ORDER BY seq", arguments: [run.id])
            .map(Self.setup)
        let facts = try Row.fetchAll(db, sql: "SELECT * FROM fact WHERE run_id = ? ORDER BY name", arguments: [run.id])
            .map { Fact(name: $0["name"], value: $0["value"], source: $0["source"]) }
        return RunReport(run: run, tests: tests, setups: setups, facts: facts)
    }

    /// A setup result from a `setup_result` row.
    static func setup(_ row: Row) -> SetupResult {
        SetupResult(
            name: row["name"], test: row["test_id"], phase: SetupPhase(rawValue: row["phase"]) ?? .setup,
            outcome: SetupOutcome(rawValue: row["outcome"]) ?? .failed,
            started: (row["started"] as Double?).map(Date.init(timeIntervalSince1970:)),
            duration: row["duration"], exitStatus: row["exit_status"], signal: row["signal"],
            reason: row["reason"], logPath: row["log"])
    }
}
