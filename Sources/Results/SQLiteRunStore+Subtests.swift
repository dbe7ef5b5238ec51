import Execution
import Foundation
import GRDB
import Subtests

// Subtests: schema v5, written with their test's result, read back with a run.
extension SQLiteRunStore {
    /// Schema v5: each test's subtests (`subtest`: its name, outcome and reason, by ordinal) and its counts by
    /// outcome on its result (`subtest_counts`, JSON `{"pass":…,"fail":…,"skip":…,"xfail":…}`: every subtest
    /// reported, those not kept too). Rows written before it have none.
    static func migrateToV5(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE subtest (
                run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                test_id TEXT NOT NULL,
                ordinal INTEGER NOT NULL,
                name TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                PRIMARY KEY (run_id, test_id, ordinal)
            );
            ALTER TABLE test_result ADD COLUMN subtest_counts TEXT;
            """)
    }

    /// A test's subtests, written with its result (again when it is written again: its rows replaced).
    func writeSubtests(_ db: Database, _ runID: String, _ result: TestResult) throws {
        try db.cachedStatement(sql: "DELETE FROM subtest WHERE run_id = ? AND test_id = ?").execute(arguments: [runID, result.id])
        let counts = result.subtestCounts.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
        try db.cachedStatement(sql: "UPDATE test_result SET subtest_counts = ? WHERE run_id = ? AND id = ?")
            .execute(arguments: [counts, runID, result.id])
        guard !result.subtests.isEmpty else { return }
        let insert = try db.cachedStatement(sql: "INSERT INTO subtest (run_id, test_id, ordinal, name, outcome, reason) VALUES (?, ?, ?, ?, ?, ?)")
        for subtest in result.subtests {
            try insert.execute(arguments: [runID, result.id, subtest.ordinal, subtest.name, subtest.outcome.rawValue, subtest.reason])
        }
    }

    /// The counts of a `subtest_counts` column; nil when there are none.
    static func subtestCounts(_ text: String?) -> SubtestCounts? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(SubtestCounts.self, from: Data(text.utf8))
    }

    /// `tests` with their subtests (`subtest` rows) and counts (`subtest_counts`, in `counts` by test id).
    static func withSubtests(_ db: Database, run: String, _ tests: [TestResult], counts: [String: SubtestCounts]) throws -> [TestResult] {
        var subtests: [String: [Subtest]] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM subtest WHERE run_id = ? ORDER BY test_id, ordinal", arguments: [run])
        while let row = try rows.next() {
            let outcome: String = row["outcome"]
            subtests[row["test_id"], default: []].append(Subtest(
                name: row["name"], outcome: SubtestOutcome(rawValue: outcome) ?? .fail, reason: row["reason"], ordinal: row["ordinal"]))
        }
        guard !subtests.isEmpty || !counts.isEmpty else { return tests }
        return tests.map { test in
            var test = test
            test.subtests = subtests[test.id] ?? []
            test.subtestCounts = counts[test.id]
            return test
        }
    }
}
