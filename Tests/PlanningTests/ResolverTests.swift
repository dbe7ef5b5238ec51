@testable import Catalog
@testable import Declarations
@testable import HostFacts
@testable import Planning
@testable import Requirements
import TestSupport
import Testing

@Suite("Resolver")
struct ResolverTests {
    @Test("met requirements: runnable, one step, no setup")
    func runnable() throws {
        let p = try plan([test("/a", requires: ["kernel >= 5.10", "qemu >= 7.0", "!root"])])
        #expect(status(p, "/a") == .runnable)
        #expect(labels(p) == ["test /a"])
    }

    @Test("a shared setup is one node; its teardown waits for every test that needs it")
    func sharedSetup() throws {
        let p = try plan([test("/a", setups: ["image"]), test("/b", setups: ["image"]), test("/c")],
                         [setup("image", teardown: true)])
        #expect(labels(p) == ["setup image", "test /a", "test /b", "test /c", "teardown image"])
        #expect(p.steps[4].dependencies == [0, 1, 2])
        #expect(status(p, "/a") == .needsSetup(["image"]))
        #expect(isTopological(p))
    }

    @Test("after chains close over every setup, each after those it needs")
    func afterChain() throws {
        let p = try plan([test("/t", setups: ["c"])],
                         [setup("c", after: ["b"], teardown: true), setup("b", after: ["a"], teardown: true), setup("a", teardown: true)])
        #expect(status(p, "/t") == .needsSetup(["a", "b", "c"]))
        #expect(labels(p) == ["setup a", "setup b", "setup c", "test /t", "teardown c", "teardown b", "teardown a"])
        let teardownA = p.steps[6]
        #expect(teardownA.dependencies.contains(5), "a's teardown waits for b's")
        #expect(p.steps[5].dependencies.contains(4), "b's teardown waits for c's")
        #expect(isTopological(p))
    }

    @Test("a setup that provides a missing fact is chosen, and the promise recorded")
    func providesChosen() throws {
        let p = try plan([test("/q", requires: ["qemu >= 8.2"])],
                         [setup("other", provides: ["libvirt"]), setup("install-qemu", requires: ["root", "cmd:apt-get"], provides: ["qemu"])],
                         facts: rootHost)
        #expect(status(p, "/q") == .needsSetup(["install-qemu"]))
        #expect(p.tests[0].promises.map(\.setup) == ["install-qemu"])
        #expect(p.tests[0].promises.map(\.requirement.text) == ["qemu >= 8.2"])
    }

    @Test("a provider that cannot run here leaves the test unsupported, saying why")
    func providerNeedsRoot() throws {
        let p = try plan([test("/q", requires: ["qemu >= 8.2"])],
                         [setup("install-qemu", requires: ["root", "cmd:apt-get"], provides: ["qemu"])])
        let unmet = try #require(status(p, "/q")?.unmet)
        #expect(unmet.count == 1)
        #expect(unmet[0].requirement == "qemu >= 8.2")
        #expect(unmet[0].observed == [.differs(Fact(name: "qemu", value: "7.2.9", source: "static"), shown: "7.2.9")])
        #expect(unmet[0].refusedProviders.map(\.setup) == ["install-qemu"])
        #expect(unmet[0].refusedProviders.first?.because.map(\.requirement) == ["root"])
        #expect(unmet[0].description == "needs qemu >= 8.2; this host has 7.2.9; "
            + "setup install-qemu could provide it but cannot run here: it needs root (root is not present on this host)")
        #expect(p.steps.isEmpty)
    }

    @Test("a promise with a value that does not meet the requirement is no provider")
    func promisedValue() throws {
        let p = try plan([test("/q", requires: ["qemu >= 8.2"]), test("/r", requires: ["qemu >= 7"])],
                         [setup("old-qemu", provides: ["qemu = 8.0"])], facts: StaticFacts(facts: [:]))
        #expect(status(p, "/q")?.unmet.first?.description == "needs qemu >= 8.2; qemu is not present on this host")
        #expect(status(p, "/r") == .needsSetup(["old-qemu"]))
    }

    @Test("setups that provide what another setup needs are chained")
    func providerChain() throws {
        let p = try plan([test("/img", requires: ["disk:scratch"])],
                         [setup("scratch-disk", requires: ["cmd:qemu-img"], provides: ["disk:scratch"], teardown: true),
                          setup("install-qemu", requires: ["root"], provides: ["cmd:qemu-img", "qemu"])],
                         facts: rootHost)
        #expect(status(p, "/img") == .needsSetup(["install-qemu", "scratch-disk"]))
        #expect(labels(p) == ["setup install-qemu", "setup scratch-disk", "test /img", "teardown scratch-disk"])
        #expect(p.steps[1].dependencies == [0])
    }

    @Test("a requirement met by a setup the test already needs adds nothing")
    func promiseFromExplicitSetup() throws {
        let p = try plan([test("/t", requires: ["image:alpine"], setups: ["fetch"])],
                         [setup("fetch", provides: ["image:alpine"]), setup("other", provides: ["image:alpine"])])
        #expect(status(p, "/t") == .needsSetup(["fetch"]))
    }

    @Test("alternatives: any one suffices", arguments: [
        ("cpu-flag:vmx | cpu-flag:svm", true),
        ("cpu-flag:vmx | kvm", false),
        ("kvm | qemu >= 7", true),
        ("kvm | qemu >= 8", false),
    ])
    func alternatives(requirement: String, runnable: Bool) throws {
        let p = try plan([test("/t", requires: [requirement])])
        #expect((status(p, "/t") == .runnable) == runnable)
    }

    @Test("negation", arguments: [("!virtualized", false), ("!root", true), ("!kvm", true)])
    func negation(requirement: String, runnable: Bool) throws {
        let p = try plan([test("/t", requires: [requirement])])
        #expect((status(p, "/t") == .runnable) == runnable)
        if !runnable { #expect(status(p, "/t")?.unmet.first?.description == "needs !virtualized; this host has virtualized = vm") }
    }

    @Test("every unmet requirement is listed, each with the host's side")
    func everyUnmet() throws {
        let p = try plan([test("/t", requires: ["kernel >= 99", "kvm", "qemu >= 7", "DELL_R420"])])
        #expect(status(p, "/t")?.unmet.map(\.requirement) == ["kernel >= 99", "kvm", "DELL_R420"])
        #expect(status(p, "/t")?.unmet.first?.description == "needs kernel >= 99; this host has 6.1.0-13-amd64")
    }

    @Test("a declared setup that cannot run makes its tests unsupported")
    func unusableExplicitSetup() throws {
        let p = try plan([test("/t", setups: ["needs-root"])], [setup("needs-root", requires: ["root"])])
        let rootAbsent = Unmet(requirement: "root", cause: .host([.absent("root is not present on this host")]))
        #expect(status(p, "/t")?.unmet == [Unmet(requirement: "setup:needs-root",
                                                  cause: .setup(name: "needs-root", after: false, because: [rootAbsent]))])
        #expect(status(p, "/t")?.unmet.first?.description
            == "needs setup needs-root, which cannot run here: it needs root (root is not present on this host)")
    }

    @Test("cycles print the cycle", arguments: [
        ([setup("alpha", after: ["beta"]), setup("beta", after: ["gamma"]), setup("gamma", after: ["alpha"])],
         ["alpha", "beta", "gamma", "alpha"]),
        ([setup("self", after: ["self"])], ["self", "self"]),
        ([setup("ok"), setup("x", after: ["y", "ok"]), setup("y", after: ["x"])], ["x", "y", "x"]),
    ])
    func cycle(setups: [SetupDefinition], path: [String]) {
        #expect(throws: PlanError.cycle(path, here.with(line: 7))) { try plan([test("/t")], setups) }
        let message = PlanError.cycle(path, here.with(line: 7)).description
        #expect(message.contains("dependency cycle: \(path.joined(separator: " -> ")); remove one `after`"))
    }

    @Test("a setup nobody declared is refused when the catalog is made, as the loader words it")
    func missingSetup() {
        let error = #expect(throws: CatalogError.self) { try plan([test("/t", setups: ["nope"])]) }
        #expect(error?.description == "testbed.yaml:1: test /t needs setup \"nope\", which no testbed.yaml declares; "
            + "declare it under `setups:` or remove it")
        let after = #expect(throws: CatalogError.self) { try plan([test("/t")], [setup("late", after: ["eraly"]), setup("early")]) }
        #expect(after?.description == "testbed.yaml:7: setup \"late\" (after) needs setup \"eraly\", which no testbed.yaml declares; "
            + "did you mean \"early\"?")
    }

    @Test("a shared setup cannot wait for a per-test one, with or without steps", arguments: [true, false])
    func scopeMismatch(steps: Bool) throws {
        let catalog = try SuiteCatalog(tests: [test("/t", setups: ["shared"])],
                              setups: [setup("shared", after: ["each"]), setup("each", scope: .test)], roots: [])
        #expect(throws: PlanError.scopeMismatch(setup: "shared", dependsOn: "each", DeclarationLocation(file: "testbed.yaml", line: 7))) {
            try Resolver(catalog: catalog, facts: host).resolve(steps: steps)
        }
    }

    @Test("tests that share requirement and setup lists share a verdict, and differ where their lists differ")
    func sharedLists() throws {
        let requires = ["image:alpine"].map { try! Requirement(parsing: $0) }
        let unmet = ["kernel >= 99"].map { try! Requirement(parsing: $0) }
        // Interned as the loader does: one id per distinct pair of lists.
        func make(_ id: String, _ requires: [Requirement], _ setups: [String], _ set: Int) -> TestDefinition {
            TestDefinition(id: id, command: .shell("true"), requires: requires, setups: setups, directory: "/", location: here,
                           requirementSet: RequirementSetID(set))
        }
        let disk = ["disk"]
        let p = try plan([make("/a", requires, [], 0), make("/b", requires, disk, 1), make("/c", requires, [], 0),
                          make("/d", requires, disk, 1), make("/e", unmet, [], 2), make("/f", unmet, disk, 3), make("/g", unmet, [], 2)],
                         [setup("image", provides: ["image:alpine"]), setup("disk")])
        let kernel = Fact(name: "kernel", value: "6.1.0-13-amd64", source: "static")
        let kernelUnmet = Unmet(requirement: "kernel >= 99", cause: .host([.differs(kernel, shown: "6.1.0-13-amd64")]))
        #expect(kernelUnmet.description == "needs kernel >= 99; this host has 6.1.0-13-amd64")
        #expect(p.tests.map(\.status) == [
            .needsSetup(["image"]), .needsSetup(["disk", "image"]), .needsSetup(["image"]), .needsSetup(["disk", "image"]),
            .unsupported([kernelUnmet]),
            .unsupported([kernelUnmet]),
            .unsupported([kernelUnmet]),
        ])
        #expect(p.tests.map { $0.promises.map(\.setup) } == [["image"], ["image"], ["image"], ["image"], [], [], []])
        #expect(p.tests.map(\.test.id) == ["/a", "/b", "/c", "/d", "/e", "/f", "/g"])
        #expect(labels(p).filter { $0.hasPrefix("test") } == ["test /a", "test /b", "test /c", "test /d"])
        #expect(isTopological(p))
    }

    @Test("a plan without steps has the same verdicts and no steps")
    func verdictsOnly() throws {
        let catalog = try SuiteCatalog(tests: [test("/a", setups: ["vm"]), test("/b"), test("/c", requires: ["root"])],
                              setups: [setup("vm", after: ["image"], scope: .test, teardown: true), setup("image")], roots: [])
        let full = try Resolver(catalog: catalog, facts: host).resolve()
        let verdicts = try Resolver(catalog: catalog, facts: host).resolve(steps: false)
        #expect(verdicts.steps.isEmpty)
        #expect(!full.steps.isEmpty)
        #expect(verdicts.tests.map(\.status) == full.tests.map(\.status))
        #expect(verdicts.tests.map(\.status.name) == ["needs-setup", "runnable", "unsupported"])
        #expect(verdicts.setups.keys.sorted() == ["image", "vm"])
    }

    @Test("per-test setups run around each test; shared ones once")
    func perTest() throws {
        let p = try plan([test("/a", setups: ["vm"]), test("/b", setups: ["vm"])],
                         [setup("vm", after: ["image"], scope: .test, teardown: true), setup("image", teardown: true)])
        #expect(labels(p) == [
            "setup image", "setup vm [/a]", "test /a", "teardown vm [/a]",
            "setup vm [/b]", "test /b", "teardown vm [/b]", "teardown image",
        ])
        #expect(p.steps[1].dependencies == [0])
        #expect(p.steps[3].dependencies == [1, 2])
        #expect(p.steps[7].dependencies == [0, 2, 3, 5, 6], "the shared teardown waits for the per-test ones")
        #expect(isTopological(p))
    }

    @Test("selection narrows the plan")
    func selection() throws {
        let p = try plan([test("/a", tags: ["quick"]), test("/b", tags: ["slow"]), test("/c/d")],
                         selection: TestSelection(tags: [try TagExpression(parsing: "quick | slow")], ids: ["/a", "/c"]))
        #expect(p.tests.map(\.test.id) == ["/a"])
    }

    @Test("duplicate ids are refused before planning")
    func duplicateIDs() async throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a/b: 'true'\n", "a/testbed.yaml": "tests:\n  b: 'true'\n"])
        await #expect(throws: CatalogError.self) { try await CatalogLoader().load([tree.path]) }
    }

    @Test("the plan's dot output names every step and edge")
    func dot() throws {
        let p = try plan([test("/a", setups: ["s"]), test("/u", requires: ["kvm"])], [setup("s", teardown: true)])
        let dot = p.dot()
        #expect(dot.hasPrefix("digraph plan {"))
        #expect(dot.contains("s0 [label=\"setup\\ns\""))
        #expect(dot.contains("s0 -> s1;"))
        #expect(dot.contains("s1 -> s2;"))
        #expect(dot.contains("needs kvm; kvm is not present on this host"))
    }

    @Test("10,000 tests sharing setups resolve to one node per setup")
    func scale() throws {
        let setups = (0..<100).map { setup("s\($0)", provides: ["fact\($0)"], teardown: true) }
        let tests = (0..<10_000).map { test("/t\($0)", requires: ["fact\($0 % 100)", "kernel >= 5"]) }
        let p = try plan(tests, setups)
        #expect(p.steps.count == 10_000 + 200)
        #expect(p.counts.needsSetup == 10_000)
        #expect(isTopological(p))
    }
}

extension DeclarationLocation {
    func with(line: Int) -> DeclarationLocation { DeclarationLocation(file: file, line: line) }
}

@Suite("Resolver: tests that dirty the host")
struct DirtyingResolverTests {
    func dirtying(_ id: String) -> TestDefinition {
        TestDefinition(id: id, command: .shell("true"), dirties: true, directory: "/", location: here)
    }

    @Test("without a restore they are unsupported, each with the reason; other tests with the same lists are not")
    func refused() throws {
        let catalog = try SuiteCatalog(tests: [dirtying("/dirty"), test("/clean")], setups: [], roots: [])
        let plan = try Resolver(catalog: catalog, facts: host, refusesDirtyingTests: true).resolve()
        #expect(plan.tests[0].status == .unsupported([Resolver.dirtyingRefused]))
        #expect(plan.tests[1].status == .runnable)
        #expect(plan.steps.count == 1)
        let allowed = try Resolver(catalog: catalog, facts: host).resolve()
        #expect(allowed.tests.map(\.status) == [.runnable, .runnable])
    }
}
