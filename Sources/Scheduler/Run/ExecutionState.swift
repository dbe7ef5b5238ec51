import Foundation
import Requirements

/// What the executor knows as a run goes; owned by the task that drives the
/// run, never shared.
struct ExecutionState {
    let plan: Plan
    let baseEnvironment: [String: String]
    let planned: [String: PlannedTest]
    let dependents: [[Int]]
    var remaining: [Int]
    var ready: MinHeap
    var done: Set<Int> = []
    /// Setup steps that started their `run` (their teardown is due).
    var started: Set<Int> = []
    /// Setup steps that failed or were blocked, with the setup at the root.
    var blame: [Int: String] = [:]
    /// What each setup step left running (its services), until its teardown.
    var services: [Int: LeftRunning] = [:]
    /// Each finished setup step's exports, its dependencies' included.
    var exports: [Int: [String: String]] = [:]
    var testResults: [String: TestResult] = [:]
    var setupResults: [SetupResult] = []
    /// An exclusive test waiting for the others to finish.
    var heldExclusive: Int?
    var exclusiveRunning = false
    var restorePending = false
    var restoreCount = 0
    var restoreFailed = false
    var haltedBy: String?
    /// Setup step index by setup name and test (nil for shared setups).
    let setupSteps: [SetupKey: Int]

    struct SetupKey: Hashable {
        let name: String
        let test: String?
    }

    init(plan: Plan, baseEnvironment: [String: String], history: [String: TestHistory] = [:]) {
        self.plan = plan
        self.baseEnvironment = baseEnvironment
        ready = MinHeap(keys: plan.steps.map { step in
            switch step.kind {
            case .test(let id):
                return StepPriority(history: history[id], order: step.id)
            case .testSetup(_, let test):
                // A per-test setup ranks as its test: what it starts lives until
                // its test has run, so instances must not pile up ahead of the
                // tests. Its test, ready once it is done, then outranks the next
                // test's setup (same key, earlier in plan order): with -j 1,
                // setup, test and teardown run in turn, in the tests' order.
                return StepPriority(history: history[test], order: step.id)
            default:
                return StepPriority(tier: 0, cost: 0, order: step.id)
            }
        })
        var planned: [String: PlannedTest] = [:]
        for test in plan.tests { planned[test.test.id] = test }
        self.planned = planned
        var dependents = Array(repeating: [Int](), count: plan.steps.count)
        var remaining = Array(repeating: 0, count: plan.steps.count)
        var setupSteps: [SetupKey: Int] = [:]
        for step in plan.steps {
            remaining[step.id] = step.dependencies.count
            for dependency in step.dependencies { dependents[dependency].append(step.id) }
            switch step.kind {
            case .setup(let name): setupSteps[SetupKey(name: name, test: nil)] = step.id
            case let .testSetup(name, test): setupSteps[SetupKey(name: name, test: test)] = step.id
            default: break
            }
        }
        self.dependents = dependents
        self.remaining = remaining
        self.setupSteps = setupSteps
        for step in plan.steps where step.dependencies.isEmpty { ready.push(step.id) }
    }

    /// The setup step a teardown step undoes.
    func setupStep(of teardown: Int) -> Int? {
        switch plan.steps[teardown].kind {
        case .teardown(let name): setupSteps[SetupKey(name: name, test: nil)]
        case let .testTeardown(name, test): setupSteps[SetupKey(name: name, test: test)]
        default: nil
        }
    }

    func setupName(of step: Int) -> String {
        switch plan.steps[step].kind {
        case .setup(let name), .testSetup(let name, _), .teardown(let name), .testTeardown(let name, _): name
        case .test(let id): id
        }
    }

    /// The first dependency that failed or was blocked, and the setup at the root.
    func firstFailure(among dependencies: [Int]) -> (Int, String)? {
        for dependency in dependencies {
            if let root = blame[dependency] { return (dependency, root) }
        }
        return nil
    }

    /// The exports a step gets: those of every setup it depends on.
    func inputExports(for step: Int) -> [String: String] {
        var merged: [String: String] = [:]
        for dependency in plan.steps[step].dependencies {
            if let values = exports[dependency] { merged.merge(values) { $1 } }
        }
        return merged
    }

    /// The variables a step's process gets on top of the run's base
    /// environment: its setups' exports.
    func inputEnvironment(for step: Int) -> [String: String] {
        inputExports(for: step)
    }
}

/// What earlier runs say about a test: how long it took last time, and
/// whether it failed.
public struct TestHistory: Sendable, Hashable {
    public var duration: Double
    public var failed: Bool

    public init(duration: Double, failed: Bool) {
        self.duration = duration
        self.failed = failed
    }
}

/// Which ready step goes first: shared setups and every teardown (they gate
/// or clean up after others), then tests that failed last time, then tests
/// without history, then the rest by their last duration, longest first (as
/// CTest orders by its cost data); a per-test setup ranks as its test; plan
/// order breaks ties.
struct StepPriority: Comparable {
    let tier: Int
    /// Minus the expected duration, so the longest sorts first.
    let cost: Double
    let order: Int

    init(tier: Int, cost: Double, order: Int) {
        self.tier = tier
        self.cost = cost
        self.order = order
    }

    init(history: TestHistory?, order: Int) {
        guard let history else {
            self.init(tier: 2, cost: 0, order: order)
            return
        }
        self.init(tier: history.failed ? 1 : 3, cost: -history.duration, order: order)
    }

    static func < (a: StepPriority, b: StepPriority) -> Bool {
        (a.tier, a.cost, a.order) < (b.tier, b.cost, b.order)
    }
}

/// A binary min-heap of step ids, by their priority.
struct MinHeap {
    private var items: [Int] = []
    private let keys: [StepPriority]

    /// Keys by step id; without keys, steps come out in plan order.
    init(keys: [StepPriority] = []) {
        self.keys = keys
    }

    var isEmpty: Bool { items.isEmpty }

    private func less(_ a: Int, _ b: Int) -> Bool {
        guard a < keys.count, b < keys.count else { return a < b }
        return keys[a] < keys[b]
    }

    mutating func push(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let min = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && less(items[left], items[smallest]) { smallest = left }
            if right < items.count && less(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return min
    }
}

/// The end of a log file, read without loading the whole file: at most the
/// last `window` bytes, from a regular file only (a FIFO, a device or a link
/// a step planted gives no lines, never a hang or an endless read).
public enum LogTail {
    /// How much of a log's end is read, at most.
    public static let window = 65536

    /// The last `count` lines of the log at `path`. A symbolic link at
    /// `path` itself, or anything but a regular file, gives none.
    public static func lines(_ path: String, count: Int) -> [String] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return lines(descriptor: fd, count: count)
    }

    /// The last `count` lines of the log `relative` (such as
    /// `setups/img/run.log`) below the run directory `directory`, the run
    /// directory and every name below it opened without following links
    /// (the directories above it are the user's): what a step left there after
    /// the run cannot make a report read outside the results, block or read
    /// without end.
    public static func lines(inRun directory: String, log relative: String, count: Int) -> [String] {
        let fd = openLog(inRun: directory, log: relative)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return lines(descriptor: fd, count: count)
    }

    /// Why the log `relative` cannot be read in the run directory ("not
    /// there", "not a regular file": a link on the way, a FIFO); nil when it
    /// is a regular file reached without a link (what `lines(inRun:log:count:)` reads).
    public static func absence(inRun directory: String, log relative: String) -> String? {
        let fd = openLog(inRun: directory, log: relative)
        guard fd >= 0 else { return errno == ENOENT ? "not there" : "not a regular file" }
        defer { close(fd) }
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? nil : "not a regular file"
    }

    /// The log `relative` below `directory`, opened read-only without
    /// following a link on the way, nor blocking on a FIFO; -1 when it cannot be.
    static func openLog(inRun directory: String, log relative: String) -> Int32 {
        var names = relative.split(separator: "/").map(String.init)
        guard let file = names.popLast(), !names.contains(".."), file != ".." else { return -1 }
        var parent = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard parent >= 0 else { return -1 }
        for name in names {
            let next = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(parent)
            guard next >= 0 else { return -1 }
            parent = next
        }
        let fd = openat(parent, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        close(parent)
        return fd
    }

    /// The last `count` lines of an open regular file, read with `pread`
    /// (the file offset is left alone): at most the last `window` bytes.
    public static func lines(descriptor fd: Int32, count: Int) -> [String] {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return [] }
        let size = Int(info.st_size)
        let start = max(0, size - window)
        var data = [UInt8](repeating: 0, count: size - start)
        var filled = 0
        while filled < data.count {
            let got = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(start + filled)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            filled += got
        }
        let text = String(decoding: data[0..<filled], as: UTF8.self)
        var all = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if start > 0, !all.isEmpty { all.removeFirst() }
        while let last = all.last, last.trimmingCharacters(in: .whitespaces).isEmpty { all.removeLast() }
        return Array(all.suffix(count)).map { printable($0, limit: 300) }
    }

    /// Keeps text printable: every character `isUnprintable` names but a tab
    /// becomes `?` (C0 and C1 controls and DEL would garble a terminal, the
    /// bidirectional controls U+202A–U+202E, U+2066–U+2069, U+200E, U+200F
    /// and U+061C reorder what it shows, U+2028/U+2029 break lines), and more
    /// than `limit` characters end in `…`.
    public static func printable(_ line: String, limit: Int) -> String {
        var printable = String.UnicodeScalarView()
        for scalar in line.unicodeScalars {
            printable.append(isUnprintable(scalar) && scalar != "\t" ? "?" : scalar)
        }
        let text = String(printable)
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    /// The last non-empty line without its indentation, for a short reason.
    public static func lastLine(_ path: String) -> String? {
        lastLine(of: lines(path, count: 1))
    }

    static func lastLine(of lines: [String]) -> String? {
        lines.first.flatMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
    }
}
