import PostgresNIO
import Results

// The schema of the results database in PostgreSQL: the same tables, columns, indexes and version numbers as
// `SQLiteRunStore`'s (SQLite's REAL is DOUBLE PRECISION here, INTEGER is BIGINT), as one list of migrations.
extension PostgresRunStore {
    /// The migrations, oldest first: each a version (as SQLite's `grdb_migrations` names it) and its statements.
    /// A new version is one more entry at the end.
    ///
    /// SQLite's v3 also counts the outcomes of runs recorded before it; a PostgreSQL database never held such runs
    /// (this store came with v5), so its v3 is the schema alone.
    static let migrations: [(version: String, statements: [String])] = [
        ("v1", [
            """
            CREATE TABLE run (
                id TEXT PRIMARY KEY, environment TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION,
                exit_code BIGINT, complete BIGINT NOT NULL DEFAULT 0, interrupted BIGINT NOT NULL DEFAULT 0, halted_by TEXT,
                directory TEXT NOT NULL, jobs BIGINT NOT NULL)
            """,
            """
            CREATE TABLE fact (
                run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE, name TEXT NOT NULL, value TEXT, source TEXT NOT NULL,
                PRIMARY KEY (run_id, name))
            """,
            """
            CREATE TABLE test_result (
                run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE, position BIGINT NOT NULL, id TEXT NOT NULL,
                outcome TEXT NOT NULL, started DOUBLE PRECISION, duration DOUBLE PRECISION NOT NULL DEFAULT 0, exit_status BIGINT,
                signal BIGINT, reason TEXT, blocked_by TEXT, log TEXT, PRIMARY KEY (run_id, id))
            """,
            "CREATE INDEX test_result_by_id ON test_result(id)",
            """
            CREATE TABLE setup_result (
                run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE, seq BIGINT NOT NULL, name TEXT NOT NULL, test_id TEXT,
                phase TEXT NOT NULL, outcome TEXT NOT NULL, started DOUBLE PRECISION, duration DOUBLE PRECISION NOT NULL DEFAULT 0,
                exit_status BIGINT, signal BIGINT, reason TEXT, log TEXT, PRIMARY KEY (run_id, seq))
            """,
        ]),
        ("v2", ["ALTER TABLE run ADD COLUMN recording_error TEXT"]),
        ("v3", [
            "CREATE TABLE snapshot (hash TEXT PRIMARY KEY, body TEXT NOT NULL)",
            """
            ALTER TABLE run ADD COLUMN host TEXT, ADD COLUMN machine_id TEXT, ADD COLUMN snapshot TEXT REFERENCES snapshot(hash),
                ADD COLUMN labels TEXT NOT NULL DEFAULT '{}', ADD COLUMN suite_commit TEXT, ADD COLUMN suite_dirty BIGINT,
                ADD COLUMN counts TEXT
            """,
            "CREATE INDEX run_by_host ON run(host, environment, started)",
            """
            ALTER TABLE test_result ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1, ADD COLUMN flaky TEXT,
                ADD COLUMN flaky_failures BIGINT, ADD COLUMN flaky_window BIGINT
            """,
            """
            CREATE TABLE test_attempt (
                run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE, id TEXT NOT NULL, attempt BIGINT NOT NULL,
                outcome TEXT NOT NULL, started DOUBLE PRECISION, duration DOUBLE PRECISION NOT NULL DEFAULT 0, exit_status BIGINT,
                signal BIGINT, reason TEXT, log TEXT, PRIMARY KEY (run_id, id, attempt))
            """,
        ]),
        ("v4", ["ALTER TABLE run ADD COLUMN rerun_failures BIGINT", "ALTER TABLE test_result ADD COLUMN flaky_threshold BIGINT"]),
        ("v5", [
            """
            CREATE TABLE subtest (
                run_id TEXT NOT NULL REFERENCES run(id) ON DELETE CASCADE, test_id TEXT NOT NULL, ordinal BIGINT NOT NULL,
                name TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, PRIMARY KEY (run_id, test_id, ordinal))
            """,
            "ALTER TABLE test_result ADD COLUMN subtest_counts TEXT",
        ]),
        ("v6", [
            "ALTER TABLE test_result ADD COLUMN kernel_log TEXT",
            "ALTER TABLE run ADD COLUMN taint_at_start TEXT",
        ]),
        // SQLiteRunStore.hostTableSQL: enrolled grid hosts.
        ("v7", [
            """
            CREATE TABLE host (
                name TEXT PRIMARY KEY, enrolled DOUBLE PRECISION NOT NULL, environment TEXT NOT NULL, facts TEXT NOT NULL,
                snapshot TEXT REFERENCES snapshot(hash), derived_features TEXT NOT NULL, features TEXT NOT NULL)
            """,
        ]),
    ]

    /// The key of the advisory lock that two processes opening the database at once take around the migrations.
    static let migrationLock = 7_250_351_021

    /// Brings the schema up to date: in one transaction under the advisory lock, the versions not applied yet, in
    /// order (idempotent; a second process waits for the first, then finds nothing to do). Versions this Testbed does
    /// not know (a newer Testbed's) are left alone.
    static func migrate(_ session: PostgresSession) throws {
        try session.transaction { connection in
            _ = try PostgresSession.query(connection, "SELECT pg_advisory_xact_lock($1)", [migrationLock])
            _ = try PostgresSession.query(connection, "CREATE TABLE IF NOT EXISTS schema_migration (identifier TEXT PRIMARY KEY)")
            let applied = Set(try PostgresSession.query(connection, "SELECT identifier FROM schema_migration").compactMap { PGRow($0).string("identifier") })
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements { _ = try PostgresSession.query(connection, statement) }
                _ = try PostgresSession.query(connection, "INSERT INTO schema_migration (identifier) VALUES ($1)", [migration.version])
            }
        }
    }
}
