import Catalog
import Declarations
import HostFacts
import Planning
import ProcessSupervision
import Requirements
import Synchronization

/// Hands the executor's events to the recorders from a task of its own, so
/// that recording (a database write, a console line) never holds up the next
/// step. Events keep their order; whatever piled up while the recorders were
/// busy is delivered as one batch (the store writes a batch in one transaction).
///
/// After each delivery the dispatcher waits `interval` before the next, so a
/// run of many short tests costs a few dozen transactions a second rather than
/// one per test, and results still reach the database within that interval.
///
/// The run's start is the exception (`deliverNow`): the recorders have it
/// before the first step is launched, so that what they make of it (the run's
/// row, the results directory's `latest` link) is there before any step
/// runs, never made while a step is at work in the results directory (a test
/// that `rm -rf`s it would find an entry made behind its back and fail).
final class EventDispatcher: Sendable {
    let recorders: [any Recorder]
    let pending = Mutex<[RunEvent]>([])
    /// Whether `finish` was called, and the delivery loop's pause if it is in one.
    let state = Mutex<(finished: Bool, pause: CheckedContinuation<Void, Never>?)>((false, nil))
    let doorbell: AsyncStream<Void>
    let ring: AsyncStream<Void>.Continuation
    let interval: Duration

    init(recorders: [any Recorder], interval: Duration = .milliseconds(25)) {
        self.recorders = recorders
        self.interval = interval
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues an event; returns at once.
    func send(_ event: RunEvent) {
        pending.withLock { $0.append(event) }
        ring.yield()
    }

    /// Delivers `events` to every recorder and returns once they have them:
    /// the run's start, before the first step. Call it before `send` and
    /// `deliver` (nothing else is delivered meanwhile, so the order holds).
    ///
    /// - Parameter events: The events, oldest first.
    func deliverNow(_ events: [RunEvent]) async {
        for recorder in recorders { await recorder.record(events) }
    }

    /// Delivers events until `finish` is called and everything queued is delivered.
    func deliver() async {
        for await _ in doorbell {
            await drain()
            await pause()
        }
        await drain()
    }

    /// Waits `interval`, or less if `finish` comes first: the end of a run
    /// is not held up by the pause between batches.
    func pause() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if state.finished { return true }
                state.pause = continuation
                return false
            }
            if finished {
                continuation.resume()
                return
            }
            let interval = self.interval
            Task {
                try? await Task.sleep(for: interval)
                self.wake()
            }
        }
    }

    func wake() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.pause = nil }
            return state.pause
        }?.resume()
    }

    func drain() async {
        while true {
            let batch = pending.withLock { events -> [RunEvent] in
                defer { events.removeAll(keepingCapacity: true) }
                return events
            }
            guard !batch.isEmpty else { return }
            for recorder in recorders { await recorder.record(batch) }
        }
    }

    /// No more events: `deliver` returns once the queue is empty.
    func finish() {
        state.withLock { $0.finished = true }
        wake()
        ring.finish()
    }
}

extension Recorder {
    /// Records events in order; recorders that can do better with a batch
    /// (one database transaction) implement it.
    ///
    /// - Parameter events: The events, oldest first; each is passed to `record(_:)` in turn.
    public func record(_ events: [RunEvent]) async {
        for event in events { await record(event) }
    }
}
