import Foundation
import Testing
import TestSupport

/// One hostile input for `check`/`plan`: the files of a suite, the command,
/// and exactly what must come out.
struct HostileCase: Sendable, CustomTestStringConvertible {
    let name: String
    var files: [String: String] = [:]
    var executables: Set<String> = []
    var arguments: [String] = ["check", "."]
    let status: Int32
    /// Every one must appear in stderr (errors) or stdout (verdicts).
    var stderr: [String] = []
    var stdout: [String] = []

    var testDescription: String { name }
}

/// An alias bomb: ten levels of ten aliases each, 10^10 nodes if expanded.
let aliasBomb: String = {
    var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for level in 1...9 {
        let previous = "*a\(level - 1)"
        yaml += "a\(level): &a\(level) [" + Array(repeating: previous, count: 10).joined(separator: ", ") + "]\n"
    }
    return yaml + "tests:\n  t: 'true'\n"
}()

let hostileDeclarations: [HostileCase] = [
    HostileCase(name: "YAML that does not parse names file and line",
                files: ["testbed.yaml": "tests:\n  a: 'true'\n  b: [unclosed\n  c: 'true'\n"],
                status: 65, stderr: ["testbed: error: testbed.yaml:4:", "YAML syntax error"]),
    HostileCase(name: "a tab in the indentation",
                files: ["testbed.yaml": "tests:\n\ta: 'true'\n"],
                status: 65, stderr: ["testbed.yaml:2:", "YAML syntax error"]),
    HostileCase(name: "a YAML alias bomb is refused, not expanded",
                files: ["testbed.yaml": aliasBomb],
                status: 65, stderr: ["testbed.yaml", "alias"]),
    HostileCase(name: "unknown key with a suggestion",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requries: [root]\n"],
                status: 65, stderr: ["testbed.yaml:4:", "requries", "did you mean \"requires\"?"]),
    HostileCase(name: "unknown top-level key",
                files: ["testbed.yaml": "test:\n  a: 'true'\n"],
                status: 65, stderr: ["testbed.yaml:1:", "\"test\""]),
    HostileCase(name: "wrong type: timeout: soon",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    timeout: soon\n"],
                status: 65, stderr: ["testbed.yaml:4: timeout of test /a is \"soon\", not a duration"]),
    HostileCase(name: "wrong type: tags as a number",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    tags: {x: 1}\n"],
                status: 65, stderr: ["testbed.yaml:4:", "tags"]),
    HostileCase(name: "wrong type: the tests section is a list",
                files: ["testbed.yaml": "tests:\n  - 'true'\n"],
                status: 65, stderr: ["testbed.yaml:2:", "tests"]),
    HostileCase(name: "a requirement that does not parse points at the column",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [\"kernel >= \"]\n"],
                status: 65, stderr: ["testbed.yaml:4: test /a: invalid requirement \"kernel >= \""]),
    HostileCase(name: "a requirement with a bad operator",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [\"qemu => 8\"]\n"],
                status: 65, stderr: ["testbed.yaml:4:", "invalid requirement \"qemu => 8\""]),
    HostileCase(name: "an unknown fact is a requirement this host does not meet",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [frobnicator]\n"],
                status: 0, stdout: ["unsupported (1)", "needs frobnicator; frobnicator is not present on this host"]),
    HostileCase(name: "an empty suite selects nothing",
                files: ["README": "no tests here\n"],
                status: 4, stdout: ["no tests selected"]),
    HostileCase(name: "an empty testbed.yaml selects nothing",
                files: ["testbed.yaml": ""],
                status: 4, stdout: ["no tests selected"]),
    HostileCase(name: "a suite that is a plain file, not executable",
                files: ["notes.txt": "hello\n"], arguments: ["check", "notes.txt"],
                status: 65, stderr: ["notes.txt: is not executable", "chmod +x"]),
    HostileCase(name: "a suite that does not exist",
                arguments: ["check", "nowhere"],
                status: 64, stderr: ["nowhere does not exist; name a suite directory"]),
    HostileCase(name: "a directory named testbed.yaml is walked as a directory, not read",
                files: ["testbed.yaml/inner.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n"], executables: ["testbed.yaml/inner.sh"],
                status: 0, stdout: ["runnable (1)", "/testbed.yaml/inner.sh"]),
    HostileCase(name: "a dependency cycle of length 1: a setup after itself",
                files: ["testbed.yaml": "setups:\n  a:\n    run: 'true'\n    after: [a]\ntests:\n  t:\n    run: 'true'\n    setup: [a]\n"],
                status: 65, stderr: ["dependency cycle: a -> a; remove one `after`"]),
    HostileCase(name: "a dependency cycle of length 5",
                files: ["testbed.yaml": """
                    setups:
                      a: {run: 'true', after: [b]}
                      b: {run: 'true', after: [c]}
                      c: {run: 'true', after: [d]}
                      d: {run: 'true', after: [e]}
                      e: {run: 'true', after: [a]}
                    tests:
                      t: {run: 'true', setup: [a]}
                    """],
                status: 65, stderr: ["dependency cycle: a -> b -> c -> d -> e -> a; remove one `after`"]),
    HostileCase(name: "a setup after one that does not exist",
                files: ["testbed.yaml": "setups:\n  a:\n    run: 'true'\n    after: [ghost]\ntests:\n  t:\n    run: 'true'\n    setup: [a]\n"],
                status: 65, stderr: ["ghost"]),
    HostileCase(name: "duplicate ids across files name both places",
                files: ["testbed.yaml": "tests:\n  sub/a: 'true'\n", "sub/testbed.yaml": "tests:\n  a: 'true'\n"],
                status: 65, stderr: ["/sub/a", "sub/testbed.yaml:2", "testbed.yaml:2"]),
    HostileCase(name: "ids with .. cannot reach outside the suite: refused when loading",
                files: ["testbed.yaml": "tests:\n  ok: 'true'\n  \"../../escape\": 'true'\n  \"a/../../b\": 'true'\n"],
                status: 65, stderr: ["testbed.yaml:3: test key \"../../escape\" is not a valid id part",
                                     "testbed.yaml:4: test key \"a/../../b\" is not a valid id part"]),
    HostileCase(name: "duplicate keys in one mapping",
                files: ["testbed.yaml": "tests:\n  a: 'true'\n  a: 'false'\n"],
                status: 65, stderr: ["testbed.yaml:3:", "\"a\""]),
    HostileCase(name: "two YAML documents in one file",
                files: ["testbed.yaml": "tests:\n  a: 'true'\n---\ntests:\n  b: 'true'\n"],
                status: 65, stderr: ["testbed.yaml:3:", "document"]),
    HostileCase(name: "a carriage return that does not end a line (found by fuzzing)",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\r    tags: [x]\n  b: 'true'\n"],
                status: 65, stderr: ["testbed.yaml:3: has a carriage return that does not end a line (not CRLF)"]),
    HostileCase(name: "CRLF line endings are fine",
                files: ["testbed.yaml": "tests:\r\n  a: 'true'\r\n"],
                status: 0, stdout: ["runnable (1)", "/a"]),
    HostileCase(name: "a file that is not UTF-8",
                files: ["testbed.yaml": "tests:\n  a: 'true'\n"],
                status: 65, stderr: ["testbed.yaml", "not UTF-8"]),
    HostileCase(name: "a drop-in header in a binary file is not a test",
                files: ["tool.bin": "\u{7F}ELF\u{0}\u{0}\u{0}# testbed-requires: root\n# testbed-tags: x\n",
                        "ok.sh": "#!/bin/sh\n# testbed-tags: fine\nexit 0\n"],
                executables: ["tool.bin", "ok.sh"],
                status: 0, stdout: ["runnable (1)", "/ok.sh", "1 test"]),
    HostileCase(name: "an unknown drop-in header key",
                files: ["t.sh": "#!/bin/sh\n# testbed-require: root\nexit 0\n"], executables: ["t.sh"],
                status: 65, stderr: ["t.sh:2:", "unknown header key \"testbed-require\"", "did you mean \"testbed-requires\"?"]),
    HostileCase(name: "a test whose program does not exist: looked for when it runs, noted by check",
                files: ["testbed.yaml": "tests:\n  a: ./missing.sh --flag\n"],
                status: 0, stdout: ["runnable (1)\n  /a\n      note: ./missing.sh does not exist yet (a setup may build it)\n"]),
    HostileCase(name: "a missing --environment file",
                files: ["testbed.yaml": "tests:\n  a: 'true'\n"], arguments: ["check", "--environment", "gone.yaml", "."],
                status: 64, stderr: ["environment file gone.yaml does not exist"]),
    HostileCase(name: "an environment binary that does not exist makes its fact absent, naming the line",
                files: ["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [\"qemu-src >= 7.0\"]\n",
                        "env.yaml": "probe: false\nbinaries:\n  qemu-src: /nonexistent/qemu-system-x86_64\n"],
                arguments: ["check", "--environment", "env.yaml", "."],
                status: 0, stdout: ["unsupported (1)", "env.yaml:3", "/nonexistent/qemu-system-x86_64"]),
    HostileCase(name: "an environment file that is not a mapping",
                files: ["testbed.yaml": "tests:\n  a: 'true'\n", "env.yaml": "- just\n- a list\n"],
                arguments: ["check", "--environment", "env.yaml", "."],
                status: 65, stderr: ["env.yaml:1:"]),
    HostileCase(name: "a symlink loop in a suite is walked once",
                files: ["a/t.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n"], executables: ["a/t.sh"],
                status: 0, stdout: ["runnable (1)", "/a/t.sh"]),
]

@Suite("hostile declarations: exact errors, no crash")
struct HostileDeclarationTests {
    @Test(arguments: hostileDeclarations)
    func hostile(_ hostile: HostileCase) throws {
        let tree = try TemporaryTree(hostile.files, executables: hostile.executables)
        if hostile.name.contains("not UTF-8") {
            try Data([0x74, 0x65, 0x73, 0x74, 0x73, 0x3A, 0x0A, 0x20, 0x20, 0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A])
                .write(to: URL(fileURLWithPath: tree["testbed.yaml"]))
        }
        if hostile.name.contains("symlink loop") {
            try FileManager.default.createSymbolicLink(atPath: tree["a/loop"], withDestinationPath: "..")
            try FileManager.default.createSymbolicLink(atPath: tree["a/again"], withDestinationPath: "..")
        }
        let result = try testbed(hostile.arguments, in: tree.path)
        #expect(result.status == hostile.status, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        for text in hostile.stderr { #expect(result.stderr.contains(text), "stderr lacks \(text): \(result.stderr)") }
        for text in hostile.stdout { #expect(result.stdout.contains(text), "stdout lacks \(text): \(result.stdout)") }
        #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
    }

    @Test("a 50 MB declaration file is refused before it is read")
    func hugeFile() throws {
        let tree = try TemporaryTree()
        let line = "# " + String(repeating: "x", count: 1021) + "\n"
        let handle = try FileHandle(forWritingTo: {
            FileManager.default.createFile(atPath: tree["testbed.yaml"], contents: Data("tests:\n  t: 'true'\n".utf8))
            return URL(fileURLWithPath: tree["testbed.yaml"])
        }())
        try handle.seekToEnd()
        let chunk = Data(String(repeating: line, count: 1024).utf8)
        for _ in 0..<50 { handle.write(chunk) }
        try handle.close()
        let result = try testbed(["check", "."], in: tree.path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("testbed.yaml: is 52.4 MB; a declaration file may hold at most 32 MiB"), "\(result.stderr)")
    }
}
