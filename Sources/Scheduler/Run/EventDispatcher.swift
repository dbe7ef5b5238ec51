import Synchronization

/// Hands the executor's events to the recorders from a task of its own, so
/// that recording (a database write, a console line) never holds up the next
/// step. Events keep their order; whatever piled up while the recorders were
/// busy is delivered as one batch (the store writes a batch in one transaction).
///
/// After each delivery the dispatcher waits `interval` before the next, so a
/// run of many short tests costs a few dozen transactions a second rather than
/// one per test, and results still reach the database within that interval.
final class EventDispatcher: Sendable {
    let recorders: [any Recorder]
    let pending = Mutex<[RunEvent]>([])
    let finished = Mutex(false)
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

    /// Delivers events until `finish` is called and everything queued is delivered.
    func deliver() async {
        for await _ in doorbell {
            await drain()
            if !finished.withLock({ $0 }) { try? await Task.sleep(for: interval) }
        }
        await drain()
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
        finished.withLock { $0 = true }
        ring.finish()
    }
}

extension Recorder {
    /// Records events in order; recorders that can do better with a batch
    /// (one database transaction) implement it.
    public func record(_ events: [RunEvent]) async {
        for event in events { await record(event) }
    }
}
