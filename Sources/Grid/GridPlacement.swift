import Catalog
import Foundation
import HostFacts
import Planning
import Requirements

/// A grid node as placement sees it: its name, status, and what its enrolment recorded (nil when it was never
/// enrolled).
public struct PlacementHost: Sendable {
    /// The node's name.
    public var name: String
    /// Its status now.
    public var status: HostStatus
    /// Its Slurm features now.
    public var features: [String]
    /// Its recorded facts, when, and in which environment; nil when it was never enrolled.
    public var enrolment: (facts: [Fact], enrolled: Date, environment: String)?

    /// A node.
    ///
    /// - Parameters:
    ///   - name: its name.
    ///   - status: its status.
    ///   - features: its Slurm features.
    ///   - enrolment: what its enrolment recorded; nil when never enrolled.
    public init(name: String, status: HostStatus, features: [String], enrolment: (facts: [Fact], enrolled: Date, environment: String)?) {
        self.name = name
        self.status = status
        self.features = features
        self.enrolment = enrolment
    }
}

/// Which grid nodes can run each selected test and, for the others, why not: the resolver of `check` run once per
/// enrolled node against its recorded facts and features (`RecordedFacts`).
public struct GridPlacement: Sendable, Codable, Equatable {
    /// One node of the grid.
    public struct Node: Sendable, Codable, Equatable {
        /// Its name.
        public var name: String
        /// `online`, `offline`, `halted`, or `not enrolled`.
        public var status: String
        /// The drain reason of a halted node, the state words of an offline one, or how to enrol one that is not.
        public var detail: String?
        /// When it was enrolled; nil when never.
        public var enrolled: Date?
        /// Whether it gets shards: enrolled and online.
        public var usable: Bool
    }

    /// A node that can run a test, with the setups the test needs there (none when runnable as it is).
    public struct Candidate: Sendable, Codable, Equatable {
        /// The node.
        public var node: String
        /// The setups it needs there.
        public var setups: [String]
    }

    /// One unmet requirement on a node, as `check --json` shows it.
    public struct Reason: Sendable, Codable, Equatable {
        /// The requirement as written.
        public var requirement: String
        /// Why, with the node's own value.
        public var reason: String
    }

    /// A node that cannot run a test, and why.
    public struct Refusal: Sendable, Codable, Equatable {
        /// The node.
        public var node: String
        /// Each unmet requirement.
        public var unmet: [Reason]
    }

    /// One selected test.
    public struct Test: Sendable, Codable, Equatable {
        /// Its id.
        public var id: String
        /// The nodes that can run it, in the grid's order (usable or not).
        public var candidates: [Candidate]
        /// The other nodes, each with why not.
        public var refusals: [Refusal]
    }

    /// Every node, in Slurm's order.
    public var nodes: [Node]
    /// Every selected test, in catalog order.
    public var tests: [Test]

    /// The placement of the selected tests over the nodes.
    ///
    /// - Parameters:
    ///   - catalog: the suite.
    ///   - selection: which tests.
    ///   - hosts: the grid's nodes, in Slurm's order.
    ///   - refusesDirtyingTests: whether `dirties: true` tests are refused (as `check` does without a restore).
    /// - Returns: the placement.
    /// - Throws: `PlanError` when the suite cannot be planned (a cycle…), as `check` would.
    public static func place(catalog: SuiteCatalog, selection: TestSelection, hosts: [PlacementHost],
                             refusesDirtyingTests: Bool = false) throws(PlanError) -> GridPlacement {
        var nodes: [Node] = []
        var plans: [(node: String, plan: Plan?)] = []
        for host in hosts {
            var node = Node(name: host.name, status: host.status.word, detail: nil, enrolled: host.enrolment?.enrolled, usable: false)
            switch host.status {
            case .online: node.usable = host.enrolment != nil
            case let .offline(states): node.detail = states.joined(separator: "+")
            case let .halted(reason, _, _): node.detail = reason
            }
            guard let enrolment = host.enrolment else {
                node.status = "not enrolled"
                node.detail = "run testbed hosts enroll --all"
                node.usable = false
                nodes.append(node)
                plans.append((host.name, nil))
                continue
            }
            nodes.append(node)
            let facts = RecordedFacts(node: host.name, enrolled: enrolment.enrolled, environment: enrolment.environment,
                                      facts: enrolment.facts, features: host.features)
            let plan = try Resolver(catalog: catalog, facts: facts, refusesDirtyingTests: refusesDirtyingTests)
                .resolve(selection, steps: false)
            plans.append((host.name, plan))
        }
        var tests: [Test] = []
        for (index, definition) in catalog.tests.filter({ selection.matches($0) }).enumerated() {
            var test = Test(id: definition.id, candidates: [], refusals: [])
            for (node, plan) in plans {
                guard let plan else {
                    test.refusals.append(Refusal(node: node, unmet: [Reason(requirement: "enrolled",
                                                                           reason: "\(node) is not enrolled: run testbed hosts enroll --all")]))
                    continue
                }
                switch plan.tests[index].status {
                case .runnable: test.candidates.append(Candidate(node: node, setups: []))
                case let .needsSetup(setups): test.candidates.append(Candidate(node: node, setups: setups))
                case let .unsupported(unmet):
                    test.refusals.append(Refusal(node: node, unmet: unmet.map {
                        Reason(requirement: $0.requirement, reason: $0.description.replacingOccurrences(of: "this host", with: node))
                    }))
                }
            }
            tests.append(test)
        }
        return GridPlacement(nodes: nodes, tests: tests)
    }

    /// The nodes that get shards (enrolled and online).
    public var usableNodes: [String] { nodes.filter(\.usable).map(\.name) }
}
