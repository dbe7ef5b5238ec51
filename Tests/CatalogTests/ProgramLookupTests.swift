@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

@Suite("Programs built by setups")
struct ProgramLookupTests {
    @Test("the relative path a command starts with", arguments: [
        ("./bin/hello", "./bin/hello"), ("  build/tests/qtest/migration-test --quick", "build/tests/qtest/migration-test"),
        ("x86/run\tx86/apic.flat", "x86/run"), ("true", nil), ("make check", nil), ("/usr/bin/true", nil),
        ("$BUILD/run", nil), ("~/bin/t", nil), ("", nil), ("   ", nil), ("sh -c ./x", nil),
    ] as [(String, String?)])
    func relativeProgram(command: String, program: String?) {
        #expect(ProgramLookup.relativeProgram(of: command).map(String.init) == program)
    }

    @Test("a note for a program that does not exist yet, none once it does")
    func note() throws {
        let tree = try TemporaryTree(["bin/there": "#!/bin/sh\n"], executables: ["bin/there"])
        func test(_ command: String) -> TestDefinition {
            TestDefinition(id: "/t", command: .shell(command), directory: tree.path, location: DeclarationLocation(file: "t", line: 1))
        }
        let lookup = ProgramLookup()
        #expect(lookup.note(for: test("./bin/hello")) == "./bin/hello does not exist yet (a setup may build it)")
        #expect(lookup.note(for: test("bin/there -v")) == nil)
        #expect(lookup.note(for: test("true")) == nil)
        try tree.write("bin/hello", "#!/bin/sh\n", executable: true)
        #expect(ProgramLookup().note(for: test("./bin/hello")) == nil)
        let dropIn = TestDefinition(id: "/d", command: .executable(tree["gone"]), directory: tree.path,
                                    location: DeclarationLocation(file: "d", line: 1))
        #expect(lookup.note(for: dropIn) == nil, "a drop-in is checked when loading, not noted")
    }

    @Test("check notes a relative program a line starts, also after assignments", arguments: [
        ("./x86/run x.flat", "./x86/run"), ("ACCEL=tcg ./x86/run x.flat", "./x86/run"), ("build/t | tee log", "build/t"),
        ("/usr/bin/qemu-img info", nil), ("qemu-img info", nil), ("cd x86 && ./run", nil), ("$RUNNER x", nil),
    ] as [(String, String?)])
    func relativeProgram(line: String, program: String?) {
        #expect(ProgramLookup.relativeProgram(of: line).map(String.init) == program)
    }
}
