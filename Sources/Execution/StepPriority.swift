import Foundation

/// What earlier runs say about a test: how long it took last time, and
/// whether it failed.
public struct TestHistory: Sendable, Hashable {
    /// How long it ran last time, in seconds.
    public var duration: Double
    /// Whether it failed last time.
    public var failed: Bool

    /// What earlier runs say about a test.
    /// - Parameters:
    ///   - duration: How long it ran last time, in seconds.
    ///   - failed: Whether it failed last time.
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
