import Foundation
import GRDB
import HostFacts
import Execution
import Requirements

// Enrolled grid hosts (`testbed hosts enroll`): schema v7, the `host` table.
extension SQLiteRunStore {
    /// The `host` table's SQL, kept in one place so that another store (PostgreSQL) can mirror it: one row per
    /// node, replaced at each enrolment; `facts` and `features` are JSON, the snapshot shared by hash with runs.
    static let hostTableSQL = """
        CREATE TABLE host (
            name TEXT PRIMARY KEY,
            enrolled REAL NOT NULL,
            environment TEXT NOT NULL,
            facts TEXT NOT NULL,
            snapshot TEXT REFERENCES snapshot(hash),
            derived_features TEXT NOT NULL,
            features TEXT NOT NULL
        );
        """

    /// Schema v7: enrolled grid hosts (`hostTableSQL`). Databases written before it get an empty table.
    static func migrateToV7(_ db: Database) throws {
        try db.execute(sql: hostTableSQL)
    }

    /// Records a host's enrolment, replacing its earlier one.
    ///
    /// - Parameter host: the host.
    /// - Throws: `StoreError.cannotOpen` when the row cannot be written.
    public func enrol(_ host: EnrolledHost) throws(StoreError) {
        do {
            try pool.write { db in
                var hash: String?
                if let body = host.snapshot?.canonicalJSON() {
                    hash = RunSnapshot.hash(of: body)
                    try db.execute(sql: "INSERT OR IGNORE INTO snapshot (hash, body) VALUES (?, ?)", arguments: [hash, body])
                }
                try db.execute(sql: """
                    INSERT OR REPLACE INTO host (name, enrolled, environment, facts, snapshot, derived_features, features)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [host.name, host.enrolled.timeIntervalSince1970, host.environment, RowJSON.encoded(host.facts),
                                     hash, RowJSON.encoded(host.derivedFeatures), RowJSON.encoded(host.features)])
            }
        } catch {
            throw .cannotOpen(databasePath, Self.why(error))
        }
    }

    /// Every enrolled host, by name.
    ///
    /// - Returns: the hosts, sorted by name, each with its snapshot.
    /// - Throws: `StoreError.cannotOpen` when the rows cannot be read.
    public func enrolledHosts() throws(StoreError) -> [EnrolledHost] {
        try reading { db in
            try Row.fetchAll(db, sql: """
                SELECT h.*, s.body FROM host h LEFT JOIN snapshot s ON s.hash = h.snapshot ORDER BY h.name
                """).map { row in
                func decoded<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
                    text.flatMap { try? JSONDecoder().decode(T.self, from: Data($0.utf8)) }
                }
                return EnrolledHost(name: row["name"], enrolled: Date(timeIntervalSince1970: row["enrolled"]),
                                    environment: row["environment"], facts: decoded([Fact].self, row["facts"]) ?? [],
                                    snapshot: (row["body"] as String?).flatMap(RunSnapshot.decode),
                                    derivedFeatures: decoded([String].self, row["derived_features"]) ?? [],
                                    features: decoded([String].self, row["features"]) ?? [])
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
    /// - Throws: `StoreError.noSuchRun`, or `.cannotOpen` when the rows cannot be written.
    public func interruptUnfinished(run runID: String, tests: [String], reason: String, at: Date) throws(StoreError) {
        do {
            try pool.write { db in
                guard let finished = try Row.fetchOne(db, sql: "SELECT finished FROM run WHERE id = ?", arguments: [runID]) else {
                    throw StoreError.noSuchRun(runID, directory)
                }
                let outcomes = try Row.fetchAll(db, sql: "SELECT id, outcome FROM test_result WHERE run_id = ?", arguments: [runID])
                var known: [String: String] = [:]
                for row in outcomes { known[row["id"]] = row["outcome"] }
                var position = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(position), -1) + 1 FROM test_result WHERE run_id = ?",
                                                arguments: [runID]) ?? 0
                for id in tests {
                    switch known[id] {
                    case nil:
                        try db.execute(sql: "INSERT INTO test_result (run_id, position, id, outcome, reason) VALUES (?, ?, ?, 'interrupted', ?)",
                                       arguments: [runID, position, id, reason])
                        position += 1
                    case "pending"?:
                        try db.execute(sql: "UPDATE test_result SET outcome = 'interrupted', reason = ? WHERE run_id = ? AND id = ?",
                                       arguments: [reason, runID, id])
                    default: break
                    }
                }
                let stillOpen: Double? = finished["finished"]
                guard stillOpen == nil else { return }
                let results = try Row.fetchAll(db, sql: "SELECT outcome FROM test_result WHERE run_id = ?", arguments: [runID]).map {
                    TestResult(id: "", outcome: TestOutcome(rawValue: $0["outcome"]) ?? .interrupted)
                }
                try db.execute(sql: """
                    UPDATE run SET finished = ?, exit_code = ?, complete = 0, interrupted = 1, counts = ? WHERE id = ?
                    """, arguments: [at.timeIntervalSince1970, ExitPolicy.interrupted, RowJSON.encode(RunReport.counts(of: results)), runID])
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .cannotOpen(databasePath, Self.why(error))
        }
    }
}

