import Catalog
import Declarations
import HostFacts
import Requirements

/// Builds the plan's steps from resolved tests.
///
/// Nodes are created so that each comes after everything it depends on, so
/// creation order is already a topological order: a shared setup just before
/// the first test that needs it, per-test setups and teardowns around their
/// test, and shared teardowns at the end, each after the last test that needs
/// its setup and after the teardowns of the setups that came after it.
struct GraphBuilder {
    let state: ResolverState
    let tests: [PlannedTest]
    /// The setups each test needs, as indices in `state.setups`.
    let closures: [[Int]]
    var steps: [Step] = []
    var runNode: [Int: Int] = [:]
    var runOrder: [Int] = []
    /// Tests (step ids) and per-test teardowns that each shared teardown waits for.
    var teardownWaits: [Int: [Int]] = [:]
    var closureSets: [Int: Set<Int>] = [:]

    init(state: ResolverState, tests: [PlannedTest], closures: [[Int]]) {
        self.state = state
        self.tests = tests
        self.closures = closures
    }

    mutating func add(_ kind: Step.Kind, _ dependencies: [Int]) -> Int {
        let id = steps.count
        steps.append(Step(id: id, kind: kind, dependencies: dependencies))
        return id
    }

    func setup(_ i: Int) -> SetupDefinition { state.setups[i] }

    mutating func closureSet(_ i: Int) -> Set<Int> {
        if let cached = closureSets[i] { return cached }
        var result: Set<Int> = []
        if case let .usable(closure, _)? = state.resolutions[i] { result = Set(closure) }
        closureSets[i] = result
        return result
    }

    /// A shared setup's node. Its dependencies are shared too: the resolver
    /// refused a plan where one is per-test (`checkScopes`).
    mutating func ensureRunNode(_ i: Int) -> Int {
        if let id = runNode[i] { return id }
        var dependencies: [Int] = []
        for d in state.edges[i] { dependencies.append(ensureRunNode(d)) }
        let id = add(.setup(setup(i).name), dependencies)
        runNode[i] = id
        runOrder.append(i)
        return id
    }

    mutating func build() -> [Step] {
        for (planned, closure) in zip(tests, closures) {
            guard case .needsSetup = planned.status else {
                if case .runnable = planned.status { _ = add(.test(planned.test.id), []) }
                continue
            }
            let id = planned.test.id
            var instance: [Int: Int] = [:]
            var testDependencies: [Int] = []
            for i in closure {
                if setup(i).scope == .run {
                    testDependencies.append(ensureRunNode(i))
                } else {
                    let dependencies = state.edges[i].map { d in setup(d).scope == .run ? runNode[d]! : instance[d]! }
                    let node = add(.testSetup(setup: setup(i).name, test: id), dependencies)
                    instance[i] = node
                    testDependencies.append(node)
                }
            }
            let testNode = add(.test(id), testDependencies)
            // Per-test teardowns, latest setup first.
            var testTeardowns: [Int: Int] = [:]
            for i in closure.reversed() where setup(i).scope == .test && setup(i).teardown != nil {
                var dependencies = [testNode, instance[i]!]
                for (later, node) in testTeardowns where closureSet(later).contains(i) { dependencies.append(node) }
                testTeardowns[i] = add(.testTeardown(setup: setup(i).name, test: id), dependencies.sorted())
            }
            for i in closure where setup(i).scope == .run && setup(i).teardown != nil {
                teardownWaits[i, default: []].append(testNode)
                for (y, node) in testTeardowns where closureSet(y).contains(i) { teardownWaits[i, default: []].append(node) }
            }
        }
        var teardownNode: [Int: Int] = [:]
        for i in runOrder.reversed() where setup(i).teardown != nil {
            var dependencies = [runNode[i]!] + (teardownWaits[i] ?? [])
            for (y, node) in teardownNode where closureSet(y).contains(i) { dependencies.append(node) }
            teardownNode[i] = add(.teardown(setup(i).name), dependencies.sorted())
        }
        return steps
    }
}
