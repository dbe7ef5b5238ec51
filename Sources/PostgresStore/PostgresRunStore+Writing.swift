import Execution
import Foundation
import HostFacts
import PostgresNIO
import Results

// Writing a run's rows: the same rows, with the same values, as `SQLiteRunStore` writes.
extension PostgresRunStore {
    /// How many rows one INSERT of a run's tests carries (5 parameters each, under PostgreSQL's 65,535).
    static let insertBatch = 1_000

    /// The run's start: its snapshot (shared by hash), its row, its facts, and one `pending` row per test (the
    /// verdicts decided before running written at once).
    func insertStart(_ connection: PostgresConnection, _ info: RunInfo) throws {
        var snapshot: String?
        if let body = info.snapshot?.canonicalJSON() {
            let hash = RunSnapshot.hash(of: body)
            _ = try PostgresSession.query(connection, "INSERT INTO snapshot (hash, body) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING", [hash, body])
            snapshot = hash
        }
        _ = try PostgresSession.query(connection, """
            INSERT INTO run (id, environment, started, directory, jobs, host, machine_id, snapshot, labels, suite_commit, suite_dirty, rerun_failures)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """, [info.id, info.environment, info.started.timeIntervalSince1970, info.directory, info.jobs, info.host, info.machineID,
                  snapshot, RowJSON.encode(info.labels), info.suiteCommit, info.suiteDirty.map { $0 ? 1 : 0 }, info.rerunFailures])
        for item in info.facts {
            _ = try PostgresSession.query(connection, """
                INSERT INTO fact (run_id, name, value, source) VALUES ($1, $2, $3, $4)
                ON CONFLICT (run_id, name) DO UPDATE SET value = EXCLUDED.value, source = EXCLUDED.source
                """, [info.id, item.name, item.value, item.source])
        }
        let decided = Dictionary(info.decided.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let tests = Array(info.tests.enumerated())
        for start in stride(from: 0, to: tests.count, by: Self.insertBatch) {
            var values: [(any PostgresDynamicTypeEncodable)?] = []
            var rows: [String] = []
            for (position, id) in tests[start..<min(start + Self.insertBatch, tests.count)] {
                let result = decided[id]
                let first = values.count
                values += [info.id, position, id, result?.outcome.rawValue ?? "pending", result?.reason]
                rows.append("($\(first + 1), $\(first + 2), $\(first + 3), $\(first + 4), $\(first + 5))")
            }
            _ = try PostgresSession.query(connection, "INSERT INTO test_result (run_id, position, id, outcome, reason) VALUES "
                                          + rows.joined(separator: ", "), values)
        }
    }

    /// The run's taint at its start, on its row (schema v6; written with its start, nothing when there is none).
    func recordTaintAtStart(_ connection: PostgresConnection, _ info: RunInfo) throws {
        guard let taint = info.taintAtStart else { return }
        _ = try PostgresSession.query(connection, "UPDATE run SET taint_at_start = $1 WHERE id = $2", [taint, info.id])
    }

    /// A test's result (with its kernel log, schema v6): its row updated, its earlier attempts and its subtests written (again: replaced).
    func updateTest(_ connection: PostgresConnection, _ runID: String, _ result: TestResult) throws {
        var flaky: (kind: String?, failures: Int?, window: Int?, threshold: Int?) = (result.flaky?.kind, nil, nil, nil)
        if case let .forgiven(failures, window, threshold)? = result.flaky { flaky = (flaky.kind, failures, window, threshold) }
        let counts = result.subtestCounts.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
        _ = try PostgresSession.query(connection, """
            UPDATE test_result SET outcome = $1, started = $2, duration = $3, exit_status = $4, signal = $5, reason = $6, blocked_by = $7,
                log = $8, attempts = $9, flaky = $10, flaky_failures = $11, flaky_window = $12, flaky_threshold = $13, subtest_counts = $14,
                kernel_log = $15
            WHERE run_id = $16 AND id = $17
            """, [result.outcome.rawValue, result.started?.timeIntervalSince1970, result.duration, result.exitStatus.map(Int.init),
                  result.signal.map(Int.init), result.reason, result.blockedBy, result.logDirectory, result.attempts.count + 1, flaky.kind,
                  flaky.failures, flaky.window, flaky.threshold, counts, result.kernelLog, runID, result.id])
        for (index, attempt) in result.attempts.enumerated() {
            try insertAttempt(connection, runID, id: result.id, attempt: index + 1, attempt)
        }
        _ = try PostgresSession.query(connection, "DELETE FROM subtest WHERE run_id = $1 AND test_id = $2", [runID, result.id])
        for start in stride(from: 0, to: result.subtests.count, by: Self.insertBatch) {
            var values: [(any PostgresDynamicTypeEncodable)?] = []
            var rows: [String] = []
            for subtest in result.subtests[start..<min(start + Self.insertBatch, result.subtests.count)] {
                let first = values.count
                values += [runID, result.id, subtest.ordinal, subtest.name, subtest.outcome.rawValue, subtest.reason]
                rows.append("(" + (1...6).map { "$\(first + $0)" }.joined(separator: ", ") + ")")
            }
            _ = try PostgresSession.query(connection, "INSERT INTO subtest (run_id, test_id, ordinal, name, outcome, reason) VALUES "
                                          + rows.joined(separator: ", "), values)
        }
    }

    /// One earlier attempt of a test run again (`--rerun-failures`): its `test_attempt` row (the same row when written again).
    func insertAttempt(_ connection: PostgresConnection, _ runID: String, id: String, attempt number: Int, _ attempt: TestAttempt) throws {
        _ = try PostgresSession.query(connection, """
            INSERT INTO test_attempt (run_id, id, attempt, outcome, started, duration, exit_status, signal, reason, log)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (run_id, id, attempt) DO UPDATE SET outcome = EXCLUDED.outcome, started = EXCLUDED.started,
                duration = EXCLUDED.duration, exit_status = EXCLUDED.exit_status, signal = EXCLUDED.signal, reason = EXCLUDED.reason,
                log = EXCLUDED.log
            """, [runID, id, number, attempt.outcome.rawValue, attempt.started?.timeIntervalSince1970, attempt.duration,
                  attempt.exitStatus.map(Int.init), attempt.signal.map(Int.init), attempt.reason, attempt.logDirectory])
    }

    /// A setup's result, numbered in the order results arrive.
    func insertSetup(_ connection: PostgresConnection, _ runID: String, _ result: SetupResult) throws {
        _ = try PostgresSession.query(connection, """
            INSERT INTO setup_result (run_id, seq, name, test_id, phase, outcome, started, duration, exit_status, signal, reason, log)
            VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM setup_result WHERE run_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """, [runID, result.name, result.test, result.phase.rawValue, result.outcome.rawValue, result.started?.timeIntervalSince1970,
                  result.duration, result.exitStatus.map(Int.init), result.signal.map(Int.init), result.reason, result.logPath])
    }

    /// The run's end: its exit code, what went wrong while recording it (nil: nothing), its counts by outcome.
    func updateFinish(_ connection: PostgresConnection, _ summary: RunSummary, exitCode: Int32, recordingError: String?) throws {
        _ = try PostgresSession.query(connection, """
            UPDATE run SET finished = $1, exit_code = $2, complete = $3, interrupted = $4, halted_by = $5, recording_error = $6, counts = $7
            WHERE id = $8
            """, [summary.finished.timeIntervalSince1970, Int(exitCode), summary.interrupted ? 0 : 1, summary.interrupted ? 1 : 0,
                  summary.haltedBy, recordingError,
                  RowJSON.encode(RunReport.counts(of: summary.tests), marks: RowJSON.marks(of: summary.tests)), summary.id])
    }

    /// Removes every row of a run (before it is written again whole).
    func deleteRun(_ connection: PostgresConnection, _ runID: String) throws {
        for table in ["subtest", "fact", "test_result", "test_attempt", "setup_result"] {
            _ = try PostgresSession.query(connection, "DELETE FROM \(table) WHERE run_id = $1", [runID])
        }
        _ = try PostgresSession.query(connection, "DELETE FROM run WHERE id = $1", [runID])
    }
}
