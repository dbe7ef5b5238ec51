import CShim
import Foundation
import GRDB
import Requirements
import Scheduler
import Synchronization

/// The results directory: `testbed.sqlite` (the history of every run), one
/// directory per run, and `latest` pointing at the newest.
///
/// The database is in WAL mode and every write is its own short transaction,
/// so rows land as they happen, several `testbed run` can share a directory,
/// and a run killed with SIGKILL keeps every finished result (its run row
/// stays `complete = 0`). A run's writes go through its `StoreRecorder`,
/// which keeps the run in memory until it ends: a database deleted during the
/// run is re-created and written again, a full disk is retried.
public final class ResultStore: Sendable {
    public let directory: String
    /// The open database and what its files were when opened; replaced when
    /// the file is deleted or replaced during a run (`reopen`).
    let connection: Mutex<Connection>

    /// The database as opened: the pool, and the device and inode of
    /// `testbed.sqlite`, its `-wal` and its `-shm` (nil until SQLite made them).
    struct Connection: Sendable {
        var pool: DatabasePool
        var database: FileIdentity?
        var wal: FileIdentity?
        var shm: FileIdentity?
    }

    var pool: DatabasePool { connection.withLock { $0.pool } }
    var databasePath: String { directory + "/" + Self.databaseName }

    /// Problems with the results directory or database, each with its fix.
    public enum StoreError: Error, CustomStringConvertible {
        case cannotCreate(String, String)
        case cannotOpen(String, String)
        case notWritable(String, String)
        case full(String)
        case noRuns(String)
        case noSuchRun(String, String)

        public var description: String {
            switch self {
            case let .cannotCreate(path, why): "cannot create results directory \(path): \(why); choose another with --results DIR"
            case let .cannotOpen(path, why): "cannot open results database \(path): \(why); move it aside or choose another --results DIR"
            case let .notWritable(path, why): "results directory \(path) is not writable (\(why)); choose another with --results DIR"
            case let .full(path): "the filesystem of results directory \(path) is full; free some space or choose another --results DIR"
            case let .noRuns(path): "no runs recorded in \(path) yet; run `testbed run` first"
            case let .noSuchRun(run, path): "no run \(run) in \(path); `testbed report --list` shows the runs"
            }
        }
    }

    public static let databaseName = "testbed.sqlite"

    /// Opens (creating if needed) the results directory and its database.
    public init(directory: String, create: Bool = true) throws(StoreError) {
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        self.directory = url.path
        if create { try Self.makeDirectory(url, shown: directory) }
        let path = url.appendingPathComponent(Self.databaseName).path
        if !create && !FileManager.default.fileExists(atPath: path) { throw .noRuns(directory) }
        if create && access(url.path, W_OK) != 0 {
            throw .notWritable(directory, String(cString: strerror(errno)).lowercased())
        }
        connection = Mutex(try Self.open(url.path, shown: directory))
    }

    /// Makes the results directory (and its parents), saying why it cannot.
    static func makeDirectory(_ url: URL, shown directory: String) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            // Say why in the user's terms: the nearest existing parent is read-only, or full.
            var parent = url.deletingLastPathComponent()
            while parent.path != "/" && !FileManager.default.fileExists(atPath: parent.path) { parent = parent.deletingLastPathComponent() }
            if access(parent.path, W_OK) != 0 {
                throw .notWritable(directory, String(cString: strerror(errno)).lowercased())
            }
            var space = statvfs()
            if statvfs(parent.path, &space) == 0 && space.f_bavail == 0 { throw .full(directory) }
            throw .cannotCreate(directory, Self.why(error))
        }
    }

    /// Opens `testbed.sqlite` in `directory` and brings its schema up to date.
    /// `replacing`: the connection to a database that was deleted or replaced
    /// while this process had it open. Its `-wal` and `-shm` are removed first
    /// (under the lock) when they are orphans (no `testbed.sqlite` beside them)
    /// or still the old ones: SQLite would read the old database's pages into
    /// the new one.
    static func open(_ directory: String, shown: String, replacing old: Connection? = nil) throws(StoreError) -> Connection {
        let path = directory + "/" + databaseName
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Two runs that start at once must not both create the schema (or both
        // switch the file to WAL): opening and migrating take a file lock.
        let lock = Glibc.open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer {
            if lock >= 0 {
                flock(lock, LOCK_UN)
                close(lock)
            }
        }
        if let old {
            let orphaned = FileIdentity(path) == nil
            for (suffix, identity) in [("-wal", old.wal), ("-shm", old.shm)] {
                if orphaned || (identity != nil && FileIdentity(path + suffix) == identity) { unlink(path + suffix) }
            }
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            return Connection(pool: pool, database: FileIdentity(path), wal: FileIdentity(path + "-wal"),
                              shm: FileIdentity(path + "-shm"))
        } catch {
            if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL { throw .full(shown) }
            throw .cannotOpen(path, Self.why(error))
        }
    }

    /// What became of the database this store opened: nil while
    /// `testbed.sqlite`, its `-wal` and its `-shm` are the files it opened
    /// (three `stat` calls).
    func databaseChange() -> DatabaseChange? {
        let opened = connection.withLock { ($0.database, $0.wal, $0.shm) }
        let path = databasePath
        guard let database = opened.0, FileIdentity(path) == database else { return .replaced }
        let now = (FileIdentity(path + "-wal"), FileIdentity(path + "-shm"))
        guard let wal = opened.1, let shm = opened.2 else {
            // SQLite makes the -wal and -shm on the first write; remember them then.
            if now.0 != nil && now.1 != nil {
                connection.withLock { state in
                    state.wal = now.0
                    state.shm = now.1
                }
            }
            return nil
        }
        return now.0 == wal && now.1 == shm ? nil : .logReplaced
    }

    enum DatabaseChange {
        /// `testbed.sqlite` is gone or another file (the results directory deleted, say).
        case replaced
        /// `testbed.sqlite` is the same file, its `-wal` or `-shm` is not.
        case logReplaced
    }

    /// Opens the database again after `change`: makes the results directory
    /// and a new `testbed.sqlite` with the schema.
    ///
    /// The old connections are never closed when the file was replaced:
    /// closing the last one deletes `-wal` and `-shm` by name, which would
    /// be the new database's. When only the `-wal` or `-shm` went, they are
    /// closed first: SQLite then copies what the old `-wal` held into the file.
    ///
    /// Returns the change as it turned out: `.replaced` when the `-wal` went
    /// with `testbed.sqlite` itself (a results directory removed file by
    /// file, seen half-way), the new connection's file being another.
    @discardableResult
    func reopen(after change: DatabaseChange) throws(StoreError) -> DatabaseChange {
        let old = connection.withLock { $0 }
        switch change {
        case .replaced:
            Self.retired.withLock { $0.append(old.pool) }
        case .logReplaced:
            try? old.pool.close()
        }
        try Self.makeDirectory(URL(fileURLWithPath: directory), shown: directory)
        let fresh = try Self.open(directory, shown: directory, replacing: change == .replaced ? old : nil)
        connection.withLock { $0 = fresh }
        return change == .logReplaced && fresh.database != old.database ? .replaced : change
    }

    /// Connections to databases that were deleted under a run: kept open
    /// until the process ends (see `reopen`).
    static let retired = Mutex<[DatabasePool]>([])

    /// Copies the write-ahead log into `testbed.sqlite` and empties it, so
    /// that the file alone holds every run (users copy it alone). Waits for
    /// readers at most 200 ms; if they still block it, SQLite copies what it
    /// can and the rest stays in `-wal` (still part of the database).
    public func checkpoint() {
        try? pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA busy_timeout = 200")
            defer { try? db.execute(sql: "PRAGMA busy_timeout = 30000") }
            _ = try? db.checkpoint(.truncate)
        }
    }

    static func why(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return (error as NSError).localizedDescription
    }

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
        return migrator
    }

    // MARK: - Runs

    /// A new run id (sortable by time, unique across concurrent runs) and its
    /// directory, created.
    public func newRun(started: Date = Date()) throws(StoreError) -> (id: String, directory: String) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        for _ in 0..<100 {
            let id = "\(formatter.string(from: started))-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
            let path = directory + "/" + id
            // mkdir fails if it exists: the id is ours alone.
            if mkdir(path, 0o755) == 0 { return (id, path) }
            if errno != EEXIST { throw .cannotCreate(path, String(cString: strerror(errno))) }
        }
        throw .cannotCreate(directory, "no free run id")
    }

    /// Points `latest` at a run directory (atomically: a new link renamed over the old).
    public func pointLatest(at id: String) {
        let temporary = directory + "/.latest-\(getpid())"
        unlink(temporary)
        guard symlink(id, temporary) == 0 else { return }
        if rename(temporary, directory + "/latest") != 0 { unlink(temporary) }
    }

    /// The latest verdict of each test that ran to one (pass, fail, timeout,
    /// error, skip), across every run: what the executor orders by.
    public func history() -> [String: TestHistory] {
        (try? pool.read { db -> [String: TestHistory] in
            var history: [String: TestHistory] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT t.id, t.duration, t.outcome FROM test_result t JOIN run r ON r.id = t.run_id
                WHERE t.outcome IN ('pass', 'fail', 'timeout', 'error', 'skip')
                ORDER BY r.started DESC
                """)
            while let row = try rows.next() {
                let id: String = row["id"]
                guard history[id] == nil else { continue }
                let outcome: String = row["outcome"]
                history[id] = TestHistory(duration: row["duration"], failed: outcome == "fail" || outcome == "timeout" || outcome == "error")
            }
            return history
        }) ?? [:]
    }

    // MARK: - Writing

    func insertStart(_ db: Database, _ info: RunInfo) throws {
            try db.execute(sql: "INSERT INTO run (id, environment, started, directory, jobs) VALUES (?, ?, ?, ?, ?)",
                           arguments: [info.id, info.environment, info.started.timeIntervalSince1970, info.directory, info.jobs])
            let fact = try db.makeStatement(sql: "INSERT OR REPLACE INTO fact (run_id, name, value, source) VALUES (?, ?, ?, ?)")
            for item in info.facts { try fact.execute(arguments: [info.id, item.name, item.value, item.source]) }
            let decided = Dictionary(info.decided.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let test = try db.makeStatement(sql: """
                INSERT INTO test_result (run_id, position, id, outcome, reason) VALUES (?, ?, ?, ?, ?)
                """)
            for (position, id) in info.tests.enumerated() {
                let result = decided[id]
                try test.execute(arguments: [info.id, position, id, result?.outcome.rawValue ?? "pending", result?.reason])
            }
    }

    func updateTest(_ db: Database, _ runID: String, _ result: TestResult) throws {
            // Cached: this runs once per test, and compiling it each time costs more than running it.
            try db.cachedStatement(sql: """
                UPDATE test_result SET outcome = ?, started = ?, duration = ?, exit_status = ?, signal = ?,
                    reason = ?, blocked_by = ?, log = ? WHERE run_id = ? AND id = ?
                """).execute(arguments: [result.outcome.rawValue, result.started?.timeIntervalSince1970, result.duration,
                                 result.exitStatus, result.signal, result.reason, result.blockedBy, result.logDirectory,
                                 runID, result.id])
    }

    func insertSetup(_ db: Database, _ runID: String, _ result: SetupResult) throws {
            let seq = try Int.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM setup_result WHERE run_id = ?"),
                                       arguments: [runID]) ?? 1
            try db.cachedStatement(sql: """
                INSERT INTO setup_result (run_id, seq, name, test_id, phase, outcome, started, duration, exit_status,
                    signal, reason, log) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [runID, seq, result.name, result.test, result.phase.rawValue, result.outcome.rawValue,
                                 result.started?.timeIntervalSince1970, result.duration, result.exitStatus, result.signal,
                                 result.reason, result.logPath])
    }

    /// The run's end: `exitCode` is the one `testbed run` exits with;
    /// `recordingError` says what went wrong while recording it (nil: nothing).
    func updateFinish(_ db: Database, _ summary: RunSummary, exitCode: Int32, recordingError: String?) throws {
            try db.execute(sql: """
                UPDATE run SET finished = ?, exit_code = ?, complete = ?, interrupted = ?, halted_by = ?, recording_error = ?
                WHERE id = ?
                """, arguments: [summary.finished.timeIntervalSince1970, exitCode,
                                 summary.interrupted ? 0 : 1, summary.interrupted ? 1 : 0, summary.haltedBy, recordingError,
                                 summary.id])
    }

    /// Removes every row of a run (before it is written again whole).
    func deleteRun(_ db: Database, _ runID: String) throws {
        for table in ["fact", "test_result", "setup_result"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ?", arguments: [runID])
        }
        try db.execute(sql: "DELETE FROM run WHERE id = ?", arguments: [runID])
    }

    /// The recorder that writes a run's events as they happen; `exitCodes`
    /// is the scheme of the exit code it records at the end.
    public func recorder(runID: String, exitCodes: ExitCodes = .standard) -> StoreRecorder {
        StoreRecorder(store: self, runID: runID, exitCodes: exitCodes)
    }
}

/// The device and inode of a file: what tells it from another put in its place.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    /// Nil when there is no such file.
    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// The file open as `descriptor`.
    init?(descriptor: Int32) {
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
