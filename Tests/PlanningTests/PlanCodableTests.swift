import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import Requirements
import TestSupport
import Testing

@Suite("Plan as JSON")
struct PlanCodableTests {
    /// A plan with shared and per-test setups, teardowns, a promise, tests
    /// unsupported with refused providers and for `dirties`, and tests of
    /// every field the loader fills in.
    static func mixedPlan() throws -> Plan {
        let file = DeclarationLocation(file: "suite/testbed.yaml", line: 3)
        let full = TestDefinition(
            id: "/vm/boot", command: .executable("/suite/vm/boot"),
            requires: [try Requirement(parsing: "image:alpine >= 3.19"), try Requirement(parsing: "cpu-flag:vmx | cpu-flag:svm")],
            setups: ["vm"], tags: ["slow", "vm"], timeout: .milliseconds(90_500), exclusive: true, skipCode: 3,
            directory: "/suite/vm", location: file, setupsLocation: file.with(line: 5), description: "boots the image",
            requiresLocation: file.with(line: 4), requirementSet: RequirementSetID(7), flaky: FlakyPolicy(threshold: 9, window: 10))
        let tests = [
            full,
            TestDefinition(id: "/plain", command: .shell("true"), directory: "/suite", location: here, requirementSet: RequirementSetID(0)),
            // Its only provider needs root: unsupported, the provider refused.
            test("/needs-qemu9", requires: ["qemu >= 9"]),
            // Nothing restores the host.
            TestDefinition(id: "/dirty", command: .shell("rm -rf /"), dirties: true, directory: "/", location: here),
            test("/shared", setups: ["image"]),
        ]
        let setups = [
            setup("image", provides: ["image:alpine = 3.20"], teardown: true),
            setup("vm", after: ["image"], scope: .test, teardown: true),
            setup("qemu-build", requires: ["root"], provides: ["qemu = 9.1"]),
        ]
        let catalog = try SuiteCatalog(tests: tests, setups: setups, roots: ["/suite"])
        return try Resolver(catalog: catalog, facts: host, refusesDirtyingTests: true).resolve()
    }

    @Test("a plan written as JSON and read back is the same plan")
    func roundTrip() throws {
        let plan = try Self.mixedPlan()
        // The plan holds what the test means it to: else the round trip proves little.
        #expect(plan.tests.map(\.status.name) == ["needs-setup", "runnable", "unsupported", "unsupported", "needs-setup"])
        #expect(plan.tests[0].promises.map(\.setup) == ["image"])
        #expect(plan.tests[2].status.unmet.first?.refusedProviders.map(\.setup) == ["qemu-build"])
        #expect(plan.tests[3].status.unmet == [Resolver.dirtyingRefused])
        #expect(Set(plan.setups.values.map(\.scope)) == [.run, .test])
        #expect(plan.steps.contains { if case .testTeardown = $0.kind { true } else { false } })

        let data = try JSONEncoder().encode(plan)
        let decoded = try JSONDecoder().decode(Plan.self, from: data)
        #expect(decoded == plan)
        #expect(decoded.tests.map(\.test.requirementSet) == plan.tests.map(\.test.requirementSet))
        #expect(decoded.tests[0].test.timeout == .milliseconds(90_500))
        #expect(decoded.tests[0].test.flaky?.description == "9/10")
        #expect(decoded.tests[1].test.flaky == nil)
        // Written again, the same bytes: nothing is lost or invented on the way.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(decoded) == encoder.encode(plan))
    }

    @Test("requirements are written as their text and parsed again when read")
    func requirementsAsText() throws {
        let requirement = try Requirement(parsing: "  qemu >= 8.2 | !virtualized ")
        let data = try JSONEncoder().encode([requirement])
        #expect(String(decoding: data, as: UTF8.self) == #"["qemu >= 8.2 | !virtualized"]"#)
        #expect(try JSONDecoder().decode([Requirement].self, from: data) == [requirement])
    }

    @Test("a requirement that does not parse is refused when read, with the parser's message")
    func invalidRequirement() throws {
        let data = Data(#"["qemu >> 1"]"#.utf8)
        let error = #expect(throws: DecodingError.self) { try JSONDecoder().decode([Requirement].self, from: data) }
        guard case .dataCorrupted(let context) = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.hasPrefix("invalid requirement \"qemu >> 1\""))
    }

    @Test("tests are equal when they declare the same, whatever their interned lists' id")
    func testEquality() throws {
        let a = TestDefinition(id: "/a", command: .shell("true"), directory: "/", location: here, requirementSet: RequirementSetID(1))
        let b = TestDefinition(id: "/a", command: .shell("true"), directory: "/", location: here, requirementSet: RequirementSetID(2))
        let c = TestDefinition(id: "/a", command: .shell("false"), directory: "/", location: here, requirementSet: RequirementSetID(1))
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != c)
    }
}
