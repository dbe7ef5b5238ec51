import Catalog
import Declarations
import HostFacts
import Planning
import Requirements

// Tests, setups and plans written in one line each, for the planning and
// execution tests (a resolver run against `StaticFacts`, no probing).

/// The location fixtures are declared at: `testbed.yaml:1`.
public let here = DeclarationLocation(file: "testbed.yaml", line: 1)

/// A shell test `true` declared at `here`.
/// - Parameters:
///   - id: The test id (`/a`).
///   - requires: Requirements in the grammar (`kernel >= 6`); must parse.
///   - setups: The setups it names.
///   - tags: Its tags.
/// - Returns: The test.
public func test(_ id: String, requires: [String] = [], setups: [String] = [], tags: [String] = []) -> TestDefinition {
    TestDefinition(id: id, command: .shell("true"), requires: requires.map { try! Requirement(parsing: $0) },
                   setups: setups, tags: tags, directory: "/", location: here)
}

/// A setup running `make NAME` declared at `testbed.yaml:7`.
/// - Parameters:
///   - name: The setup's name.
///   - requires: Requirements in the grammar; must parse.
///   - provides: Facts it promises (`qemu = 9.0`); must parse.
///   - after: Setups it runs after.
///   - scope: How long what it makes lives.
///   - teardown: Whether it has the teardown `undo NAME`.
/// - Returns: The setup.
public func setup(_ name: String, requires: [String] = [], provides: [String] = [], after: [String] = [],
           scope: SetupDefinition.Scope = .run, teardown: Bool = false) -> SetupDefinition {
    SetupDefinition(name: name, run: "make \(name)", teardown: teardown ? "undo \(name)" : nil,
                    provides: provides.map { ProvidedFact(parsing: $0)! },
                    requires: requires.map { try! Requirement(parsing: $0) }, after: after, scope: scope,
                    directory: "/", location: DeclarationLocation(file: "testbed.yaml", line: 7))
}

/// A non-root VM with kernel 6.1, QEMU 7.2.9, SVM and apt-get.
public let host = StaticFacts(facts: ["kernel": "6.1.0-13-amd64", "qemu": "7.2.9", "cpu-flag:svm": nil, "virtualized": "vm", "cmd:apt-get": nil])
/// A root host with kernel 6.1 and apt-get.
public let rootHost = StaticFacts(facts: ["kernel": "6.1.0-13-amd64", "root": nil, "cmd:apt-get": nil])

/// The resolver's plan for these tests and setups on `facts`.
/// - Parameters:
///   - tests: The catalog's tests.
///   - setups: The catalog's setups.
///   - facts: The host (`host` by default).
///   - selection: Which tests are selected (all by default).
/// - Returns: The plan.
/// - Throws: What `Resolver.resolve` throws.
public func plan(_ tests: [TestDefinition], _ setups: [SetupDefinition] = [], facts: any FactSource = host,
          selection: TestSelection = TestSelection()) throws -> Plan {
    try Resolver(catalog: SuiteCatalog(tests: tests, setups: setups, roots: []), facts: facts).resolve(selection)
}

/// The planned status of one test.
/// - Parameters:
///   - plan: A plan.
///   - id: A test id.
/// - Returns: Its status, or nil when the plan has no such test.
public func status(_ plan: Plan, _ id: String) -> PlannedTest.Status? {
    plan.tests.first { $0.test.id == id }?.status
}

/// Steps as "kind label" strings, in plan order.
/// - Parameter plan: A plan.
/// - Returns: One string per step (`setup img`, `test /a`).
public func labels(_ plan: Plan) -> [String] {
    plan.steps.map { "\($0.kindName) \($0.label)" }
}

/// Checks that every step comes after its dependencies.
/// - Parameter plan: A plan.
/// - Returns: True when every dependency's id is below its step's.
public func isTopological(_ plan: Plan) -> Bool {
    plan.steps.allSatisfy { step in step.dependencies.allSatisfy { $0 < step.id } }
}
