import CShim
import Execution
import ProcessSupervision
import Foundation
import GRDB
import HostFacts
import Requirements
import Synchronization

/// The `RunStore` of today: SQLite through GRDB, in the results directory.
/// It holds `testbed.sqlite` (the history of every run), one directory per
/// run, and `latest` pointing at the newest.
///
/// The database is in WAL mode and every write is its own short transaction,
/// so rows land as they happen, several `testbed run` can share a directory,
/// and a run killed with SIGKILL keeps every finished result (its run row
/// stays `complete = 0`). A run's writes go through its `StoreRecorder`,
/// which keeps the run in memory until it ends: a database deleted during the
/// run is re-created and written again, a full disk is retried.
///
/// The results directory is held open (`ResultsDirectory`): Testbed never
/// writes through a link a test put in its place or in the place of
/// `testbed.sqlite`, its `-wal`, `-shm` or `.lock`. At the start such a link
/// to the database is an error (`linkedDatabase`); during a run it is removed
/// and a new file made, with a note.
public final class SQLiteRunStore: RunStore {
    /// As the user gave it, absolute: for messages.
    public let directory: String
    /// The results directory, held; what Testbed writes to.
    public let results: ResultsDirectory
    /// What Testbed found planted and replaced when opening (a link at
    /// `.lock`), one sentence each: for warnings.
    public let notes: [String]
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
    /// For messages.
    var databasePath: String { directory + "/" + Self.databaseName }

    /// The database's file name in the results directory.
    public static let databaseName = "testbed.sqlite"

    /// Opens (creating if needed) the results directory and its database.
    /// The path may be a symbolic link (to another disk, say): it is
    /// followed once, here. `testbed.sqlite`, `-wal` or `-shm` that is a
    /// link, a directory or a FIFO is refused (`linkedDatabase`,
    /// `notADatabase`); a link or a FIFO at `.lock` is replaced (`notes`).
    ///
    /// - Parameters:
    ///   - directory: The results directory's path, absolute or relative to the working directory (as the user gave it; shown so in errors).
    ///   - create: Whether to make the directory (and its parents) when missing (`testbed run`); false for the readers (`report`, `history`).
    /// - Throws: `StoreError`: `.cannotCreate`, `.full` or `.notWritable` when the directory cannot be made, opened or written into;
    ///   `.noRuns` when `create` is false and there is no directory or no database yet; `.linkedDatabase` or `.notADatabase`
    ///   for a database file that is a link, a directory or a FIFO; `.cannotOpen` when SQLite cannot open or migrate the database.
    public init(directory: String, create: Bool = true) throws(StoreError) {
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        self.directory = url.path
        if create { try Self.makeDirectory(url, shown: directory) }
        if !create && !FileManager.default.fileExists(atPath: url.path) { throw .noRuns(directory) }
        do {
            results = try ResultsDirectory(path: url.path)
        } catch {
            throw .cannotCreate(directory, String(cString: strerror(error.errno)).lowercased())
        }
        let fd = results.descriptor()
        var ignored: [String] = []
        try Self.checkDatabaseFiles(in: fd, shown: url.path, replacing: false, notes: &ignored)
        var info = stat()
        if !create && fstatat(fd, Self.databaseName, &info, AT_SYMLINK_NOFOLLOW) != 0 { throw .noRuns(directory) }
        if create && faccessat(fd, ".", W_OK, 0) != 0 {
            throw .notWritable(directory, String(cString: strerror(errno)).lowercased())
        }
        var notes: [String] = []
        connection = Mutex(try Self.open(results, shown: url.path, midRun: false, notes: &notes))
        self.notes = notes
    }

    /// Refuses (at the start) or removes (during a run: `replacing`, the
    /// removal said in `notes`) a `testbed.sqlite`, `-wal` or `-shm` that is
    /// a symbolic link, a FIFO, a device or a socket; a directory is refused
    /// either way (never removed with what it holds).
    static func checkDatabaseFiles(in directory: Int32, shown: String, replacing: Bool, notes: inout [String]) throws(StoreError) {
        for name in [databaseName, databaseName + "-wal", databaseName + "-shm"] {
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT != S_IFREG else { continue }
            let path = shown + "/" + name
            let kind = RunLayout.plantedKind(name, in: directory)
            let type = info.st_mode & S_IFMT
            if type == S_IFDIR { throw .notADatabase(path, kind) }
            if !replacing {
                if type == S_IFLNK { throw .linkedDatabase(path, kind.shownTarget ?? "") }
                throw .notADatabase(path, kind)
            }
            guard unlinkat(directory, name, 0) == 0 || errno == ENOENT else {
                throw .cannotOpen(path, "cannot remove \(kind) there: \(String(cString: strerror(errno)))")
            }
            notes.append("\(path) was replaced by \(kind) during the run; Testbed removed "
                         + (type == S_IFLNK ? "the link" : "it") + " (it never follows what a step plants in the results)")
        }
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

    /// Opens `testbed.sqlite` in `results` and brings its schema up to date.
    /// `midRun`: a run has the database open and found it changed (a link
    /// a step put in the place of one of its files is removed, said in
    /// `notes`). `replacing`: the connection to a database that was deleted
    /// or replaced while this process had it open. Its `-wal` and `-shm` are
    /// removed first (under the lock) when they are orphans (no
    /// `testbed.sqlite` beside them) or still the old ones: SQLite would read
    /// the old database's pages into the new one.
    static func open(_ results: ResultsDirectory, shown: String, midRun: Bool, replacing old: Connection? = nil,
                     notes: inout [String]) throws(StoreError) -> Connection {
        let directory = results.descriptor()
        guard directory >= 0 else { throw .cannotCreate(shown, String(cString: strerror(errno)).lowercased()) }
        // SQLite opens by path: the real one, checked above to be the directory held.
        let path = results.real + "/" + databaseName
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        let shownPath = shown + "/" + databaseName
        configuration.prepareDatabase { db in
            // SQLite follows a link at the name (and makes its -wal beside the
            // target): one a step put there after the check below is refused
            // before anything is written through it.
            let file = try Row.fetchAll(db, sql: "PRAGMA database_list").first { $0["name"] == "main" }?["file"] as String?
            if let file, file != path { throw StoreError.linkedDatabase(shownPath, file) }
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Two runs that start at once must not both create the schema (or both
        // switch the file to WAL): opening and migrating take a file lock.
        let lock = Self.openLock(in: directory, shown: shown, notes: &notes)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer {
            if lock >= 0 {
                flock(lock, LOCK_UN)
                close(lock)
            }
        }
        if let old {
            let orphaned = FileIdentity(databaseName, in: directory) == nil
            for (suffix, identity) in [("-wal", old.wal), ("-shm", old.shm)] {
                if orphaned || (identity != nil && FileIdentity(databaseName + suffix, in: directory) == identity) {
                    unlinkat(directory, databaseName + suffix, 0)
                }
            }
        }
        if midRun {
            try checkDatabaseFiles(in: directory, shown: shown, replacing: true, notes: &notes)
            // Made here, never through a link: SQLite then opens a file that is there.
            let made = openat(directory, databaseName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if made >= 0 { close(made) }
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            return Connection(pool: pool, database: FileIdentity(databaseName, in: directory),
                              wal: FileIdentity(databaseName + "-wal", in: directory),
                              shm: FileIdentity(databaseName + "-shm", in: directory))
        } catch {
            if let error = error as? StoreError { throw error }
            if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL { throw .full(shown) }
            throw .cannotOpen(shown + "/" + databaseName, Self.why(error))
        }
    }

    /// Opens `.lock` for `flock` (creating it), never through what a step
    /// put there: a link, a FIFO, a device or a socket is removed first and a
    /// note says so. -1 when there is no lock to take (a directory there):
    /// opening goes on without it, as before there was a lock.
    static func openLock(in directory: Int32, shown: String, notes: inout [String]) -> Int32 {
        for _ in 0..<4 {
            var info = stat()
            if fstatat(directory, ".lock", &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT != S_IFREG {
                guard info.st_mode & S_IFMT != S_IFDIR else { return -1 }
                let kind = RunLayout.plantedKind(".lock", in: directory)
                guard unlinkat(directory, ".lock", 0) == 0 || errno == ENOENT else { return -1 }
                notes.append("\(shown)/.lock was \(kind), not the lock file Testbed made; Testbed removed it and made a new one "
                             + "(it never follows what a step plants in the results)")
            }
            // O_NONBLOCK: a FIFO put there between the check and the open cannot hang it.
            let fd = openat(directory, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
            if fd < 0 {
                if errno == ELOOP { continue }
                return -1
            }
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                close(fd)
                continue
            }
            return fd
        }
        return -1
    }

    /// What became of the database this store opened: nil while
    /// `testbed.sqlite`, its `-wal` and its `-shm` are the files it opened
    /// (three `stat` calls).
    func databaseChange() -> DatabaseChange? {
        let opened = connection.withLock { ($0.database, $0.wal, $0.shm) }
        // The results directory first: one a step deleted, moved or replaced by a link is made again.
        let directory = results.descriptor()
        guard directory >= 0, let database = opened.0, FileIdentity(Self.databaseName, in: directory) == database else {
            return .replaced
        }
        let now = (FileIdentity(Self.databaseName + "-wal", in: directory), FileIdentity(Self.databaseName + "-shm", in: directory))
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
    /// (never through a link put in its place) and a new `testbed.sqlite`
    /// with the schema; what it found planted on the way is in `notes`.
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
    func reopen(after change: DatabaseChange, notes: inout [String]) throws(StoreError) -> DatabaseChange {
        let old = connection.withLock { $0 }
        switch change {
        case .replaced:
            Self.retired.withLock { $0.append(old.pool) }
        case .logReplaced:
            try? old.pool.close()
        }
        let fresh = try Self.open(results, shown: directory, midRun: true, replacing: change == .replaced ? old : nil, notes: &notes)
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

    /// What to do when a write failed with `error`.
    static func fix(for error: any Error) -> String {
        if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL { return StoreError.full("").fix }
        return "check the results directory or choose another --results DIR"
    }

    // MARK: - Runs

    /// A new run id (sortable by time, unique across concurrent runs) and its
    /// directory, created.
    ///
    /// - Parameter started: When the run starts: its UTC second names the run (`yyyyMMdd-HHmmss`), followed by four random hex digits.
    /// - Returns: The run's id and the absolute path of its directory, just made (mode 0755) in the results directory.
    /// - Throws: `StoreError.cannotCreate` when the results directory cannot be opened, `mkdir` fails, or 100 random ids are all taken.
    public func newRun(started: Date = Date()) throws(StoreError) -> (id: String, directory: String) {
        try RunDirectories.newRun(in: results, directory: directory, started: started)
    }

    /// Points `latest` at a run directory (atomically: a new link renamed
    /// over the old, in the results directory held).
    ///
    /// - Parameter id: The run's id, its directory's name in the results directory (the link is relative). Failures are ignored.
    public func pointLatest(at id: String) {
        RunDirectories.pointLatest(in: results, at: id)
    }

    /// The latest verdict of each test that ran to one (pass, fail, timeout,
    /// error, skip), across every run: what the executor orders by.
    ///
    /// - Returns: Each test's id mapped to its latest verdict's duration (seconds) and whether it failed (fail, timeout or error);
    ///   empty when the database cannot be read.
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
            var snapshot: String?
            if let body = info.snapshot?.canonicalJSON() {
                let hash = RunSnapshot.hash(of: body)
                // Shared by every run whose host was in the same state.
                try db.execute(sql: "INSERT OR IGNORE INTO snapshot (hash, body) VALUES (?, ?)", arguments: [hash, body])
                snapshot = hash
            }
            try db.execute(sql: """
                INSERT INTO run (id, environment, started, directory, jobs, host, machine_id, snapshot, labels, suite_commit, suite_dirty)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [info.id, info.environment, info.started.timeIntervalSince1970, info.directory, info.jobs,
                                 info.host, info.machineID, snapshot, RowJSON.encode(info.labels), info.suiteCommit,
                                 info.suiteDirty])
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
            var flaky: (kind: String?, failures: Int?, window: Int?, threshold: Int?) = (result.flaky?.kind, nil, nil, nil)
            if case let .forgiven(failures, window, threshold)? = result.flaky { flaky = (flaky.kind, failures, window, threshold) }
            try db.cachedStatement(sql: """
                UPDATE test_result SET outcome = ?, started = ?, duration = ?, exit_status = ?, signal = ?,
                    reason = ?, blocked_by = ?, log = ?, attempts = ?, flaky = ?, flaky_failures = ?, flaky_window = ?,
                    flaky_threshold = ? WHERE run_id = ? AND id = ?
                """).execute(arguments: [result.outcome.rawValue, result.started?.timeIntervalSince1970, result.duration,
                                 result.exitStatus, result.signal, result.reason, result.blockedBy, result.logDirectory,
                                 result.attempts.count + 1, flaky.kind, flaky.failures, flaky.window, flaky.threshold,
                                 runID, result.id])
            for (index, attempt) in result.attempts.enumerated() {
                try insertAttempt(db, runID, id: result.id, attempt: index + 1, attempt)
            }
            try writeSubtests(db, runID, result)
            try writeKernelLog(db, runID, result)
    }

    /// One earlier attempt of a test run again (`--rerun-failures`): a
    /// `test_attempt` row, written when the attempt ends and again with the
    /// test's result (the same row).
    func insertAttempt(_ db: Database, _ runID: String, id: String, attempt number: Int, _ attempt: TestAttempt) throws {
            try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO test_attempt (run_id, id, attempt, outcome, started, duration, exit_status, signal, reason, log)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [runID, id, number, attempt.outcome.rawValue, attempt.started?.timeIntervalSince1970,
                                 attempt.duration, attempt.exitStatus, attempt.signal, attempt.reason, attempt.logDirectory])
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
    /// `recordingError` says what went wrong while recording it (nil: nothing);
    /// `counts` the tests by outcome.
    func updateFinish(_ db: Database, _ summary: RunSummary, exitCode: Int32, recordingError: String?) throws {
            try db.execute(sql: """
                UPDATE run SET finished = ?, exit_code = ?, complete = ?, interrupted = ?, halted_by = ?, recording_error = ?,
                    counts = ? WHERE id = ?
                """, arguments: [summary.finished.timeIntervalSince1970, exitCode,
                                 summary.interrupted ? 0 : 1, summary.interrupted ? 1 : 0, summary.haltedBy, recordingError,
                                 RowJSON.encode(RunReport.counts(of: summary.tests), marks: RowJSON.marks(of: summary.tests)), summary.id])
    }

    /// Removes every row of a run (before it is written again whole).
    func deleteRun(_ db: Database, _ runID: String) throws {
        for table in ["fact", "test_result", "test_attempt", "setup_result"] {
            if table == "test_result" { try db.execute(sql: "DELETE FROM subtest WHERE run_id = ?", arguments: [runID]) }
            try db.execute(sql: "DELETE FROM \(table) WHERE run_id = ?", arguments: [runID])
        }
        try db.execute(sql: "DELETE FROM run WHERE id = ?", arguments: [runID])
    }

    /// The recorder that writes a run's events as they happen; `exitCodes`
    /// is the scheme of the exit code it records at the end.
    /// `layout`: the run's directories, checked (and made again) before each write.
    ///
    /// - Parameters:
    ///   - runID: The id of the run recorded, from `newRun(started:)`.
    ///   - exitCodes: The exit code scheme of the code recorded at the run's end.
    ///   - layout: The run's directories, checked (and made again) before each write; nil to skip the check.
    /// - Returns: A recorder bound to this store and run; nothing is written before its first event.
    public func recorder(runID: String, exitCodes: ExitCodes = .standard, layout: RunLayout? = nil) -> StoreRecorder {
        StoreRecorder(store: self, runID: runID, exitCodes: exitCodes, layout: layout)
    }
}
