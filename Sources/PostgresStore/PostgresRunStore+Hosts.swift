import Foundation
import HostFacts
import PostgresNIO
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
}
