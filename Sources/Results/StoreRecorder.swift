import CShim
import Execution
import ProcessSupervision
import Foundation
import GRDB
import Synchronization

extension RunSummary {
    /// The exit code of `testbed run`, by `ExitPolicy`: for the run row, the
    /// summary line and the process alike.
    ///
    /// - Parameters:
    ///   - codes: the scheme (`--exit-codes`).
    ///   - recordingFailed: the results directory did not take the run as it
    ///     went (deleted, full, not writable), even if it was written later.
    /// - Returns: the code (`ExitPolicy.run(tests:setups:interrupted:recordingFailed:)`).
    public func exitCode(_ codes: ExitCodes, recordingFailed: Bool) -> Int32 {
        ExitPolicy(codes).run(tests: tests, setups: setups.lazy.map(\.outcome), interrupted: interrupted,
                              recordingFailed: recordingFailed)
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
    /// What to do about `unrecorded` ("free some space or choose another --results DIR").
    public let unrecordedFix: String?
    /// Whether a database holds the run at all (incomplete) when `unrecorded`:
    /// false when none could be opened, or none ever took its start.
    public let inDatabase: Bool

    /// - Parameters:
    ///   - exitCode: the run's exit code, recording trouble included.
    ///   - recordingError: why some results could not be written, if so.
    ///   - unrecorded: what could not be recorded at all, if anything.
    ///   - unrecordedFix: what the user can do about it.
    ///   - inDatabase: whether a database holds the run at all.
    public init(exitCode: Int32, recordingError: String?, unrecorded: String?, unrecordedFix: String? = nil, inDatabase: Bool = true) {
        self.exitCode = exitCode
        self.recordingError = recordingError
        self.unrecorded = unrecorded
        self.unrecordedFix = unrecordedFix
        self.inDatabase = inDatabase
    }
}

/// Writes a run's events to the results database as they happen: a batch of
/// events (what piled up while the last write ran) in one transaction.
///
/// It keeps every event of the run in memory until the run ends, so that
/// nothing the database did not take is lost:
/// - a write that fails (a full disk) is tried again with a later batch (at
///   most once per `retryInterval`) and at the end, with everything since;
/// - before each write it checks that the results directory, the run
///   directory and its `tests`/`setups`/`restore` are the ones made for the
///   run (`RunLayout.verify`: one `fstatat` each) and that `testbed.sqlite`,
///   its `-wal` and `-shm` are the files it opened: a directory deleted,
///   moved away or replaced by a link is made again where it was (the link
///   removed, never followed); a database deleted or replaced during the run
///   (a test that removed the results directory) is re-created with its
///   schema and the whole run written into it again.
/// Each kind of trouble is warned about once on stderr (each directory once),
/// and recorded with the run (`recording_error`) along with the
/// infrastructure bit in its exit code.
/// At the end (`.finished`) the run's row gets the exit code, and the log is
/// checkpointed into `testbed.sqlite`.
public final class StoreRecorder: RunRecorder {
    let store: SQLiteRunStore
    /// The run's directories, checked before each write (nil: none to check).
    let layout: RunLayout?
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
        /// The first repair of each directory (`DirectoryRepair.subject`), in order: warned about, in the note.
        var repairs: [DirectoryRepair] = []
        /// Where the results directory was moved to (with the database that held the earlier runs).
        var resultsMovedTo: String?
        /// A change of the database files seen but not repaired yet.
        var change: SQLiteRunStore.DatabaseChange?
        /// How many times the database was opened again.
        var reopens = 0
        /// No write is tried before this, except at the end.
        var retryAfter: ContinuousClock.Instant?
        /// Why the first and the last failed write failed, and what to do about the last.
        var firstFailure: String?
        var lastFailure: String?
        var lastFix: String?
        var databaseReplaced = false
        var logReplaced = false
        /// The results directory is covered by a mount Testbed does not write into (`ResultsDirectory.refusal`).
        var unreachable = false
        /// Events that could not be written even alone, at the end (dropped), and why.
        var dropped = 0
        var dropReason: String?
        var outcome: RecordingOutcome?
        /// The run as it started (kept even if its event is dropped), for `report`.
        var info: RunInfo?
        /// The run as it ended (`RunRecorder.report`).
        var report: RunReport?
    }

    init(store: SQLiteRunStore, runID: String, exitCodes: ExitCodes, layout: RunLayout? = nil, retryInterval: Duration = .seconds(1)) {
        self.store = store
        self.layout = layout
        self.runID = runID
        self.exitCodes = exitCodes
        self.retryInterval = retryInterval
    }

    /// How the recording ended; nil until `.finished` was recorded.
    public var outcome: RecordingOutcome? { state.withLock { $0.outcome } }

    /// The run as it ended, with the exit code and recording trouble of
    /// `outcome`; nil until `.finished` was recorded.
    public var report: RunReport? { state.withLock { $0.report } }

    /// Records one event (see `record(_:)` of a batch).
    ///
    /// - Parameter event: the event.
    public func record(_ event: RunEvent) async {
        await record([event])
    }

    /// Records a batch of events: kept in memory, and written in one
    /// transaction unless a failed write is waiting out `retryInterval`; the
    /// run's end (`.finished`) writes everything still pending.
    ///
    /// - Parameter events: the events, in order.
    public func record(_ events: [RunEvent]) async {
        var started = false
        var summary: RunSummary?
        state.withLock { state in
            for event in events {
                switch event {
                case .stepStarted: continue
                case .started(let info):
                    started = true
                    state.info = info
                    state.events.append(event)
                case .finished(let end): summary = end
                case .testFinished, .setupFinished, .testRerun: state.events.append(event)
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
            let outcome = RecordingOutcome(exitCode: code, recordingError: written ? note : state.note(unrecorded: unrecorded),
                                           unrecorded: unrecorded, unrecordedFix: written ? nil : state.lastFix,
                                           inDatabase: state.change == nil && state.written > 0)
            state.outcome = outcome
            if let info = state.info {
                state.report = RunReport(info: info, summary: summary, recording: outcome)
            }
        }
    }

    /// Brings the database up to `state.events` (and the run's end, with
    /// `end`): makes the run's directories again where a step deleted or
    /// moved them, re-opens a database that was deleted, and writes what it
    /// lacks in one transaction (the whole run, its old rows removed first,
    /// when it lacks everything). True when the database has it all.
    func sync(_ state: inout State, force: Bool, end: (RunSummary, Int32, String?)? = nil) -> Bool {
        if !force, let after = state.retryAfter, ContinuousClock.now < after { return false }
        var settled = false
        if let layout {
            if !layout.intact {
                // Maybe a results directory half-way through `rm -rf`: let it
                // finish before making anything again.
                usleep(50_000)
                settled = true
            }
            layout.verify()
        }
        // A mount a step put over the results directory: nothing is written
        // there (the database neither) while it is there.
        if let why = store.results.refusal() {
            takeRepairs(&state)
            state.unreachable = true
            failed(&state, why, fix: "remove the mount a step left there (umount \(store.directory)) and run the tests again")
            return false
        }
        state.unreachable = false
        if state.change == nil {
            var change = store.databaseChange()
            if change != nil && !settled {
                // Maybe a results directory half-way through `rm -rf`, or a step
                // that is putting something in the database's place: a moment
                // later it is done (the database gone too, a link there to be
                // removed), and that is what to say and to repair.
                usleep(50_000)
                // The run's directories first (gone with it, say), so that the warnings come in order.
                layout?.verify()
                if store.databaseChange() == .replaced { change = .replaced }
            }
            takeRepairs(&state)
            if change == .replaced { replacedWarning(&state) }
            state.change = change
        } else {
            takeRepairs(&state)
        }
        if let change = state.change {
            state.written = 0
            // A database deleted again and again: each re-creation keeps the old
            // connections open (see `reopen`); after a few, only the end writes.
            if !force && state.reopens >= Self.maxReopens { return false }
            state.reopens += 1
            let turnedOut: SQLiteRunStore.DatabaseChange
            var notes: [String] = []
            do {
                turnedOut = try store.reopen(after: change, notes: &notes)
            } catch {
                for note in notes { warn(note) }
                takeRepairs(&state)
                failed(&state, error.problem, fix: error.fix)
                return false
            }
            for note in notes { warn(note) }
            takeRepairs(&state)
            state.change = nil
            if turnedOut == .replaced {
                replacedWarning(&state)
            } else if !state.logReplaced && !state.databaseReplaced {
                warn("the -wal or -shm of \(store.databasePath) was deleted or replaced during the run; recording this run again")
            }
            if turnedOut == .logReplaced { state.logReplaced = true }
            store.pointLatest(at: runID)
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
            failed(&state, SQLiteRunStore.why(error), fix: SQLiteRunStore.fix(for: error))
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
        guard state.change == nil, !state.unreachable else { return false }
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
                failures.append((event, SQLiteRunStore.why(error)))
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
        case .started(let info):
            try store.insertStart(db, info)
            try store.recordReruns(db, info)
            try store.recordTaintAtStart(db, info)
        case .testFinished(let result, _): try store.updateTest(db, runID, result)
        case let .testRerun(result, attempt, _): try store.insertAttempt(db, runID, id: result.id, attempt: attempt, TestAttempt(result))
        case .setupFinished(let result, _): try store.insertSetup(db, runID, result)
        case .stepStarted, .finished: break
        }
    }

    func replacedWarning(_ state: inout State) {
        if !state.databaseReplaced {
            warn("the results database \(store.databasePath) was deleted or replaced during the run; re-creating it "
                 + "and recording this run again (\(state.earlierRuns))")
        }
        state.databaseReplaced = true
    }

    /// The directories Testbed made again since the last call: the first
    /// of each is warned about and goes in the note.
    func takeRepairs(_ state: inout State) {
        for repair in store.results.takeRepairs() {
            if repair.subject == .results, let place = repair.movedTo { state.resultsMovedTo = place }
            guard !state.repairs.contains(where: { $0.subject == repair.subject }) else { continue }
            state.repairs.append(repair)
            warn(repair.warning)
        }
    }

    func failed(_ state: inout State, _ why: String, fix: String) {
        state.retryAfter = ContinuousClock.now + retryInterval
        state.lastFailure = why
        state.lastFix = fix
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
    /// Something went wrong with recording, repaired or not.
    var troubled: Bool {
        firstFailure != nil || databaseReplaced || logReplaced || !repairs.isEmpty || dropped > 0
    }

    /// Where the runs recorded before this one are, once the database was re-created.
    var earlierRuns: String {
        resultsMovedTo.map { "earlier runs are in \(LogTail.printable($0, limit: 200))/\(SQLiteRunStore.databaseName)" }
            ?? "earlier runs in it are lost"
    }

    /// What went wrong while recording, for the run row (nil: nothing).
    /// `unrecorded`: why the end of the run could not be written.
    func note(unrecorded: String?) -> String? {
        var parts = repairs.map(\.note)
        if databaseReplaced {
            parts.append("the results database was deleted or replaced during the run; it was re-created and the whole run "
                         + "recorded again (\(earlierRuns))")
        }
        // A new database says more than a new -wal.
        if logReplaced && !databaseReplaced {
            parts.append("the -wal or -shm of the results database was deleted or replaced during the run; the whole run was recorded again")
        }
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
