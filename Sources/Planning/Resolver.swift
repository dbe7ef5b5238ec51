import Catalog
import Declarations
import HostFacts
import Requirements

/// Turns a catalog and an environment's facts into a `Plan`, without running
/// anything.
///
/// For each selected test: every requirement is checked against the facts;
/// one that is unmet is handed to the first setup whose `provides` promises
/// it (and that can itself run here), closed over `after`; if none can, the
/// test is unsupported with one reason per unmet requirement.
public struct Resolver: Sendable {
    /// The tests and setups to plan.
    public let catalog: SuiteCatalog
    /// What the host has.
    public let facts: any FactSource
    /// Tests that `dirties` the host are unsupported: the environment declares
    /// no `restore` to return it to a pristine state (autopkgtest's
    /// `breaks-testbed`), and `--allow-dirty` was not given.
    public let refusesDirtyingTests: Bool

    /// A resolver.
    /// - Parameters:
    ///   - catalog: The tests and setups to plan.
    ///   - facts: What the host has.
    ///   - refusesDirtyingTests: Whether `dirties: true` tests are unsupported (nothing restores the host).
    public init(catalog: SuiteCatalog, facts: any FactSource, refusesDirtyingTests: Bool = false) {
        self.catalog = catalog
        self.facts = facts
        self.refusesDirtyingTests = refusesDirtyingTests
    }

    /// Why a `dirties: true` test does not run where nothing restores the host.
    public static let dirtyingRefused = Unmet(requirement: "dirties", cause: .dirtying)

    /// The plan for the selected tests. With `steps: false` the plan has
    /// every verdict and no steps (what `check` needs: building the graph
    /// of 100,000 tests is a tenth of its time); its errors are the same.
    ///
    /// - Parameters:
    ///   - selection: Which of the catalog's tests to plan (ids and tags); all by default.
    ///   - withSteps: Whether to build the step graph; false for verdicts alone.
    /// - Returns: The plan: each selected test, in catalog order, runnable with its setups or unsupported with its reasons; the
    ///   setups used; and, with `steps`, the steps with their dependencies.
    /// - Throws: `PlanError`: `.cycle` when `after` or a chosen provider leads back to a setup, `.scopeMismatch` when a shared
    ///   setup would wait for a per-test one, `.chainTooLong` when a test needs setups chained deeper than `ResolverState.longestChain`.
    public func resolve(_ selection: TestSelection = TestSelection(), steps withSteps: Bool = true) throws(PlanError) -> Plan {
        var state = try ResolverState(catalog: catalog, facts: facts)
        var planned: [PlannedTest] = []
        var closures: [[Int]] = []
        // Tests with the same `requires` and `setup` lists get the same verdict:
        // the loader gives each distinct pair of lists one `RequirementSetID`,
        // so the verdict is worked out once per pair, not once per test.
        var verdicts: [VerdictKey: (status: PlannedTest.Status, promises: [Promise], closure: [Int])] = [:]
        for test in catalog.tests where selection.matches(test) {
            let refused = refusesDirtyingTests && test.dirties
            let key = test.requirementSet.map { VerdictKey(requirementSet: $0, refused: refused) }
            if let key, let known = verdicts[key] {
                planned.append(PlannedTest(test: test, status: known.status, promises: known.promises))
                closures.append(known.closure)
                continue
            }
            var (plannedTest, closure) = try state.plan(test)
            if let deepest = state.tooLong {
                throw .chainTooLong(test: test.id, setup: state.setups[deepest].name, limit: ResolverState.longestChain,
                                    test.setupsLocation)
            }
            if refused {
                plannedTest = PlannedTest(test: test, status: .unsupported(plannedTest.status.unmet + [Self.dirtyingRefused]))
                closure = []
            }
            if let key { verdicts[key] = (plannedTest.status, plannedTest.promises, closure) }
            planned.append(plannedTest)
            closures.append(closure)
        }
        try state.checkScopes(closures)
        var steps: [Step] = []
        if withSteps {
            var builder = GraphBuilder(state: state, tests: planned, closures: closures)
            steps = builder.build()
        }
        var isUsed = [Bool](repeating: false, count: state.setups.count)
        for closure in closures {
            for i in closure { isUsed[i] = true }
        }
        var used: [String: SetupDefinition] = [:]
        for (i, setup) in state.setups.enumerated() where isUsed[i] { used[setup.name] = setup }
        return Plan(environment: facts.environmentName, tests: planned, steps: steps, setups: used)
    }
}

/// What a test's verdict depends on besides the catalog and the facts: its
/// lists (by their interned id), and whether it is refused for `dirties`.
struct VerdictKey: Hashable {
    let requirementSet: RequirementSetID
    let refused: Bool
}

/// Whether a setup can run here, and what it brings along.
enum SetupResolution: Sendable {
    /// `closure`: the setup and every setup it needs, each after those it needs.
    case usable(closure: [Int], promised: [ProvidedFact])
    case unusable([Unmet])
}

struct ResolverState {
    let setups: [SetupDefinition]
    let index: [String: Int]
    let facts: any FactSource
    /// Setups each setup waits for: its `after` and the providers chosen for it.
    var edges: [[Int]]
    var resolutions: [SetupResolution?]
    var inProgress: Set<Int> = []
    /// How many setups a setup may wait for in a row: resolving recurses once
    /// per link, and one file of 5,000 chained setups overflowed the stack.
    static let longestChain = 256
    /// The first setup past the limit, when a chain is longer: the plan is refused.
    var tooLong: Int?
    /// Host checks by requirement text: many tests share requirements.
    var checks: [String: RequirementCheck] = [:]
    /// Setups that promise each fact name, in declaration order.
    let providers: [String: [Int]]

    init(catalog: SuiteCatalog, facts: any FactSource) throws(PlanError) {
        setups = catalog.setups
        var index: [String: Int] = [:]
        for (i, setup) in setups.enumerated() where index[setup.name] == nil { index[setup.name] = i }
        self.index = index
        self.facts = facts
        var providers: [String: [Int]] = [:]
        for (i, setup) in setups.enumerated() {
            for fact in setup.provides where providers[fact.name]?.last != i { providers[fact.name, default: []].append(i) }
        }
        self.providers = providers
        edges = Array(repeating: [], count: setups.count)
        resolutions = Array(repeating: nil, count: setups.count)
        for (i, setup) in setups.enumerated() {
            for name in setup.after {
                // Declared: a catalog's setup references are checked when it is made (`SuiteCatalog.init`).
                edges[i].append(index[name]!)
            }
        }
        try checkCycles()
    }

    /// Every `after` cycle among all declared setups, used or not, is an
    /// error. A depth-first search with a stack of its own, not recursion:
    /// a chain of any length cannot exhaust the thread's stack.
    func checkCycles() throws(PlanError) {
        var color = Array(repeating: 0, count: setups.count) // 0 new, 1 on stack, 2 done
        var stack: [Int] = []
        var nextEdge: [Int] = [] // per stack entry: the next edge to follow
        for root in setups.indices where color[root] == 0 {
            color[root] = 1
            stack.append(root)
            nextEdge.append(0)
            while let node = stack.last {
                let edge = nextEdge[nextEdge.count - 1]
                guard edge < edges[node].count else {
                    stack.removeLast()
                    nextEdge.removeLast()
                    color[node] = 2
                    continue
                }
                nextEdge[nextEdge.count - 1] += 1
                let next = edges[node][edge]
                if color[next] == 1 {
                    let start = stack.lastIndex(of: next)!
                    let path = (stack[start...] + [next]).map { setups[$0].name }
                    throw .cycle(path, setups[next].location)
                }
                if color[next] == 0 {
                    color[next] = 1
                    stack.append(next)
                    nextEdge.append(0)
                }
            }
        }
    }

    /// A shared setup that a test needs cannot wait for a per-test one: it
    /// runs once, and the per-test setup has no single instance to wait for.
    func checkScopes(_ closures: [[Int]]) throws(PlanError) {
        var checked = [Bool](repeating: false, count: setups.count)
        for closure in closures {
            for i in closure where !checked[i] {
                checked[i] = true
                guard setups[i].scope == .run else { continue }
                if let d = edges[i].first(where: { setups[$0].scope != .run }) {
                    throw .scopeMismatch(setup: setups[i].name, dependsOn: setups[d].name, setups[i].location)
                }
            }
        }
    }

    mutating func hostCheck(_ requirement: Requirement) -> RequirementCheck {
        if let cached = checks[requirement.text] { return cached }
        let facts = self.facts
        let result = requirement.check { facts.lookup($0) }
        checks[requirement.text] = result
        return result
    }

    /// Whether promised facts meet a requirement.
    static func promisesMeet(_ requirement: Requirement, _ promised: [ProvidedFact]) -> Bool {
        requirement.alternatives.contains { alternative in
            promised.contains { $0.name == alternative.name && alternative.isMet(byPromise: $0.value) }
        }
    }

    // MARK: - Setups

    mutating func resolveSetup(_ i: Int) -> SetupResolution {
        if let done = resolutions[i] { return done }
        // Each setup being resolved is one link of the chain (and a few frames of stack).
        if inProgress.count >= Self.longestChain {
            tooLong = tooLong ?? i
            return .unusable([])
        }
        inProgress.insert(i)
        defer { inProgress.remove(i) }
        let setup = setups[i]
        var closure: [Int] = []
        var unmet: [Unmet] = []
        for dependency in edges[i] {
            switch resolveSetup(dependency) {
            case let .usable(deps, _): append(deps, to: &closure)
            case let .unusable(reasons):
                unmet.append(Unmet(requirement: "setup:\(setups[dependency].name)",
                                   cause: .setup(name: setups[dependency].name, after: true, because: reasons)))
            }
        }
        for requirement in setup.requires {
            switch satisfy(requirement, closure: &closure, excluding: i) {
            case .met(let provider):
                if let provider, !edges[i].contains(provider) { edges[i].append(provider) }
            case .unmet(let reason): unmet.append(reason)
            }
        }
        let result: SetupResolution
        if unmet.isEmpty {
            append([i], to: &closure)
            result = .usable(closure: closure, promised: promised(closure))
        } else {
            result = .unusable(unmet)
        }
        resolutions[i] = result
        return result
    }

    func promised(_ closure: [Int]) -> [ProvidedFact] {
        closure.flatMap { setups[$0].provides }
    }

    func append(_ items: [Int], to closure: inout [Int]) {
        for item in items where !closure.contains(item) { closure.append(item) }
    }

    enum Satisfaction {
        /// Met by the host (provider nil), or by a setup's promise.
        case met(provider: Int?)
        case unmet(Unmet)
    }

    /// Meets a requirement from the host, from setups already in `closure`, or
    /// by adding the first usable provider's closure.
    mutating func satisfy(_ requirement: Requirement, closure: inout [Int], excluding: Int? = nil) -> Satisfaction {
        let check = hostCheck(requirement)
        guard case .unmet(let observed) = check else { return .met(provider: nil) }
        if let provider = closure.last(where: { Self.promisesMeet(requirement, setups[$0].provides) }) {
            return .met(provider: provider)
        }
        var refused: [RefusedProvider] = []
        var seen: [Int] = [] // a few providers at most: a scan beats hashing
        for alternative in requirement.alternatives {
            for candidate in providers[alternative.name] ?? [] where candidate != excluding && !seen.contains(candidate) {
                seen.append(candidate)
                guard !inProgress.contains(candidate),
                      Self.promisesMeet(requirement, setups[candidate].provides) else { continue }
                switch resolveSetup(candidate) {
                case let .usable(deps, _):
                    append(deps, to: &closure)
                    return .met(provider: candidate)
                case let .unusable(reasons):
                    refused.append(RefusedProvider(setup: setups[candidate].name, because: reasons))
                }
            }
        }
        return .unmet(Unmet(requirement: requirement.text, cause: .host(observed), refusedProviders: refused))
    }

    // MARK: - Tests

    /// The test's verdict, and the setups it needs (indices, each after those it waits for).
    mutating func plan(_ test: TestDefinition) throws(PlanError) -> (PlannedTest, [Int]) {
        var closure: [Int] = []
        var unmet: [Unmet] = []
        var promises: [Promise] = []
        for name in test.setups {
            // Declared: a catalog's setup references are checked when it is made (`SuiteCatalog.init`).
            switch resolveSetup(index[name]!) {
            case let .usable(deps, _): append(deps, to: &closure)
            case let .unusable(reasons):
                unmet.append(Unmet(requirement: "setup:\(name)", cause: .setup(name: name, after: false, because: reasons)))
            }
        }
        for requirement in test.requires {
            switch satisfy(requirement, closure: &closure) {
            case .met(let provider):
                if let provider { promises.append(Promise(requirement: requirement, setup: setups[provider].name)) }
            case .unmet(let reason): unmet.append(reason)
            }
        }
        if !unmet.isEmpty { return (PlannedTest(test: test, status: .unsupported(unmet)), []) }
        if closure.isEmpty { return (PlannedTest(test: test, status: .runnable), []) }
        let order = topologicalOrder(closure)
        return (PlannedTest(test: test, status: .needsSetup(order.map { setups[$0].name }), promises: promises), order)
    }

    /// The closure ordered so that each setup comes after those it waits for.
    func topologicalOrder(_ closure: [Int]) -> [Int] {
        if closure.count == 1 { return closure }
        var placed: Set<Int> = []
        var order: [Int] = []
        let members = Set(closure)
        func place(_ node: Int) {
            guard !placed.contains(node) else { return }
            placed.insert(node)
            for dependency in edges[node] where members.contains(dependency) { place(dependency) }
            order.append(node)
        }
        for node in closure { place(node) }
        return order
    }
}
