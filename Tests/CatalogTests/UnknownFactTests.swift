@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

/// A test declared at line `line` of suite/testbed.yaml.
func declared(_ id: String, requires: [String], setups: [String] = [], line: Int = 3) -> TestDefinition {
    let location = DeclarationLocation(file: "suite/testbed.yaml", line: line)
    return TestDefinition(id: id, command: .shell("true"), requires: requires.map { try! Requirement(parsing: $0) },
                          setups: setups, directory: "/", location: location,
                          requiresLocation: DeclarationLocation(file: "suite/testbed.yaml", line: line + 1))
}

func declaredSetup(_ name: String, requires: [String] = [], provides: [String] = [], after: [String] = []) -> SetupDefinition {
    SetupDefinition(name: name, run: "true", provides: provides.map { ProvidedFact(parsing: $0)! },
                    requires: requires.map { try! Requirement(parsing: $0) }, after: after, directory: "/",
                    location: DeclarationLocation(file: "suite/testbed.yaml", line: 20),
                    requiresLocation: DeclarationLocation(file: "suite/testbed.yaml", line: 22))
}

@Suite("Fact names nothing knows")
struct UnknownFactTests {
    @Test("QEMU's programs are known by name, a typo of one is not", arguments: [
        ("qemu-img", true), ("qemu-system-x86_64", true), ("qemu-system-aarch64", true), ("qemu-aarch64-static", true),
        ("qemu-nbd", true), ("qemu-sytem-x86_64", false), ("qemu-system-x86-64", false), ("qemu-im", false),
    ])
    func qemuNames(name: String, known: Bool) {
        #expect(HostProbe.isBuiltIn(name) == known)
    }

    @Test("a name no probe, environment or setup knows is named, with the closest known one", arguments: [
        ("kernal >= 5.10", "kernal", "kernel"),
        ("kernel-5.10+ | kernal-5.10+", "kernal", "kernel"),
        ("!virtualised", "virtualised", "virtualized"),
        ("cpuflag:vmx", "cpuflag:vmx", "cpu-flag:vmx"),
        ("kconifg:CONFIG_KVM", "kconifg:CONFIG_KVM", "kconfig:CONFIG_KVM"),
        ("imgae:alpine", "imgae:alpine", "image:alpine"),   // what a setup provides is a candidate too
        ("DELL_R420", "DELL_R420", nil),
        ("KVM", "KVM", "kvm"),
        ("qemu-sytem-x86_64 >= 7.0", "qemu-sytem-x86_64", "qemu-system-x86_64"),
        ("qemu-im >= 7.0", "qemu-im", "qemu-img"),
    ] as [(String, String, String?)])
    func unknown(requirement: String, name: String, suggestion: String?) {
        let found = UnknownFact.find(tests: [declared("/t", requires: [requirement])],
                                     setups: [declaredSetup("image", provides: ["image:alpine"])], facts: HostProbe())
        #expect(found.map(\.name) == [name])
        #expect(found.first?.suggestion == suggestion)
        #expect(found.first?.location == DeclarationLocation(file: "suite/testbed.yaml", line: 4))
    }

    @Test("built-in probes and families, setup promises and environment declarations are known", arguments: [
        "root", "kernel >= 5.10", "qemu >= 8.2", "qemu-img", "qemu-system-aarch64 >= 7", "cpu-flag:vmx | cpu-flag:svm",
        "cmd:gdb", "kconfig:CONFIG_KVM == y", "module:kvm_intel", "pci:1af4:1041", "file:/sys/module/kvm/parameters/nested == Y",
        "!virtualized", "memory >= 8G", "os == debian", "os-version >= 12", "cpus >= 2", "arch == x86_64", "kvm",
        "image:alpine", "DELL_R420", "libvirt >= 9.0", "qemu-src >= 7.0", "memory-speed",
    ])
    func known(requirement: String) throws {
        let tree = try TemporaryTree(["lab.yaml": """
            provides: [DELL_R420]
            facts: {memory-speed: 3200}
            probes: {libvirt: virsh --version}
            binaries: {qemu-src: /usr/bin/qemu-system-x86_64}
            """])
        let environment = try Environment(contentsOf: tree["lab.yaml"])
        let found = UnknownFact.find(tests: [declared("/t", requires: [requirement])],
                                     setups: [declaredSetup("image", provides: ["image:alpine"])], facts: environment)
        #expect(found.isEmpty, "\(found)")
    }

    @Test("one warning per name: its first place and how many tests use it")
    func counted() async throws {
        // Tests loaded from files share their lists, as the checker expects of 100,000 tests.
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [root]\n  b:\n    run: 'true'\n    requires: [\"kernal >= 5\", fresh_reboot]\n",
            "sub/testbed.yaml": "tests:\n  c:\n    run: 'true'\n    requires: [\"kernal >= 5\", fresh_reboot]\n"
                + "  d:\n    run: 'true'\n    requires: [\"kernal < 9\"]\n",
        ])
        let catalog = try await CatalogLoader().load([tree.path])
        let found = UnknownFact.find(tests: catalog.tests, setups: catalog.setups, facts: HostProbe())
        #expect(found.map(\.name) == ["kernal", "fresh_reboot"])
        #expect(found.map(\.tests) == [3, 2])
        #expect(found.map(\.location.description) == [tree["testbed.yaml"] + ":7", tree["testbed.yaml"] + ":7"])
        #expect(found[0].description == "\(tree["testbed.yaml"]):7: \"kernal\" is no fact Testbed probes, the environment declares "
            + "or a setup provides; did you mean \"kernel\"? (3 tests; declare it in an environment file's facts: (kernal: VALUE) if the lab has it)")
        #expect(found[1].description.contains("provides (2 tests; declare it"))
    }

    @Test("the loader keeps every required name; when all are known, no test is looked at")
    func namesFirst() async throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              s:
                run: 'true'
                requires: [\"cmd:make\", lab_switch]
            tests:
              a:
                run: ./built/a
                requires: [\"kernal >= 5 | root\"]
              b: ./b.sh
              c: 'true'
            """])
        let catalog = try await CatalogLoader().load([tree.path])
        #expect(catalog.factNames == ["kernal", "root", "cmd:make", "lab_switch"])
        #expect(catalog.relativePrograms == 2)
        let typo = [declared("/t", requires: ["kernal"])]
        var looked = false
        func tests() -> [TestDefinition] { looked = true; return typo }
        #expect(UnknownFact.find(tests: tests(), setups: [], facts: HostProbe(), names: ["kernel", "cpu-flag:vmx"]).isEmpty)
        #expect(!looked, "every name known: the tests are not looked at")
        #expect(UnknownFact.find(tests: tests(), setups: [], facts: HostProbe(), names: ["kernel", "kernal"]).map(\.name) == ["kernal"])
        #expect(looked)
    }

    @Test("setups the tests could use are checked (named, providers, what they come after); others are not")
    func setups() {
        let setups = [
            declaredSetup("named", requires: ["roott"], after: ["before"]),
            declaredSetup("before", requires: ["cmd:make", "lab_switch"]),
            declaredSetup("provider", requires: ["kernal"], provides: ["image:alpine"]),
            declaredSetup("unrelated", requires: ["nobody_uses_this"]),
        ]
        let found = UnknownFact.find(tests: [declared("/t", requires: ["image:alpine"], setups: ["named"])],
                                     setups: setups, facts: HostProbe())
        #expect(Set(found.map(\.name)) == ["roott", "lab_switch", "kernal"])
        #expect(found.allSatisfy { $0.tests == 0 && $0.setups == 1 })
        #expect(found.allSatisfy { $0.location.line == 22 })
        #expect(found.first { $0.name == "roott" }?.description.contains("did you mean \"root\"? (1 setup; ") == true)
    }

    @Test("Environment.knows: what the file declares, and the built-in names even with probe: false")
    func environmentKnows() throws {
        let tree = try TemporaryTree(["env.yaml": "probe: false\nprovides: [\"virtiowin = 2013-10-24\"]\nfacts: {kvm: false}\n"])
        let environment = try Environment(contentsOf: tree["env.yaml"])
        #expect(environment.knows("virtiowin") && environment.knows("kvm") && environment.knows("kernel"))
        #expect(environment.knows("cpu-flag:avx2"))
        #expect(!environment.knows("windows"))
        #expect(environment.knownNames.contains("virtiowin") && environment.knownNames.contains("cpu-flag:"))
        #expect(!HostProbe().knows("virtiowin"))
    }
}
