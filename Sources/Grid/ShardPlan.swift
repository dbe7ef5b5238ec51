/// How a grid run splits its tests over nodes: one shard per node, each test on one node that can run it,
/// balanced by expected durations (greedy, longest first, onto the node with the least total so far).
public struct ShardPlan: Sendable, Codable, Equatable {
    /// The tests one node runs.
    public struct Shard: Sendable, Codable, Equatable {
        /// The node.
        public var node: String
        /// The test ids, in catalog order.
        public var tests: [String]
        /// The expected total, in seconds.
        public var seconds: Double
    }

    /// The shards, in the grid's node order; nodes without tests have none.
    public var shards: [Shard]
    /// Tests that no usable node can run (reported unsupported, never submitted), in catalog order.
    public var unplaced: [String]

    /// Splits the placement's tests over its usable nodes.
    ///
    /// - Parameters:
    ///   - placement: which nodes can run which test.
    ///   - durations: the recorded duration of tests, in seconds; a test without one counts as the median of the
    ///     known ones among those placed, else 1 s.
    ///   - only: only these ids (nil: every test of the placement).
    ///   - excluding: nodes not to use (a node that halted).
    /// - Returns: the shards and the tests left out.
    public static func make(_ placement: GridPlacement, durations: [String: Double], tests only: Set<String>? = nil,
                            excluding: Set<String> = []) -> ShardPlan {
        let usable = placement.usableNodes.filter { !excluding.contains($0) }
        let order = Dictionary(uniqueKeysWithValues: usable.enumerated().map { ($1, $0) })
        let chosen = placement.tests.filter { only?.contains($0.id) ?? true }
        let known = chosen.compactMap { durations[$0.id] }.sorted()
        let fallback = known.isEmpty ? 1 : (known.count % 2 == 1 ? known[known.count / 2]
                                                                 : (known[known.count / 2 - 1] + known[known.count / 2]) / 2)
        var totals = [Double](repeating: 0, count: usable.count)
        var assigned: [String: Int] = [:]
        var unplaced: [String] = []
        let catalogOrder = Dictionary(chosen.enumerated().map { ($1.id, $0) }) { first, _ in first }
        // Longest first; among equals, the test with the fewest candidate nodes first (it has the least choice), then catalog order.
        let ranked = chosen.map { test in
            (test: test, seconds: durations[test.id] ?? fallback, nodes: test.candidates.compactMap { order[$0.node] })
        }.sorted { a, b in
            if a.seconds != b.seconds { return a.seconds > b.seconds }
            if a.nodes.count != b.nodes.count { return a.nodes.count < b.nodes.count }
            return catalogOrder[a.test.id]! < catalogOrder[b.test.id]!
        }
        for item in ranked {
            guard let best = item.nodes.min(by: { totals[$0] != totals[$1] ? totals[$0] < totals[$1] : $0 < $1 }) else {
                unplaced.append(item.test.id)
                continue
            }
            totals[best] += item.seconds
            assigned[item.test.id] = best
        }
        var shards: [Shard] = []
        for (index, node) in usable.enumerated() {
            let tests = chosen.map(\.id).filter { assigned[$0] == index }
            if !tests.isEmpty { shards.append(Shard(node: node, tests: tests, seconds: totals[index])) }
        }
        return ShardPlan(shards: shards, unplaced: unplaced.sorted { catalogOrder[$0]! < catalogOrder[$1]! })
    }
}
