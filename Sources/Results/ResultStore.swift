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
/// stays `complete = 0`).
public final class ResultStore: Sendable {
    public let directory: String
    let pool: DatabasePool
    /// Writes that failed (a full disk): the first error, and how many.
    let failures = Mutex<(first: String?, count: Int)>((nil, 0))

    /// Why recording failed, and how many batches were lost; nil when every write succeeded.
    public var writeFailure: (reason: String, batches: Int)? {
        failures.withLock { state in state.first.map { ($0, state.count) } }
    }

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
        if create {
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
        let path = url.appendingPathComponent(Self.databaseName).path
        if !create && !FileManager.default.fileExists(atPath: path) { throw .noRuns(directory) }
        if create && access(url.path, W_OK) != 0 {
            throw .notWritable(directory, String(cString: strerror(errno)).lowercased())
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Two runs that start at once must not both create the schema (or both
        // switch the file to WAL): opening and migrating take a file lock.
        let lock = open(url.appendingPathComponent(".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer {
            if lock >= 0 {
                flock(lock, LOCK_UN)
                close(lock)
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL { throw .full(directory) }
            throw .cannotOpen(path, Self.why(error))
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

    func write(_ body: (Database) throws -> Void) {
        do {
            try pool.write(body)
        } catch {
            let first = failures.withLock { state -> Bool in
                state.count += 1
                if state.first == nil { state.first = Self.why(error) }
                return state.count == 1
            }
            guard first else { return }
            var warning = "testbed: warning: cannot record results in \(directory): \(Self.why(error))\n"
            _ = warning.withUTF8 { testbed_write_all(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
    }

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

    func updateFinish(_ db: Database, _ summary: RunSummary) throws {
            try db.execute(sql: """
                UPDATE run SET finished = ?, exit_code = ?, complete = ?, interrupted = ?, halted_by = ? WHERE id = ?
                """, arguments: [summary.finished.timeIntervalSince1970, summary.exitCode(),
                                 summary.interrupted ? 0 : 1, summary.interrupted ? 1 : 0, summary.haltedBy, summary.id])
    }

    /// The recorder that writes a run's events as they happen.
    public func recorder(runID: String) -> StoreRecorder {
        StoreRecorder(store: self, runID: runID)
    }
}

/// Writes a run's events to the results database as they happen: a batch of
/// events (what piled up while the last write ran) in one transaction.
public struct StoreRecorder: Recorder {
    let store: ResultStore
    let runID: String

    public func record(_ event: RunEvent) async {
        await record([event])
    }

    public func record(_ events: [RunEvent]) async {
        defer {
            // `latest` points at a run once its rows exist.
            if events.contains(where: { if case .started = $0 { true } else { false } }) { store.pointLatest(at: runID) }
        }
        store.write { db in
            for event in events {
                switch event {
                case .started(let info): try store.insertStart(db, info)
                case .stepStarted: break
                case .testFinished(let result): try store.updateTest(db, runID, result)
                case .setupFinished(let result): try store.insertSetup(db, runID, result)
                case .finished(let summary): try store.updateFinish(db, summary)
                }
            }
        }
    }
}
