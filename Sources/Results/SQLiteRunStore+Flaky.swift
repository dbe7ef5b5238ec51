import Execution
import Foundation
import GRDB

/// A test's earlier verdicts on one host and environment, read from the
/// results database: what a `flaky: K/N` test's failure is judged by.
struct SQLiteVerdictHistory: VerdictHistory {
    let store: SQLiteRunStore
    /// `run.host` of the runs looked at.
    let host: String
    /// `run.environment` of the runs looked at.
    let environment: String
    /// The run being judged, left out (its own row is still being written).
    let runID: String

    /// The latest verdicts of `test` in other runs on `host` and
    /// `environment`, newest first (by the run's start); empty when the
    /// database cannot be read.
    func recentVerdicts(test: String, limit: Int) -> [TestOutcome] {
        guard limit > 0 else { return [] }
        let rows = try? store.pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT t.outcome FROM test_result t JOIN run r ON r.id = t.run_id
                WHERE t.id = ? AND r.host = ? AND r.environment = ? AND r.id <> ?
                    AND t.outcome IN ('pass', 'fail', 'timeout', 'error')
                ORDER BY r.started DESC LIMIT ?
                """, arguments: [test, host, environment, runID, limit])
        }
        return (rows ?? []).compactMap(TestOutcome.init(rawValue:))
    }
}

extension SQLiteRunStore {
    /// The verdicts of earlier runs on `host` and `environment`, for the
    /// flaky policy; the run `runID` itself is left out.
    ///
    /// - Parameters:
    ///   - host: The host's name (`run.host`).
    ///   - environment: The environment's name.
    ///   - runID: The run being judged.
    /// - Returns: A history read from this store's database when asked.
    public func verdictHistory(host: String, environment: String, excludingRun runID: String) -> any VerdictHistory {
        SQLiteVerdictHistory(store: self, host: host, environment: environment, runID: runID)
    }
}

// Reading back what the flaky policy and reruns wrote.
extension SQLiteRunStore {
    /// The `flaky` mark of a `test_result` row; nil when it has none (or was written before there were marks).
    static func flakyMark(_ row: Row) -> FlakyMark? {
        switch row["flaky"] as String? {
        case "forgiven":
            let failures: Int = row["flaky_failures"] ?? 1
            let window: Int = row["flaky_window"] ?? failures
            return .forgiven(failures: failures, window: window, threshold: row["flaky_threshold"] ?? failures + 1)
        case "rerun":
            return .rerun(attempts: row["attempts"] ?? 2)
        default:
            return nil
        }
    }

    /// `tests` with their earlier attempts (`test_attempt` rows), first first.
    static func withAttempts(_ db: Database, run: String, _ tests: [TestResult]) throws -> [TestResult] {
        var attempts: [String: [TestAttempt]] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM test_attempt WHERE run_id = ? ORDER BY id, attempt", arguments: [run])
        while let row = try rows.next() {
            let outcome: String = row["outcome"]
            attempts[row["id"], default: []].append(TestAttempt(
                outcome: TestOutcome(rawValue: outcome) ?? .fail,
                started: (row["started"] as Double?).map(Date.init(timeIntervalSince1970:)),
                duration: row["duration"], exitStatus: row["exit_status"], signal: row["signal"],
                reason: row["reason"], logDirectory: row["log"]))
        }
        guard !attempts.isEmpty else { return tests }
        return tests.map { test in
            var test = test
            test.attempts = attempts[test.id] ?? []
            return test
        }
    }
}

// Writing what reruns and the flaky policy need beside schema v3.
extension SQLiteRunStore {
    /// Schema v4: the run's `--rerun-failures` (how many attempts a test
    /// had: "passed on attempt 2 of 3") and the K of a forgiven failure's
    /// `flaky: K/N` (`flaky_threshold`). NULL in rows written before it.
    static func migrateToV4(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE run ADD COLUMN rerun_failures INTEGER;
            ALTER TABLE test_result ADD COLUMN flaky_threshold INTEGER;
            """)
    }

    /// The run's `--rerun-failures`, on its row (written with its start).
    func recordReruns(_ db: Database, _ info: RunInfo) throws {
        try db.execute(sql: "UPDATE run SET rerun_failures = ? WHERE id = ?", arguments: [info.rerunFailures, info.id])
    }
}
