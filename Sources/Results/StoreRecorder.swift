import CShim
import Foundation
import GRDB
import Scheduler
import Synchronization

extension RunSummary {
    /// The exit code of `testbed run`: the one place it is computed, for the
    /// run row, the summary line and the process alike.
    ///
    /// `recordingFailed`: the results directory did not take the run as it
    /// went (deleted, full, not writable), even if it was written later:
    /// the infrastructure bit (2) with `.standard`. `.bisect` keeps its
    /// verdict (the commit is not to blame), and so does 130 (interrupted).
    public func exitCode(_ codes: ExitCodes, recordingFailed: Bool) -> Int32 {
        codes.code(exitCode(codes), recordingFailed: recordingFailed)
    }
}

extension ExitCodes {
    /// `code` (of the run's results) with recording trouble added.
    func code(_ code: Int32, recordingFailed: Bool) -> Int32 {
        guard recordingFailed, self == .standard, code <= 3 else { return code }
        return code | 2
    }
}

/// How the recording of a run ended: what `testbed run` exits with and
/// reports, the same numbers and words as the run row.
public struct RecordingOutcome: Sendable, Equatable {
    /// The run's exit code (`RunSummary.exitCode(_:recordingFailed:)`).
    public let exitCode: Int32
    /// What went wrong while recording (the run row's `recording_error`);
    /// nil when every write went through the first time.
    public let recordingError: String?
    /// Why the database could not take the end of the run (it shows the run
    /// incomplete: `finished` and `exit_code` empty); nil when it did.
    public let unrecorded: String?

    public init(exitCode: Int32, recordingError: String?, unrecorded: String?) {
        self.exitCode = exitCode
        self.recordingError = recordingError
        self.unrecorded = unrecorded
    }
}

/// Writes a run's events to the results database as they happen: a batch of
/// events (what piled up while the last write ran) in one transaction.
///
/// It keeps every event of the run in memory until the run ends, so that
/// nothing the database did not take is lost:
/// - a write that fails (a full disk) is tried again with a later batch (at
///   most once per `retryInterval`) and at the end, with everything since;
/// - before each write it checks that `testbed.sqlite` and its `-wal` are the
///   files it opened (one `stat` each) and that the run directory exists: a
///   database deleted or replaced during the run (a test that removed the
///   results directory) is re-created with its schema and the whole run
///   written into it again; a deleted run directory is made again.
/// Each kind of trouble is warned about once on stderr, and recorded with the
/// run (`recording_error`) along with the infrastructure bit in its exit code.
/// At the end (`.finished`) the run's row gets the exit code, and the log is
/// checkpointed into `testbed.sqlite`.
public final class StoreRecorder: Recorder {
    let store: ResultStore
    let runID: String
    let exitCodes: ExitCodes
    /// How long after a failed write the next one is tried: the batches in
    /// between only join the queue (a full disk costs one attempt a second,
    /// not one every 25 ms with an ever larger transaction).
    let retryInterval: Duration
    let state = Mutex<State>(State())
    static let maxReopens = 10

    struct State {
        /// Every event of the run that goes to the database, in order.
        var events: [RunEvent] = []
        /// How many of `events` the open database holds.
        var written = 0
        /// The run directory (from `.started`), and the directory it is: held
        /// open, so that a directory made in its place after it was deleted
        /// cannot get its inode number.
        var runDirectory: String?
        var runDirectoryHandle: Int32 = -1
        var runDirectoryIdentity: FileIdentity?
        /// A change of the database files seen but not repaired yet.
        var change: ResultStore.DatabaseChange?
        /// How many times the database was opened again.
        var reopens = 0
        /// No write is tried before this, except at the end.
        var retryAfter: ContinuousClock.Instant?
        /// Why the first and the last failed write failed.
        var firstFailure: String?
        var lastFailure: String?
        var databaseReplaced = false
        var logReplaced = false
        var runDirectoryLost = false
        /// Events that could not be written even alone, at the end (dropped), and why.
        var dropped = 0
        var dropReason: String?
        var outcome: RecordingOutcome?
    }

    init(store: ResultStore, runID: String, exitCodes: ExitCodes, retryInterval: Duration = .seconds(1)) {
        self.store = store
        self.runID = runID
        self.exitCodes = exitCodes
        self.retryInterval = retryInterval
    }

    /// How the recording ended; nil until `.finished` was recorded.
    public var outcome: RecordingOutcome? { state.withLock { $0.outcome } }

    public func record(_ event: RunEvent) async {
        await record([event])
    }

    public func record(_ events: [RunEvent]) async {
        var started = false
        var summary: RunSummary?
        state.withLock { state in
            for event in events {
                switch event {
                case .stepStarted: continue
                case .started(let info):
                    state.runDirectory = info.directory
                    state.hold(info.directory)
                    started = true
                    state.events.append(event)
                case .finished(let end): summary = end
                case .testFinished, .setupFinished: state.events.append(event)
                }
            }
            if summary == nil { _ = sync(&state, force: false) }
        }
        // `latest` points at a run once its rows exist.
        if started { store.pointLatest(at: runID) }
        if let summary { finish(summary) }
    }

    /// The run's end: everything still pending, then the run row with its
    /// exit code and what went wrong; then the log into the file.
    func finish(_ summary: RunSummary) {
        state.withLock { state in
            var complete = sync(&state, force: true)
            if !complete { complete = writeEach(&state) }
            // The end as it is true now; again when writing it found more trouble
            // (a failed write, the database deleted at the very end by a service a
            // setup left running), so that what the row says stays true.
            var code: Int32
            var note: String?
            var written = false
            var attempts = 0
            repeat {
                code = summary.exitCode(exitCodes, recordingFailed: state.troubled)
                note = state.note(unrecorded: nil)
                written = sync(&state, force: true, end: (summary, code, note))
                attempts += 1
            } while attempts < 4 && (written
                ? store.databaseChange() != nil || state.note(unrecorded: nil) != note
                : attempts == 1)
            let unrecorded = written ? nil : state.lastFailure ?? "unknown error"
            if written { store.checkpoint() }
            if state.runDirectoryHandle >= 0 {
                close(state.runDirectoryHandle)
                state.runDirectoryHandle = -1
            }
            state.outcome = RecordingOutcome(exitCode: code, recordingError: written ? note : state.note(unrecorded: unrecorded),
                                             unrecorded: unrecorded)
        }
    }

    /// Brings the database up to `state.events` (and the run's end, with
    /// `end`): re-opens a database that was deleted, makes a deleted run
    /// directory again, and writes what it lacks in one transaction (the
    /// whole run, its old rows removed first, when it lacks everything).
    /// True when the database has it all.
    func sync(_ state: inout State, force: Bool, end: (RunSummary, Int32, String?)? = nil) -> Bool {
        if !force, let after = state.retryAfter, ContinuousClock.now < after { return false }
        let runDirectoryGone = state.runDirectory.map { FileIdentity($0) != state.runDirectoryIdentity } ?? false
        if state.change == nil {
            var change = store.databaseChange()
            if change == .logReplaced || (change == nil && runDirectoryGone) {
                // Maybe a results directory half-way through `rm -rf`: a moment
                // later the database is gone too, and that is what to say.
                usleep(50_000)
                if store.databaseChange() == .replaced { change = .replaced }
            }
            if change == .replaced { replacedWarning(&state) }
            state.change = change
        }
        if let change = state.change {
            state.written = 0
            // A database deleted again and again: each re-creation keeps the old
            // connections open (see `reopen`); after a few, only the end writes.
            if !force && state.reopens >= Self.maxReopens { return false }
            state.reopens += 1
            let turnedOut: ResultStore.DatabaseChange
            do {
                turnedOut = try store.reopen(after: change)
            } catch {
                failed(&state, error.description)
                return false
            }
            state.change = nil
            if turnedOut == .replaced {
                replacedWarning(&state)
            } else if !state.logReplaced && !state.databaseReplaced {
                warn("the -wal or -shm of \(store.databasePath) was deleted or replaced during the run; recording this run again")
            }
            if turnedOut == .logReplaced { state.logReplaced = true }
            store.pointLatest(at: runID)
        }
        // Deleted, and maybe made again since by the next step's log directory.
        if let directory = state.runDirectory, FileIdentity(directory) != state.runDirectoryIdentity {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            state.hold(directory)
            // With the whole results directory, the database's warning said it.
            if !state.runDirectoryLost && !state.databaseReplaced {
                warn("the run directory \(directory) was deleted during the run; made it again (the logs written before are lost)")
            }
            state.runDirectoryLost = true
        }
        let pending = state.events[state.written...]
        guard !pending.isEmpty || end != nil else { return true }
        let whole = state.written == 0
        do {
            try store.pool.write { db in
                if whole { try store.deleteRun(db, runID) }
                for event in pending { try apply(db, event) }
                if let end { try store.updateFinish(db, end.0, exitCode: end.1, recordingError: end.2) }
            }
        } catch {
            failed(&state, ResultStore.why(error))
            return false
        }
        state.written = state.events.count
        state.retryAfter = nil
        return true
    }

    /// At the end, when the pending events do not go in together: each in a
    /// transaction of its own. When some go in, those that do not are
    /// dropped (counted, and said in the run row); when none does, nothing
    /// is dropped (the disk is full: the end cannot be written either).
    func writeEach(_ state: inout State) -> Bool {
        guard state.change == nil else { return false }
        var kept = Array(state.events[..<state.written])
        var failures: [(RunEvent, String)] = []
        for event in state.events[state.written...] {
            let whole = kept.isEmpty
            do {
                try store.pool.write { db in
                    if whole { try store.deleteRun(db, runID) }
                    try apply(db, event)
                }
                kept.append(event)
            } catch {
                failures.append((event, ResultStore.why(error)))
            }
        }
        guard kept.count > state.written || failures.isEmpty else { return false }
        state.dropped += failures.count
        state.dropReason = state.dropReason ?? failures.first?.1
        state.events = kept
        state.written = kept.count
        return true
    }

    func apply(_ db: Database, _ event: RunEvent) throws {
        switch event {
        case .started(let info): try store.insertStart(db, info)
        case .testFinished(let result): try store.updateTest(db, runID, result)
        case .setupFinished(let result): try store.insertSetup(db, runID, result)
        case .stepStarted, .finished: break
        }
    }

    func replacedWarning(_ state: inout State) {
        if !state.databaseReplaced {
            warn("the results database \(store.databasePath) was deleted or replaced during the run; re-creating it "
                 + "and recording this run again (earlier runs in it are lost)")
        }
        state.databaseReplaced = true
    }

    func failed(_ state: inout State, _ why: String) {
        state.retryAfter = ContinuousClock.now + retryInterval
        state.lastFailure = why
        if state.firstFailure == nil {
            state.firstFailure = why
            warn("cannot record results in \(store.directory): \(why); keeping them in memory and trying again")
        }
    }

    func warn(_ message: String) {
        var text = "testbed: warning: \(message)\n"
        _ = text.withUTF8 { testbed_write_all(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

extension StoreRecorder.State {
    /// Holds `directory` open, and remembers which it is.
    mutating func hold(_ directory: String) {
        if runDirectoryHandle >= 0 { close(runDirectoryHandle) }
        runDirectoryHandle = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        // Not held (Testbed out of descriptors, EMFILE): the directory is
        // still there, known by a stat; never taken for deleted.
        runDirectoryIdentity = FileIdentity(descriptor: runDirectoryHandle) ?? FileIdentity(directory)
    }

    /// Something went wrong with recording, repaired or not.
    var troubled: Bool {
        firstFailure != nil || databaseReplaced || logReplaced || runDirectoryLost || dropped > 0
    }

    /// What went wrong while recording, for the run row (nil: nothing).
    /// `unrecorded`: why the end of the run could not be written.
    func note(unrecorded: String?) -> String? {
        var parts: [String] = []
        if databaseReplaced {
            parts.append("the results database was deleted or replaced during the run; it was re-created and the whole run "
                         + "recorded again (earlier runs in it are lost)")
        }
        // A new database says more than a new -wal.
        if logReplaced && !databaseReplaced {
            parts.append("the -wal or -shm of the results database was deleted or replaced during the run; the whole run was recorded again")
        }
        if runDirectoryLost { parts.append("the run directory was deleted during the run (the logs written before are lost)") }
        if let firstFailure, dropped == 0, unrecorded == nil {
            parts.append("results could not be written for a while (\(firstFailure)); all were written later")
        }
        if dropped > 0 {
            parts.append("\(dropped) record\(dropped == 1 ? "" : "s") of this run could not be written (\(dropReason ?? "unknown error"))")
        }
        if let unrecorded { parts.append("the end of the run could not be recorded (\(unrecorded))") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
