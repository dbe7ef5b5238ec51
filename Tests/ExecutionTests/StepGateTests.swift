import Catalog
@testable import Execution
import Foundation
import HostFacts
import Planning
import Requirements
import TestSupport
import Testing

/// `host`, except that every fact can be probed again (a setup's promise is
/// re-checked against the host rather than taken on the setup's word).
struct ProbingFacts: FactSource {
    let facts: StaticFacts
    var environmentName: String { facts.environmentName }
    func lookup(_ name: String) -> FactLookup { facts.lookup(name) }
    func allFacts() -> [Fact] { facts.allFacts() }
    func recordedFacts() -> [Fact] { facts.recordedFacts() }
    func invalidate(_ names: [String]) {}
    func canProbe(_ name: String) -> Bool { true }
}

@Suite("Step gate on a fake launcher", .timeLimit(.minutes(1)))
struct StepGateTests {
    /// One line per test: id, outcome, blocked by, reason.
    static func verdicts(_ run: FakeRun) -> [String] {
        run.summary.tests.map { "\($0.id) \($0.outcome) \($0.blockedBy ?? "-") \($0.reason ?? "-")" }
    }

    @Test("a failed setup blocks what depends on it, naming the root setup; independent tests still run")
    func blame() async throws {
        let run = try await runOnFake(
            [shellTest("/vm", "test /vm", setups: ["vm"]), shellTest("/base", "test /base", setups: ["base"]),
             shellTest("/free", "test /free")],
            [shellSetup("base", "make base", teardown: "undo base"), shellSetup("vm", "make vm", after: ["base"])],
            scripts: ["make base": .init(.exit(1))])
        #expect(Self.verdicts(run) == [
            "/vm blocked base setup base failed",
            "/base blocked base setup base failed",
            "/free pass - -",
        ])
        #expect(run.summary.setups.map { "\($0.label) \($0.outcome) \($0.reason ?? "-")" } == [
            "base failed exit 1", "vm blocked comes after setup base, which failed", "base (teardown) ok -",
        ])
        #expect(run.launcher.launches.map(\.command).sorted() == ["make base", "test /free", "undo base"])
        #expect(run.summary.exitCode() == 2)
    }

    @Test("--halt-on-infra: after a failed setup nothing new starts; without it independent tests run", arguments: [
        (true, ["/a blocked s setup s failed", "/b interrupted - not run: the run halted after setup s failed (--halt-on-infra)"],
         ["make s"], "s" as String?),
        (false, ["/a blocked s setup s failed", "/b pass - -"], ["make s", "test /b"], nil),
    ])
    func halt(halt: Bool, verdicts: [String], launched: [String], haltedBy: String?) async throws {
        let run = try await runOnFake([shellTest("/a", "test /a", setups: ["s"]), shellTest("/b", "test /b")],
                                      [shellSetup("s", "make s")], scripts: ["make s": .init(.timeout)], halt: halt)
        #expect(Self.verdicts(run) == verdicts)
        #expect(run.launcher.launches.map(\.command) == launched)
        #expect(run.summary.setups.map { "\($0.label) \($0.outcome) \($0.reason ?? "-")" } == [
            "s timeout ran past its timeout of 10m and was killed",
        ])
        #expect(run.summary.haltedBy == haltedBy)
        #expect(!run.summary.interrupted)
    }

    @Test("a setup's promise is re-checked before its test starts: a fact a probe can tell must now hold", arguments: [
        (false, "/t pass - -", ["make qemu", "test /t"]),
        (true, "/t blocked build-qemu setup build-qemu ran, but qemu >= 8 is still unmet: this host has 7.2.9", ["make qemu"]),
    ])
    func promise(probes: Bool, verdict: String, launched: [String]) async throws {
        let facts: any FactSource = probes ? ProbingFacts(facts: host) : host
        let run = try await runOnFake([shellTest("/t", "test /t", requires: ["qemu >= 8"])],
                                      [shellSetup("build-qemu", "make qemu", provides: ["qemu = 9.0"])], facts: facts)
        #expect(Self.verdicts(run) == [verdict])
        #expect(run.launcher.launches.map(\.command) == launched)
        #expect(run.summary.setups.map { "\($0.label) \($0.outcome)" } == ["build-qemu ok"])
    }

    @Test("a test that dirties the host runs alone, then the restore, before the next test")
    func dirtyingRunsAlone() async throws {
        let tree = try TemporaryTree()
        let plan = try Resolver(catalog: SuiteCatalog(tests: [shellTest("/a", "test /a"), dirtying("/d"), shellTest("/b", "test /b")],
                                                 setups: [], roots: []),
                                facts: host).resolve()
        let launcher = FakeLauncher()
        let executor = Executor(plan: plan, facts: host,
                                options: ExecutorOptions(jobs: 3, runID: "fake", layout: try RunLayout(directory: tree.path),
                                                         baseEnvironment: [:], restore: ("restore host", "/")),
                                launcher: launcher, recorders: [])
        let summary = await executor.run(facts: [])
        #expect(launcher.events == [
            "start test /a", "end test /a", "start test /d", "end test /d", "start restore host", "end restore host",
            "start test /b", "end test /b",
        ])
        #expect(summary.tests.map(\.outcome) == [.pass, .pass, .pass])
        #expect(summary.setups.map { "\($0.label) \($0.outcome) \($0.logPath ?? "-")" } == ["restore (restore) ok restore/0.log"])
    }

    func dirtying(_ id: String) -> TestDefinition {
        TestDefinition(id: id, command: .shell("test \(id)"), timeout: .seconds(30), dirties: true, directory: "/", location: here)
    }
}
