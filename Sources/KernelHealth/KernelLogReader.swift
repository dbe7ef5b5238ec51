import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The kernel log records of one test: those that arrived while it ran,
/// bounded (`KernelLogReader.maximumBytes`), with what was left out.
public struct KernelLogCapture: Sendable, Hashable {
    /// The records kept, in order.
    public var records: [KernelLogRecord] = []
    /// Records that arrived but were not kept (past the bound).
    public var omitted = 0
    /// Records the kernel overwrote before the reader got to them while the test ran (`EPIPE`: a gap in sequence numbers).
    public var lost = 0
    /// Where records were lost, in order: each gap comes before `records[before]` (or after the last when `before == records.count`).
    public var gaps: [Gap] = []
    /// The other tests attached when one of its records arrived, in the order they were first seen:
    /// those records are in their captures too.
    public var sharedWith: [String] = []
    /// Bytes of the kept records as `kmsg.log` lines (`dmesgLine` and its newline).
    var bytes = 0

    /// Records lost at one place of a capture.
    public struct Gap: Sendable, Hashable {
        /// The index in `records` of the record that came after the gap.
        public var before: Int
        /// How many records were lost there.
        public var count: Int

        /// Records lost before `records[before]`.
        /// - Parameters:
        ///   - before: The index of the record after the gap.
        ///   - count: How many were lost.
        public init(before: Int, count: Int) {
            self.before = before
            self.count = count
        }
    }

    /// An empty capture.
    public init() {}

    /// The records that explain a taint (`KernelLogRecord.explainsTaint`), at most `limit`.
    /// - Parameter limit: The most records to return.
    /// - Returns: The records, in order.
    public func explaining(limit: Int = 6) -> [KernelLogRecord] {
        Array(records.lazy.filter(\.explainsTaint).prefix(limit))
    }
}

/// Reads the kernel's log for the whole run (one reader, not one per test)
/// and hands each record to every test running when it arrived.
///
/// A thread of its own looks every `interval` (not a task: a pool whose
/// threads are all busy would leave records unread until a test ends); `attach` and `detach` look
/// first (`drain`), so a record a test wrote before it exited is its own:
/// when a test starts, what arrived before is drained first; when it ends,
/// what arrived until then is drained, then it is detached.
public final class KernelLogReader: Sendable {
    /// The most bytes of `kmsg.log` lines kept per test (the rest counted in `omitted`).
    public static let maximumBytes = 1 << 20
    /// The most records read in one look (the rest wait for the next).
    static let batchLimit = 4096

    struct State {
        var attached: [String: KernelLogCapture] = [:]
        var lastSequence: UInt64?
        var failure: String?
        var running = false
    }

    let source: any KernelLogSource
    let state = Mutex(State())
    /// What the reader could not read any more, once: nil while it reads.
    public var failure: String? { state.withLock { $0.failure } }
    /// The source's path.
    public var path: String { source.path }

    /// A reader of `source` (open: it gives what arrives from now on).
    /// - Parameter source: The kernel log.
    public init(source: any KernelLogSource) {
        self.source = source
    }

    /// Reads every record available now and hands each to the tests attached.
    public func drain() {
        state.withLock { state in
            guard state.failure == nil else { return }
            while true {
                let batch = source.readAvailable(limit: Self.batchLimit)
                for record in batch.records { deliver(record, &state) }
                if let failure = batch.failure { state.failure = failure }
                if batch.records.count < Self.batchLimit || batch.failure != nil { break }
            }
        }
    }

    func deliver(_ record: KernelLogRecord, _ state: inout State) {
        let gap = state.lastSequence.map { record.sequence > $0 + 1 ? Int(record.sequence - $0 - 1) : 0 } ?? 0
        state.lastSequence = record.sequence
        guard !state.attached.isEmpty else { return }
        let size = record.dmesgLine.utf8.count + 1
        let shared = state.attached.count > 1
        for key in state.attached.keys {
            if gap > 0 {
                state.attached[key]!.lost += gap
                state.attached[key]!.gaps.append(KernelLogCapture.Gap(before: state.attached[key]!.records.count, count: gap))
            }
            if shared {
                for other in state.attached.keys.sorted() where other != key && !state.attached[key]!.sharedWith.contains(other) {
                    state.attached[key]!.sharedWith.append(other)
                }
            }
            if state.attached[key]!.bytes + size > Self.maximumBytes {
                state.attached[key]!.omitted += 1
            } else {
                state.attached[key]!.bytes += size
                state.attached[key]!.records.append(record)
            }
        }
    }

    /// A test starts: what arrived before is drained (not its), then it gets every record from now on.
    /// - Parameter test: The test's id.
    public func attach(_ test: String) {
        drain()
        state.withLock { $0.attached[test] = KernelLogCapture() }
    }

    /// A test ended: what arrived until now is drained (its, and every other running test's), then it is detached.
    /// - Parameter test: The test's id.
    /// - Returns: Its records; empty when it was not attached.
    public func detach(_ test: String) -> KernelLogCapture {
        drain()
        return state.withLock { $0.attached.removeValue(forKey: test) } ?? KernelLogCapture()
    }

    /// Starts the background look, every `interval` until `stop`.
    /// - Parameter interval: Time between looks (100 ms by default).
    public func start(interval: Duration = .milliseconds(100)) {
        let began = state.withLock { state -> Bool in
            defer { state.running = true }
            return !state.running
        }
        guard began else { return }
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            while state.withLock({ $0.running }) {
                Thread.sleep(forTimeInterval: seconds)
                drain()
            }
        }
        thread.name = "testbed kmsg reader"
        thread.start()
    }

    /// Stops the background look (after a last `drain`).
    public func stop() {
        drain()
        state.withLock { $0.running = false }
    }
}
