import Execution
import Foundation
import GRDB

// The schema of the results database, as a series of migrations: a
// database written by an older Testbed is brought up to date when opened,
// and keeps every run.
extension SQLiteRunStore {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE run (
                    id TEXT PRIMARY KEY,
                    environment TEXT NOT NULL,
                    started REAL NOT NULL,
                    finished REAL,
                    exit_code INTEGER,
                    complete INTEGER NOT NULL DEFAULT 0,
                    interrupted INTEGER NOT NULL DEFAULT 0,
                    halted_by TEXT,
                    directory TEXT NOT NULL,
                    jobs INTEGER NOT NULL
                );
                CREATE TABLE fact (
                    run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    value TEXT,
                    source TEXT NOT NULL,
                    PRIMARY KEY (run_id, name)
                );
                CREATE TABLE test_result (
                    run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    id TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    started REAL,
                    duration REAL NOT NULL DEFAULT 0,
                    exit_status INTEGER,
                    signal INTEGER,
                    reason TEXT,
                    blocked_by TEXT,
                    log TEXT,
                    PRIMARY KEY (run_id, id)
                );
                CREATE INDEX test_result_by_id ON test_result(id);
                CREATE TABLE setup_result (
                    run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    test_id TEXT,
                    phase TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    started REAL,
                    duration REAL NOT NULL DEFAULT 0,
                    exit_status INTEGER,
                    signal INTEGER,
                    reason TEXT,
                    log TEXT,
                    PRIMARY KEY (run_id, seq)
                );
                """)
        }
        // What went wrong while recording the run (nil: nothing); databases
        // written before it keep their runs, with nil here.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: "ALTER TABLE run ADD COLUMN recording_error TEXT")
        }
        migrator.registerMigration("v3") { db in try migrateToV3(db) }
        migrator.registerMigration("v4") { db in try migrateToV4(db) }
        migrator.registerMigration("v5") { db in try migrateToV5(db) }
        migrator.registerMigration("v6") { db in try migrateToV6(db) }
        migrator.registerMigration("v7") { db in try migrateToV7(db) }
        return migrator
    }

    /// Schema v3: what a run ran on and against (host, machine id, the
    /// snapshot shared by hash, labels, the suite's revision), its counts by
    /// outcome, and reruns and the flaky policy on test results. Runs
    /// recorded before it keep NULL there (never comparable to a new run);
    /// finished ones get their counts from their results.
    static func migrateToV3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE snapshot (hash TEXT PRIMARY KEY, body TEXT NOT NULL);
            ALTER TABLE run ADD COLUMN host TEXT;
            ALTER TABLE run ADD COLUMN machine_id TEXT;
            ALTER TABLE run ADD COLUMN snapshot TEXT REFERENCES snapshot(hash);
            ALTER TABLE run ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
            ALTER TABLE run ADD COLUMN suite_commit TEXT;
            ALTER TABLE run ADD COLUMN suite_dirty INTEGER;
            ALTER TABLE run ADD COLUMN counts TEXT;
            CREATE INDEX run_by_host ON run(host, environment, started);
            ALTER TABLE test_result ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
            ALTER TABLE test_result ADD COLUMN flaky TEXT;
            ALTER TABLE test_result ADD COLUMN flaky_failures INTEGER;
            ALTER TABLE test_result ADD COLUMN flaky_window INTEGER;
            CREATE TABLE test_attempt (
                run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE,
                id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                started REAL,
                duration REAL NOT NULL DEFAULT 0,
                exit_status INTEGER,
                signal INTEGER,
                reason TEXT,
                log TEXT,
                PRIMARY KEY (run_id, id, attempt)
            );
            """)
        // The counts of every finished run, as `report` shows its tests (a
        // result never written reads as interrupted).
        var counts: [String: [TestOutcome: Int]] = [:]
        let finished = try String.fetchAll(db, sql: "SELECT id FROM run WHERE finished IS NOT NULL")
        for id in finished { counts[id] = [:] }
        let rows = try Row.fetchCursor(db, sql: """
            SELECT t.run_id, t.outcome, COUNT(*) AS n FROM test_result t JOIN run r ON r.id = t.run_id
            WHERE r.finished IS NOT NULL GROUP BY t.run_id, t.outcome
            """)
        while let row = try rows.next() {
            let outcome = TestOutcome(rawValue: row["outcome"]) ?? .interrupted
            counts[row["run_id"], default: [:]][outcome, default: 0] += row["n"] as Int
        }
        let update = try db.makeStatement(sql: "UPDATE run SET counts = ? WHERE id = ?")
        for (id, byOutcome) in counts { try update.execute(arguments: [RowJSON.encode(byOutcome), id]) }
    }
}
