import Catalog
import Declarations
import HostFacts
import Planning
import Requirements

// Tests, setups and plans written in one line each, for the planning and
// execution tests (a resolver run against `StaticFacts`, no probing).

public let here = DeclarationLocation(file: "testbed.yaml", line: 1)

public func test(_ id: String, requires: [String] = [], setups: [String] = [], tags: [String] = []) -> TestDefinition {
    TestDefinition(id: id, command: .shell("true"), requires: requires.map { try! Requirement(parsing: $0) },
                   setups: setups, tags: tags, directory: "/", location: here)
}

public func setup(_ name: String, requires: [String] = [], provides: [String] = [], after: [String] = [],
           scope: SetupDefinition.Scope = .run, teardown: Bool = false) -> SetupDefinition {
    SetupDefinition(name: name, run: "make \(name)", teardown: teardown ? "undo \(name)" : nil,
                    provides: provides.map { ProvidedFact(parsing: $0)! },
                    requires: requires.map { try! Requirement(parsing: $0) }, after: after, scope: scope,
                    directory: "/", location: DeclarationLocation(file: "testbed.yaml", line: 7))
}

public let host = StaticFacts(facts: ["kernel": "6.1.0-13-amd64", "qemu": "7.2.9", "cpu-flag:svm": nil, "virtualized": "vm", "cmd:apt-get": nil])
public let rootHost = StaticFacts(facts: ["kernel": "6.1.0-13-amd64", "root": nil, "cmd:apt-get": nil])

public func plan(_ tests: [TestDefinition], _ setups: [SetupDefinition] = [], facts: any FactSource = host,
          selection: TestSelection = TestSelection()) throws -> Plan {
    try Resolver(catalog: Catalog(tests: tests, setups: setups, roots: []), facts: facts).resolve(selection)
}

public func status(_ plan: Plan, _ id: String) -> PlannedTest.Status? {
    plan.tests.first { $0.test.id == id }?.status
}

/// Steps as "kind label" strings, in plan order.
public func labels(_ plan: Plan) -> [String] {
    plan.steps.map { "\($0.kindName) \($0.label)" }
}

/// Checks that every step comes after its dependencies.
public func isTopological(_ plan: Plan) -> Bool {
    plan.steps.allSatisfy { step in step.dependencies.allSatisfy { $0 < step.id } }
}
