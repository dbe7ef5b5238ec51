import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the monitor saw of one test once it ended.
public struct TestHealth: Sendable, Hashable {
    /// Its kernel log records; nil when the kernel log is not read.
    public var kernelLog: KernelLogCapture?
    /// Flags that appeared while it ran and are blamed on it: not present at
    /// the run's start, not blamed on an earlier test, not ignored. Empty: none.
    public var newTaint: Taint = .none
    /// The other tests that ran at some time while it ran, in the order they started.
    public var alongside: [String] = []
    /// The other tests still running when it ended (the suspects of a taint found then), in the order they started.
    public var stillRunning: [String] = []

    /// What the monitor saw of a test.
    /// - Parameters:
    ///   - kernelLog: Its kernel log records, if the kernel log is read.
    ///   - newTaint: The flags blamed on it.
    ///   - alongside: The other tests that ran at some time while it ran.
    ///   - stillRunning: The other tests still running when it ended.
    public init(kernelLog: KernelLogCapture? = nil, newTaint: Taint = .none, alongside: [String] = [], stillRunning: [String] = []) {
        self.kernelLog = kernelLog
        self.newTaint = newTaint
        self.alongside = alongside
        self.stillRunning = stillRunning
    }
}

/// Watches the kernel's health through a run: the kernel log (one
/// `KernelLogReader`) and the taint file, read as each test starts and
/// ends. A flag new since the run started, not blamed already and not
/// ignored, is blamed on the test that ends first after it appeared (the
/// tests running alongside are suspects); one that appears while no test
/// runs is returned by `taintWhileIdle` for the run to report.
///
/// Either part may be missing (unreadable): the other still works.
public final class KernelHealthMonitor: Sendable {
    /// The kernel log reader; nil when the kernel log is not read.
    public let log: KernelLogReader?
    /// The taint file (`/proc/sys/kernel/tainted`); nil when it is not read.
    public let taintPath: String?
    /// Flags that never fail a test (`--taint-ignore`, the environment's `taint-ignore`).
    public let ignored: Taint
    /// The taint when the run started: never blamed on a test.
    public let atStart: Taint

    struct State {
        /// Flags already seen (at the start, blamed, or found between tests).
        var known: Taint
        /// The tests running, in the order they started, each with who ran alongside it.
        var running: [(id: String, alongside: [String])] = []
        var taintFailure: String?
    }

    let state: Mutex<State>

    /// A monitor of the run about to start.
    /// - Parameters:
    ///   - log: The kernel log reader, if the kernel log can be read.
    ///   - taintPath: The taint file, if it can be read.
    ///   - ignored: Flags never blamed on a test.
    ///   - atStart: The taint as the run starts (`readTaint`).
    public init(log: KernelLogReader?, taintPath: String?, ignored: Taint, atStart: Taint) {
        self.log = log
        self.taintPath = taintPath
        self.ignored = ignored
        self.atStart = atStart
        state = Mutex(State(known: atStart.union(ignored)))
    }

    /// The taint file as it is now.
    /// - Parameter path: The file (`/proc/sys/kernel/tainted` below the host root).
    /// - Returns: Its taint.
    /// - Throws: `KernelHealthError.unreadable` or `.malformedTaint`.
    public static func readTaint(_ path: String) throws(KernelHealthError) -> Taint {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, why: String(cString: strerror(errno))) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw .unreadable(path: path, why: String(cString: strerror(errno))) }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        guard let taint = Taint.parse(text) else { throw .malformedTaint(path: path, text: text) }
        return taint
    }

    /// The taint now; nil when the file is not read or cannot be read any more.
    func currentTaint() -> Taint? {
        guard let taintPath else { return nil }
        do {
            return try Self.readTaint(taintPath)
        } catch {
            state.withLock { $0.taintFailure = $0.taintFailure ?? error.description }
            return nil
        }
    }

    /// What went wrong reading the taint file during the run, once; nil when nothing did.
    public var taintFailure: String? { state.withLock { $0.taintFailure } }

    /// A test starts: the kernel log is drained and the test attached.
    /// (Flags that appeared while no test ran are found by `taintWhileIdle`,
    /// which the run calls before it lets anything new start.)
    /// - Parameter test: The test's id.
    public func testStarting(_ test: String) {
        log?.attach(test)
        state.withLock { state in
            let others = state.running.map(\.id)
            for index in state.running.indices { state.running[index].alongside.append(test) }
            state.running.append((test, others))
        }
    }

    /// While no test runs: the taint is read, and flags new since the last
    /// look (not ignored) are taken as known (no test is blamed) and returned.
    /// The run calls it before it lets a step start and when its last step
    /// ended, so that a taint from a setup or a teardown stops what comes next.
    /// - Returns: The new flags; empty when there are none, when a test runs
    ///   (a flag found then is blamed on a test when it ends) or when the taint is not read.
    public func taintWhileIdle() -> Taint {
        guard taintPath != nil, state.withLock({ $0.running.isEmpty }) else { return .none }
        guard let now = currentTaint() else { return .none }
        return state.withLock { state -> Taint in
            guard state.running.isEmpty else { return .none }
            let between = now.subtracting(state.known)
            state.known.formUnion(between)
            return between
        }
    }

    /// A test ended: its kernel log (drained first), then the taint: flags
    /// new since the run started, not blamed yet and not ignored, are blamed on it.
    /// - Parameter test: The test's id.
    /// - Returns: What it saw.
    public func testEnded(_ test: String) -> TestHealth {
        let capture = log?.detach(test)
        let now = currentTaint()
        return state.withLock { state -> TestHealth in
            var health = TestHealth(kernelLog: capture)
            if let index = state.running.firstIndex(where: { $0.id == test }) {
                health.alongside = state.running.remove(at: index).alongside
            }
            health.stillRunning = state.running.map(\.id)
            if let now {
                health.newTaint = now.subtracting(state.known)
                state.known.formUnion(health.newTaint)
            }
            return health
        }
    }
}
