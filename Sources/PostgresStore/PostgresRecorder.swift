import CShim
import Execution
import Foundation
import PostgresNIO
import Results
import Synchronization

/// Writes a run's events to PostgreSQL as they happen: a batch of events (what piled up while the last write
/// ran) in one transaction.
///
/// Like `StoreRecorder` it keeps every event of the run in memory until the run ends, so that nothing the
/// database did not take is lost: a write that fails (the server restarted, the network went away) is tried
/// again with a later batch (at most once per `retryInterval`, the connection opened again) and at the end, with
/// everything since; a connection lost half-way through a transaction loses nothing (the transaction is rolled
/// back, its events stay pending). Before each write it checks the run's directories (`RunLayout.verify`), which
/// stay on this host. The first failure is warned about on stderr; the run row keeps what went wrong
/// (`recording_error`), and the exit code gets its infrastructure bit, as with SQLite.
public final class PostgresRecorder: RunRecorder {
    let store: PostgresRunStore
    /// The run's directories, checked before each write (nil: none to check).
    let layout: RunLayout?
    let runID: String
    let exitCodes: ExitCodes
    /// How long after a failed write the next one is tried (except at the end).
    let retryInterval: Duration
    let state = Mutex<State>(State())

    struct State {
        /// Every event of the run that goes to the database, in order.
        var events: [RunEvent] = []
        /// How many of `events` the database holds.
        var written = 0
        /// The first repair of each directory, in order: warned about, in the note.
        var repairs: [DirectoryRepair] = []
        /// No write is tried before this, except at the end.
        var retryAfter: ContinuousClock.Instant?
        /// Why the first and the last failed write failed, and what to do about the last.
        var firstFailure: String?
        var lastFailure: String?
        var lastFix: String?
        var outcome: RecordingOutcome?
        /// The run as it started, for `report`.
        var info: RunInfo?
        /// The run as it ended (`RunRecorder.report`).
        var report: RunReport?

        /// Something went wrong with recording, repaired or not.
        var troubled: Bool { firstFailure != nil || !repairs.isEmpty }

        /// What went wrong while recording, for the run row (nil: nothing).
        func note(unrecorded: String?) -> String? {
            var parts = repairs.map(\.note)
            if let firstFailure, unrecorded == nil {
                parts.append("results could not be written for a while (\(firstFailure)); all were written later")
            }
            if let unrecorded { parts.append("the end of the run could not be recorded (\(unrecorded))") }
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        }
    }

    init(store: PostgresRunStore, runID: String, exitCodes: ExitCodes, layout: RunLayout?, retryInterval: Duration = .seconds(1)) {
        self.store = store
        self.layout = layout
        self.runID = runID
        self.exitCodes = exitCodes
        self.retryInterval = retryInterval
    }

    /// How the recording ended; nil until `.finished` was recorded.
    public var outcome: RecordingOutcome? { state.withLock { $0.outcome } }

    /// The run as it ended, with the exit code and recording trouble of `outcome`; nil until `.finished` was recorded.
    public var report: RunReport? { state.withLock { $0.report } }

    /// Records one event (see `record(_:)` of a batch).
    ///
    /// - Parameter event: the event.
    public func record(_ event: RunEvent) async {
        await record([event])
    }

    /// Records a batch of events: kept in memory and written in one transaction (unless a failed write is waiting
    /// out `retryInterval`); the run's end (`.finished`) writes everything still pending, then the run row's end.
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
        if started { RunDirectories.pointLatest(in: store.results, at: runID) }
        if let summary { finish(summary) }
    }

    /// The run's end: everything still pending, then the run row with its exit code and what went wrong.
    func finish(_ summary: RunSummary) {
        state.withLock { state in
            _ = sync(&state, force: true)
            var code = summary.exitCode(exitCodes, recordingFailed: state.troubled)
            var note = state.note(unrecorded: nil)
            var written = sync(&state, force: true, end: (summary, code, note))
            if !written || state.note(unrecorded: nil) != note {
                // Once more, with what the last try found (a failure, a directory made again).
                code = summary.exitCode(exitCodes, recordingFailed: state.troubled)
                note = state.note(unrecorded: nil)
                written = sync(&state, force: true, end: (summary, code, note))
            }
            let unrecorded = written ? nil : state.lastFailure ?? "unknown error"
            let outcome = RecordingOutcome(exitCode: code, recordingError: written ? note : state.note(unrecorded: unrecorded),
                                           unrecorded: unrecorded, unrecordedFix: written ? nil : state.lastFix, inDatabase: state.written > 0)
            state.outcome = outcome
            if let info = state.info { state.report = RunReport(info: info, summary: summary, recording: outcome) }
        }
    }

    /// Writes what the database lacks of `state.events` (and the run's end, with `end`) in one transaction (the
    /// whole run, its old rows removed first, when it holds none of it). True when the database has it all.
    func sync(_ state: inout State, force: Bool, end: (RunSummary, Int32, String?)? = nil) -> Bool {
        if !force, let after = state.retryAfter, ContinuousClock.now < after { return false }
        layout?.verify()
        takeRepairs(&state)
        let pending = state.events[state.written...]
        guard !pending.isEmpty || end != nil else { return true }
        let whole = state.written == 0
        do {
            try store.session.transaction { connection in
                if whole { try store.deleteRun(connection, runID) }
                for event in pending { try apply(connection, event) }
                if let end { try store.updateFinish(connection, end.0, exitCode: end.1, recordingError: end.2) }
            }
        } catch {
            failed(&state, PostgresSession.why(error))
            return false
        }
        state.written = state.events.count
        state.retryAfter = nil
        return true
    }

    func apply(_ connection: PostgresConnection, _ event: RunEvent) throws {
        switch event {
        case .started(let info):
            try store.insertStart(connection, info)
            try store.recordTaintAtStart(connection, info)
        case .testFinished(let result, _): try store.updateTest(connection, runID, result)
        case let .testRerun(result, attempt, _): try store.insertAttempt(connection, runID, id: result.id, attempt: attempt, TestAttempt(result))
        case .setupFinished(let result, _): try store.insertSetup(connection, runID, result)
        case .stepStarted, .finished: break
        }
    }

    /// The directories Testbed made again since the last call: the first of each is warned about and goes in the note.
    func takeRepairs(_ state: inout State) {
        for repair in store.results.takeRepairs() {
            guard !state.repairs.contains(where: { $0.subject == repair.subject }) else { continue }
            state.repairs.append(repair)
            warn(repair.warning)
        }
    }

    func failed(_ state: inout State, _ why: String) {
        state.retryAfter = ContinuousClock.now + retryInterval
        state.lastFailure = why
        state.lastFix = StoreError.unreachable(store.location, why).fix
        if state.firstFailure == nil {
            state.firstFailure = why
            warn("cannot record results in \(store.location): \(why); keeping them in memory and trying again")
        }
    }

    func warn(_ message: String) {
        var text = "testbed: warning: \(message)\n"
        _ = text.withUTF8 { testbed_write_all(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
