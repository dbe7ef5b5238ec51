import Foundation
import GRDB
import HostFacts
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
}
