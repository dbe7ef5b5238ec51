import Foundation
import HostFacts
import PostgresNIO
import Execution
import Requirements
import Results

// Enrolled grid hosts (`testbed hosts enroll`): schema v7, the `host` table, as `SQLiteRunStore+Hosts` keeps it.
extension PostgresRunStore {
    /// Records a host's enrolment, replacing its earlier one (its snapshot shared by hash with runs).
    ///
    /// - Parameter host: the host.
    /// - Throws: `StoreError.unreachable` when the row cannot be written.
    public func enrol(_ host: EnrolledHost) throws(StoreError) {
        do {
            try session.transaction { connection in
                var hash: String?
                if let body = host.snapshot?.canonicalJSON() {
                    hash = RunSnapshot.hash(of: body)
                    _ = try PostgresSession.query(connection, "INSERT INTO snapshot (hash, body) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
                                                  [hash, body])
                }
                _ = try PostgresSession.query(connection, """
                    INSERT INTO host (name, enrolled, environment, facts, snapshot, derived_features, features)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (name) DO UPDATE SET enrolled = EXCLUDED.enrolled, environment = EXCLUDED.environment,
                        facts = EXCLUDED.facts, snapshot = EXCLUDED.snapshot, derived_features = EXCLUDED.derived_features,
                        features = EXCLUDED.features
                    """, [host.name, host.enrolled.timeIntervalSince1970, host.environment, RowJSON.encoded(host.facts), hash,
                          RowJSON.encoded(host.derivedFeatures), RowJSON.encoded(host.features)])
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unreachable(location, PostgresSession.why(error))
        }
    }

    /// Every enrolled host, by name.
    ///
    /// - Returns: the hosts, sorted by name (bytewise, as SQLite sorts), each with its snapshot.
    /// - Throws: `StoreError.unreachable` when the rows cannot be read.
    public func enrolledHosts() throws(StoreError) -> [EnrolledHost] {
        try reading { connection in
            try Self.rows(connection, """
                SELECT h.*, s.body FROM host h LEFT JOIN snapshot s ON s.hash = h.snapshot ORDER BY h.name COLLATE "C"
                """).map { row in
                func decoded<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
                    text.flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
                }
                return EnrolledHost(name: row.string("name") ?? "", enrolled: row.date("enrolled") ?? Date(timeIntervalSince1970: 0),
                                    environment: row.string("environment") ?? "", facts: decoded([Fact].self, row.string("facts")) ?? [],
                                    snapshot: row.string("body").flatMap(RunSnapshot.decode),
                                    derivedFeatures: decoded([String].self, row.string("derived_features")) ?? [],
                                    features: decoded([String].self, row.string("features")) ?? [])
            }
        }
    }

    /// Marks a run's unfinished tests interrupted (see `RunStore.interruptUnfinished`).
    ///
    /// - Parameters:
    ///   - runID: the run's id.
    ///   - tests: the test ids the run was given.
    ///   - reason: the reason of each interrupted result.
    ///   - at: when; the run's end when it had none.
    /// - Throws: `StoreError.noSuchRun`, or `.unreachable` when the rows cannot be written.
    public func interruptUnfinished(run runID: String, tests: [String], reason: String, at: Date) throws(StoreError) {
        do {
            try session.transaction { connection in
                guard let row = try Self.rows(connection, "SELECT finished FROM run WHERE id = $1", [runID]).first else {
                    throw StoreError.noSuchRun(runID, location)
                }
                var known: [String: String] = [:]
                for result in try Self.rows(connection, "SELECT id, outcome FROM test_result WHERE run_id = $1", [runID]) {
                    known[result.string("id") ?? ""] = result.string("outcome") ?? ""
                }
                var position = try Self.rows(connection, "SELECT (COALESCE(MAX(position), -1) + 1)::bigint AS next FROM test_result WHERE run_id = $1",
                                             [runID]).first?.int("next") ?? 0
                for id in tests {
                    switch known[id] {
                    case nil:
                        _ = try PostgresSession.query(connection, """
                            INSERT INTO test_result (run_id, position, id, outcome, reason) VALUES ($1, $2, $3, 'interrupted', $4)
                            """, [runID, position, id, reason])
                        position += 1
                    case "pending"?:
                        _ = try PostgresSession.query(connection, """
                            UPDATE test_result SET outcome = 'interrupted', reason = $1 WHERE run_id = $2 AND id = $3
                            """, [reason, runID, id])
                    default: break
                    }
                }
                guard row.double("finished") == nil else { return }
                let results = try Self.rows(connection, "SELECT outcome FROM test_result WHERE run_id = $1", [runID]).map {
                    TestResult(id: "", outcome: TestOutcome(rawValue: $0.string("outcome") ?? "") ?? .interrupted)
                }
                _ = try PostgresSession.query(connection, """
                    UPDATE run SET finished = $1, exit_code = $2, complete = 0, interrupted = 1, counts = $3 WHERE id = $4
                    """, [at.timeIntervalSince1970, Int(ExitPolicy.interrupted), RowJSON.encode(RunReport.counts(of: results)), runID])
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unreachable(location, PostgresSession.why(error))
        }
    }
}

