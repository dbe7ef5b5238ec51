import Catalog
import Declarations
import HostFacts
import Planning
import Requirements
import TestSupport
import Testing

/// A host that probes `qemu` (along a search path) and knows nothing else.
struct ProbingHost: FactSource {
    let environmentName = "probing"
    /// The QEMU version found with no search path, and along `/built`.
    let qemu: String?
    let builtQEMU: String?

    func lookup(_ name: String) -> FactLookup { lookup(name, searchPath: nil) }
    func lookup(_ name: String, searchPath: String?) -> FactLookup {
        let value = searchPath == "/built" ? builtQEMU : qemu
        guard name == "qemu", let value else { return Self.notPresent(name) }
        return .present(Fact(name: name, value: value, source: "qemu --version"))
    }
    func allFacts() -> [Fact] { [] }
    func recordedFacts() -> [Fact] { [] }
    func invalidate(_ names: [String]) {}
    func canProbe(_ name: String) -> Bool { name == "qemu" }
}

@Suite("Plan.verify: promises checked again once their setup ran")
struct PlanVerifyTests {
    func promisePlan() throws -> (Plan, [Promise]) {
        let plan = try plan([test("/t", requires: ["qemu >= 9", "image:alpine"])],
                            [setup("build", provides: ["qemu = 9.1"]), setup("fetch", provides: ["image:alpine = 3.20"])])
        let promises = try #require(plan.tests.first).promises
        #expect(promises.map(\.setup) == ["build", "fetch"])
        return (plan, promises)
    }

    @Test("a fact no probe tells is taken on the setup's word")
    func tag() throws {
        let (plan, promises) = try promisePlan()
        #expect(plan.verify(promises[1], against: ProbingHost(qemu: nil, builtQEMU: nil)) == .met)
    }

    @Test("a fact a probe tells is probed again, along the PATH the test runs with")
    func probed() throws {
        let (plan, promises) = try promisePlan()
        #expect(plan.verify(promises[0], against: ProbingHost(qemu: "7.2", builtQEMU: "9.1"), searchPath: "/built") == .met)
        let broken = plan.verify(promises[0], against: ProbingHost(qemu: "7.2", builtQEMU: "9.1"))
        guard case .unmet(let observed) = broken else {
            Issue.record("a promise the host does not keep is unmet, not \(broken)")
            return
        }
        #expect(observed.map(\.description) == ["this host has 7.2"])
    }
}
