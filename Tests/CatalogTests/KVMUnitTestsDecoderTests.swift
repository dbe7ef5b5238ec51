@testable import Catalog
@testable import Declarations
import Foundation
@testable import Requirements
import Subtests
import TestSupport
import Testing

/// The fake kvm-unit-tests tree of `FieldTrees`, its `check` paths under the tree.
func kvmUnitTestsTree(configured: Bool = true) throws -> TemporaryTree {
    let (files, executables) = FieldTrees.kvmUnitTests(configured: configured)
    let tree = try TemporaryTree(files, executables: executables)
    try tree.write("x86/unittests.cfg", FieldTrees.kvmUnitTestsConfig(root: tree.path))
    return tree
}

/// Decodes a kvm-unit-tests tree with this caller's environment.
func decodeKVMUnitTests(_ root: String, environment: [String: String] = [:], machine: String = "x86_64") -> LoadState {
    var state = LoadState()
    KVMUnitTestsDecoder(environment: environment, machine: machine).decode(root: root, shownAs: "kut", state: &state)
    return state
}

@Suite("kvm-unit-tests: unittests.cfg as tests")
struct KVMUnitTestsDecoderTests {
    @Test("sections are read as for_each_unittest reads them: keys at a line's start, the last section too, a \"\"\" block joined")
    func sections() {
        let sections = UnitTestsConfig.sections("""
            file = before.flat
            [a]
            file = a.flat
              smp = $MAX_SMP
            # groups = commented
            test_args = "x y"
            qemu_params = -cpu max
            extra_params = -m 64
            groups = one  two
            arch = x86_64
            machine = q35
            check = /p=Y /q=0
            accel = tcg
            timeout = 5m
            disabled_if = [[ 1 = 1 ]]
            unknown = ignored
            []
            file = nameless.flat
            [b]
            file = b.flat
            qemu_params = \"\"\"-device x \\
            -device y
            -device z\"\"\"
            """)
        #expect(sections.map(\.name) == ["a", "b"])
        let a = sections[0]
        #expect(a.line == 2)
        #expect(a.file == "a.flat" && a.smp == "$MAX_SMP" && a.testArguments == "\"x y\"")
        #expect(a.parameters == "-m 64")
        #expect(a.groups == ["one", "two"])
        #expect(a.arch == "x86_64" && a.machine == "q35" && a.check == "/p=Y /q=0" && a.accel == "tcg")
        #expect(a.timeout == "5m" && a.disabledIf == "[[ 1 = 1 ]]")
        #expect(sections[1].parameters == "-device x -device y\n-device z")
    }

    @Test("each section is a test /x86/NAME after the build setup, its protocol kvm-unit-tests, its groups its tags")
    func tests() throws {
        let tree = try kvmUnitTestsTree()
        let state = decodeKVMUnitTests(tree.path)
        #expect(state.errors.isEmpty, "\(state.errors)")
        #expect(state.tests.map(\.id) == ["/x86/pass", "/x86/fail", "/x86/abort", "/x86/skip", "/x86/kvm-only", "/x86/tcg-only",
            "/x86/other-arch", "/x86/checked", "/x86/manual", "/x86/migrate", "/x86/disabled", "/x86/refused", "/x86/slow",
            "/x86/machine", "/x86/multi"])
        #expect(state.setups.map(\.name) == ["build"])
        #expect(state.setups[0].run == "if [ ! -f config.mak ]; then ./configure; fi && make")
        let pass = state.tests[0]
        #expect(pass.setups == ["build"])
        #expect(pass.outputProtocol == .kvmUnitTests)
        #expect(pass.tags == ["quick", "smoke"])
        #expect(pass.timeout == .seconds(40))  // 30 s, and the margin so that the tree's own timeout fires first
        #expect(pass.location == DeclarationLocation(file: "kut/x86/unittests.cfg", line: 4))
        #expect(pass.directory == tree.path)
        #expect(state.tests[1].timeout == .seconds(100))  // kvm-unit-tests' default, 90 s
        #expect(state.tests.filter { !$0.selectedByDefault }.map(\.id) == ["/x86/manual"])
        guard case .shell(let line) = pass.command else { Issue.record("not a shell line"); return }
        #expect(line.hasPrefix("bash -c '"))
        #expect(line.contains("./x86/run _NO_FILE_4Uhere_ -smp 2 -append \"one two\" -cpu max -m 256 2>&1"))
        #expect(line.contains("TESTNAME='\\''pass'\\'' TIMEOUT=\"$TIMEOUT\" MACHINE=\"$MACHINE\" ACCEL=\"$ACCEL\" ./x86/run '\\''x86/pass.flat'\\'' -smp 2"))
        guard case .shell(let migrate) = state.tests[9].command else { Issue.record("not a shell line"); return }
        #expect(migrate.contains("MIGRATION=yes TESTNAME="))
    }

    @Test("arch, accel, check and machine are requirements; smp is not (QEMU runs more vCPUs than the host has)")
    func requirements() throws {
        let tree = try kvmUnitTestsTree()
        let tests = Dictionary(uniqueKeysWithValues: decodeKVMUnitTests(tree.path).tests.map { ($0.id, $0.requires.map(\.text)) })
        #expect(tests["/x86/pass"] == [])
        #expect(tests["/x86/kvm-only"] == ["kvm"])
        #expect(tests["/x86/tcg-only"] == [])
        #expect(tests["/x86/other-arch"] == ["arch == i686", "file:/nonexistent/parameters/flag == Y"])
        #expect(tests["/x86/checked"] == ["arch == x86_64", "file:\(tree.path)/check-param == Y"])
        #expect(tests["/x86/machine"] == [])
    }

    @Test("the caller's ACCEL, MACHINE, CHECK and TIMEOUT are honoured as run_tests.sh honours them")
    func callerEnvironment() throws {
        let tree = try kvmUnitTestsTree()
        let state = decodeKVMUnitTests(tree.path, environment: ["ACCEL": "tcg", "MACHINE": "pc", "CHECK": "/c=1", "TIMEOUT": "2m"])
        let tests = Dictionary(uniqueKeysWithValues: state.tests.map { ($0.id, $0) })
        #expect(tests["/x86/kvm-only"]?.requires.map(\.text) == ["env:ACCEL == kvm", "kvm", "file:/c == 1"])
        #expect(tests["/x86/tcg-only"]?.requires.map(\.text) == ["file:/c == 1"])
        #expect(tests["/x86/machine"]?.requires.map(\.text) == ["env:MACHINE == q35", "file:/c == 1"])
        #expect(tests["/x86/pass"]?.timeout == .seconds(130))
        let kvm = decodeKVMUnitTests(tree.path, environment: ["ACCEL": "kvm,kernel-irqchip=on"]).tests
        #expect(kvm.first { $0.id == "/x86/kvm-only" }?.requires.map(\.text) == ["kvm"])
        #expect(kvm.first { $0.id == "/x86/pass" }?.requires.map(\.text) == ["kvm"])
    }

    @Test("no config.mak: the host's architecture directory; CONFIG_EFI=y runs .efi images")
    func architectureDirectory() throws {
        let tree = try kvmUnitTestsTree(configured: false)
        try tree.write("arm/unittests.cfg", "[selftest]\nfile = selftest.flat\narch = arm64\n")
        let arm = decodeKVMUnitTests(tree.path, machine: "aarch64")
        #expect(arm.tests.map(\.id) == ["/arm/selftest"])
        #expect(arm.tests.first?.requires.map(\.text) == ["arch == aarch64"])
        #expect(decodeKVMUnitTests(tree.path, machine: "s390x").errors.map(\.message)
            == ["this kvm-unit-tests tree has no s390x/unittests.cfg for this host (s390x); run ./configure, or point at a tree for this architecture"])
        try tree.write("config.mak", "TEST_DIR=x86\nCONFIG_EFI=y\n")
        guard case .shell(let line) = decodeKVMUnitTests(tree.path).tests[0].command else { Issue.record("not a shell line"); return }
        #expect(line.contains("x86/pass.efi"))
    }

    @Test("a section twice, without a file, or with a timeout that is no duration is an error naming its line")
    func errors() throws {
        let tree = try kvmUnitTestsTree()
        try tree.write("x86/unittests.cfg", "[a]\nfile = a.flat\n[a]\nfile = b.flat\n[none]\nsmp = 2\n[late]\nfile = c.flat\ntimeout = soon\n")
        let state = decodeKVMUnitTests(tree.path)
        #expect(state.tests.map(\.id) == ["/x86/a"])
        #expect(state.errors.map(\.description) == [
            "kut/x86/unittests.cfg:3: [a] is declared twice (first on line 1); rename one of the sections",
            "kut/x86/unittests.cfg:5: [none] names no file; add `file = NAME.flat`",
            "kut/x86/unittests.cfg:7: [late] has timeout = soon, which is no duration; write seconds, e.g. `timeout = 90s`",
        ])
    }

    @Test("timeouts as timeout(1) writes them", arguments: [
        ("90", 90_000), ("90s", 90_000), ("5m", 300_000), ("1.5m", 90_000), ("2h", 7_200_000), ("1d", 86_400_000), ("0", 0),
    ])
    func timeouts(text: String, milliseconds: Int64) {
        #expect(KVMUnitTestsDecoder.seconds(text) == .milliseconds(milliseconds))
    }

    @Test("timeouts that are none", arguments: ["", "s", "-1", "soon", "1e99"])
    func badTimeouts(text: String) {
        #expect(KVMUnitTestsDecoder.seconds(text) == nil)
    }

    @Test("recognised by run_tests.sh beside an ARCH/unittests.cfg, not by either alone")
    func recognition() throws {
        let tree = try kvmUnitTestsTree()
        #expect(SuiteFormat.recognise(tree.path) == .kvmUnitTests)
        try FileManager.default.removeItem(atPath: tree.path + "/run_tests.sh")
        #expect(SuiteFormat.recognise(tree.path) == .testbed)
        let bare = try TemporaryTree(["run_tests.sh": "#!/bin/sh\n"])
        #expect(SuiteFormat.recognise(bare.path) == .testbed)
    }

    @Test("a nodefault test is selected only by a tag or an id that matches it")
    func nodefault() {
        let manual = TestDefinition(id: "/x86/manual", command: .shell("true"), tags: ["nodefault", "slow"], directory: "/",
                                    location: DeclarationLocation(file: "f", line: 1), selectedByDefault: false)
        #expect(!TestSelection().matches(manual))
        #expect(TestSelection(tags: [.tag("slow")]).matches(manual))
        #expect(!TestSelection(tags: [.tag("quick")]).matches(manual))
        #expect(TestSelection(ids: ["/x86/manual"]).matches(manual))
        #expect(TestSelection(ids: ["/x86"]).matches(manual))
        #expect(!TestSelection(ids: ["/arm"]).matches(manual))
    }
}

@Suite("kselftest: an installed tree as tests")
struct KselftestDecoderTests {
    @Test("each COLLECTION:TEST line is /COLLECTION/TEST, run in its collection with its settings' timeout, KTAP, skip code 4")
    func tests() throws {
        let (files, executables) = FieldTrees.kselftest()
        let tree = try TemporaryTree(files, executables: executables)
        #expect(SuiteFormat.recognise(tree.path) == .kselftest)
        var state = LoadState()
        KselftestDecoder().decode(root: tree.path, shownAs: "ks", state: &state)
        #expect(state.errors.isEmpty)
        #expect(state.tests.map(\.id) == ["/alpha/passes", "/alpha/fails", "/alpha/skips", "/alpha/hangs", "/beta/deep/where",
            "/beta/deep/plain.sh", "/beta/deep/data"])
        let first = state.tests[0]
        #expect(first.command == .shell("t=./'passes'; if [ ! -x \"$t\" ]; then echo \"# Warning: file $t is not executable\"; "
            + "i=$(head -n 1 \"$t\"); case $i in '#!'*) exec ${i#??} \"$t\" $KSELFTEST_PASSES_ARGS;; esac; exit 1; fi; "
            + "exec \"$t\" $KSELFTEST_PASSES_ARGS"))
        #expect(KselftestDecoder.command("cpu-on-off-test.sh").hasSuffix("exec \"$t\" $KSELFTEST_CPU_ON_OFF_TEST_SH_ARGS"))
        #expect(first.directory == tree.path + "/alpha")
        #expect(first.timeout == .seconds(2))
        #expect(first.skipCode == 4)
        #expect(first.outputProtocol == .ktap)
        #expect(first.tags == ["alpha"])
        #expect(first.location == DeclarationLocation(file: "ks/kselftest-list.txt", line: 1))
        #expect(state.tests[4].timeout == .seconds(45))
        #expect(state.tests[4].directory == tree.path + "/beta/deep")
    }

    @Test("a line that is no COLLECTION:TEST, one leading out of the tree, one twice, a settings timeout that is no number")
    func errors() throws {
        let tree = try TemporaryTree([
            "kselftest-list.txt": "a:one\nnocolon\n../up:x\na:one\n\n# comment\nb:two\n",
            "b/settings": "# settings\ntimeout=soon\n",
        ])
        var state = LoadState()
        KselftestDecoder().decode(root: tree.path, shownAs: "ks", state: &state)
        #expect(state.tests.map(\.id) == ["/a/one", "/b/two"])
        #expect(state.errors.map(\.description) == [
            "ks/kselftest-list.txt:2: \"nocolon\" is not COLLECTION:TEST; write one test a line, e.g. `net:reuseport_bpf`",
            "ks/kselftest-list.txt:3: ../up:x leads out of the tree; name a collection and a test inside it",
            "ks/kselftest-list.txt:4: a:one is listed twice (first on line 1); remove one",
            "ks/b/settings:2: timeout=soon is no number of seconds; write e.g. `timeout=45` (0: no limit)",
        ])
    }
}
