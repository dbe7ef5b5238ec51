import Catalog
import Declarations
import HostFacts
import Requirements

/// The dependency graph of setups, tests and teardowns for one run, and the
/// verdict on every selected test: the resolver's output, which the executor
/// runs as it stands.
public struct Plan: Sendable, Equatable, Codable {
    /// The environment the plan was resolved against.
    public let environment: String
    /// Every selected test, in catalog order, with its status.
    public let tests: [PlannedTest]
    /// The steps to run, in a topological order (each step's dependencies come
    /// before it). Unsupported tests have no step.
    public let steps: [Step]
    /// The setups the plan uses, by name.
    public let setups: [String: SetupDefinition]

    /// A plan.
    /// - Parameters:
    ///   - environment: The environment's name.
    ///   - tests: Every selected test with its status, in catalog order.
    ///   - steps: The steps in a topological order.
    ///   - setups: The setups the steps use, by name.
    public init(environment: String, tests: [PlannedTest], steps: [Step], setups: [String: SetupDefinition]) {
        self.environment = environment
        self.tests = tests
        self.steps = steps
        self.setups = setups
    }

    /// How many tests have each status.
    public var counts: (runnable: Int, needsSetup: Int, unsupported: Int) {
        var counts = (0, 0, 0)
        for test in tests {
            switch test.status {
            case .runnable: counts.0 += 1
            case .needsSetup: counts.1 += 1
            case .unsupported: counts.2 += 1
            }
        }
        return counts
    }
}

/// One selected test and what the resolver decided about it.
public struct PlannedTest: Sendable, Hashable, Codable {
    /// The test as declared.
    public let test: TestDefinition
    /// Whether it runs here, and after which setups.
    public let status: Status
    /// Requirements the host does not meet yet that a setup promised to meet;
    /// the executor re-checks them once the setup has run.
    public let promises: [Promise]

    /// A test and its verdict.
    /// - Parameters:
    ///   - test: The test.
    ///   - status: Its verdict.
    ///   - promises: Requirements setups promised to meet.
    public init(test: TestDefinition, status: Status, promises: [Promise] = []) {
        self.test = test
        self.status = status
        self.promises = promises
    }

    /// Whether a test suits this environment.
    public enum Status: Sendable, Hashable, Codable {
        /// Every requirement is met and no setup is needed.
        case runnable
        /// Runnable once these setups have run (in this order).
        case needsSetup([String])
        /// Some requirement is unmet and no setup provides it: one entry each.
        case unsupported([Unmet])

        /// `runnable`, `needs-setup` or `unsupported`, as `check --json` spells it.
        public var name: String {
            switch self {
            case .runnable: "runnable"
            case .needsSetup: "needs-setup"
            case .unsupported: "unsupported"
            }
        }

        /// The setups of `needsSetup`, in order; empty otherwise.
        public var setups: [String] {
            if case .needsSetup(let names) = self { return names }
            return []
        }

        /// The reasons of `unsupported`; empty otherwise.
        public var unmet: [Unmet] {
            if case .unsupported(let unmet) = self { return unmet }
            return []
        }
    }
}

/// Why a test cannot run here: a value, rendered to words only where it is
/// shown (`description`). This is the resolver's `SkipInfo`: every
/// unsupported test carries at least one.
public struct Unmet: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What is missing.
    public enum Cause: Sendable, Hashable, Codable {
        /// The host does not meet a requirement: what it has for each alternative.
        case host([Observation])
        /// A setup the test names (`setup:`), or one a setup comes `after`,
        /// cannot run here, for these reasons.
        case setup(name: String, after: Bool, because: [Unmet])
        /// The test `dirties` the host, and nothing restores it.
        case dirtying
    }

    /// The requirement as written (`qemu >= 8.2`), `setup:NAME` for a
    /// declared setup that cannot run here, or `dirties`.
    public let requirement: String
    /// What is missing.
    public let cause: Cause
    /// Setups whose `provides` promise the requirement but that cannot run
    /// here themselves, in declaration order (only for `.host`).
    public let refusedProviders: [RefusedProvider]

    /// - Parameters:
    ///   - requirement: the requirement as written, `setup:NAME` or `dirties`.
    ///   - cause: what is missing.
    ///   - refusedProviders: setups that could provide it but cannot run here.
    public init(requirement: String, cause: Cause, refusedProviders: [RefusedProvider] = []) {
        self.requirement = requirement
        self.cause = cause
        self.refusedProviders = refusedProviders
    }

    /// The observations, when the host does not meet a requirement.
    public var observed: [Observation] {
        if case .host(let observed) = cause { return observed }
        return []
    }

    /// "needs qemu >= 8.2; this host has 7.2.9", as `check` prints it.
    public var description: String {
        switch cause {
        case .host(let observed):
            "needs \(requirement); " + hostSide(observed)
        case let .setup(name, after, because):
            (after ? "comes after setup \(name), which cannot run here: " + because.map(\.description).joined(separator: "; ")
                : "needs setup \(name), which cannot run here: " + because.map(\.nested).joined(separator: "; "))
        case .dirtying:
            "it would leave this host dirty and the environment declares no restore; "
                + "declare `restore:` in the environment file, or pass --allow-dirty to run it anyway"
        }
    }

    /// The host's side and the refused providers, after "needs REQUIREMENT; ".
    func hostSide(_ observed: [Observation]) -> String {
        (observed.map(\.description) + refusedProviders.map(\.description)).joined(separator: "; ")
    }

    /// As it reads inside another reason: "it needs root (testbed runs as uid 1000)".
    var nested: String {
        if case .host(let observed) = cause { return "it needs \(requirement) (\(hostSide(observed)))" }
        return description
    }
}

/// A setup that promises a requirement but cannot run here itself.
public struct RefusedProvider: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The setup's name.
    public let setup: String
    /// Why it cannot run here.
    public let because: [Unmet]

    /// - Parameters:
    ///   - setup: the setup's name.
    ///   - because: why it cannot run here.
    public init(setup: String, because: [Unmet]) {
        self.setup = setup
        self.because = because
    }

    /// "setup qemu-build could provide it but cannot run here: it needs root (…)".
    public var description: String {
        "setup \(setup) could provide it but cannot run here: " + because.map(\.nested).joined(separator: "; ")
    }
}

/// A requirement that a setup promised to meet.
public struct Promise: Sendable, Hashable, Codable {
    /// The requirement the host does not meet before the setup runs.
    public let requirement: Requirement
    /// The setup whose `provides` promises it.
    public let setup: String

    /// A promise.
    /// - Parameters:
    ///   - requirement: The requirement promised.
    ///   - setup: The setup that promises it.
    public init(requirement: Requirement, setup: String) {
        self.requirement = requirement
        self.setup = setup
    }
}

/// One node of the plan's graph.
public struct Step: Sendable, Hashable, Codable, Identifiable {
    /// The step's place in the plan's topological order.
    public let id: Int
    /// What it runs.
    public let kind: Kind
    /// The ids of the steps that must finish first.
    public let dependencies: [Int]

    /// A step.
    /// - Parameters:
    ///   - id: Its place in the plan's topological order.
    ///   - kind: What it runs.
    ///   - dependencies: The ids of the steps that must finish first.
    public init(id: Int, kind: Kind, dependencies: [Int]) {
        self.id = id
        self.kind = kind
        self.dependencies = dependencies
    }

    /// What a step does.
    public enum Kind: Sendable, Hashable, Codable {
        /// A setup shared by every test that needs it (`scope: run`).
        case setup(String)
        /// The teardown of a shared setup.
        case teardown(String)
        /// A `scope: test` setup, run for one test.
        case testSetup(setup: String, test: String)
        /// The teardown of a `scope: test` setup, for one test.
        case testTeardown(setup: String, test: String)
        /// A test, by id.
        case test(String)
    }

    /// The setup's name (`NAME [TEST]` for a per-test one) or the test's id.
    public var label: String {
        switch kind {
        case .setup(let name): name
        case .teardown(let name): name
        case let .testSetup(setup, test), let .testTeardown(setup, test): "\(setup) [\(test)]"
        case .test(let id): id
        }
    }

    /// `setup`, `teardown` or `test`.
    public var kindName: String {
        switch kind {
        case .setup, .testSetup: "setup"
        case .teardown, .testTeardown: "teardown"
        case .test: "test"
        }
    }
}

/// A plan that cannot be made: the declarations contradict each other.
public enum PlanError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `after` (or a chosen provider) leads back to where it started.
    case cycle([String], DeclarationLocation)
    /// A shared setup would have to wait for a per-test one.
    case scopeMismatch(setup: String, dependsOn: String, DeclarationLocation)
    /// A test needs setups chained deeper than `ResolverState.longestChain`;
    /// `setup` is the first one past the limit.
    case chainTooLong(test: String, setup: String, limit: Int, DeclarationLocation)

    /// `file:line: what is wrong; the fix`.
    public var description: String {
        switch self {
        case let .cycle(path, location):
            "\(location): dependency cycle: \(path.joined(separator: " -> ")); remove one `after`"
        case let .scopeMismatch(setup, dependency, location):
            "\(location): setup \"\(setup)\" (scope: run) comes after \"\(dependency)\" (scope: test); make \"\(setup)\" scope: test too"
        case let .chainTooLong(test, setup, limit, location):
            "\(location): test \(test) needs setups chained more than \(limit) deep (each waiting for the next through "
                + "`after` or a requirement another setup provides; the \(limit + 1)th is \"\(setup)\"); shorten the chain"
        }
    }
}
