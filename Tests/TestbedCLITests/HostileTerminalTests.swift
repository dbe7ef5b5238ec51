import Foundation
import Testing
import TestSupport

@Suite("hostile inputs: ids never reach the terminal raw", .serialized)
struct ControlCharacterIDTests {
    @Test("test names with a newline, CR, ESC or tab in testbed.yaml, and setup names with ESC: exit 65 naming file:line, shown escaped")
    func yamlNames() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              "img\\e[2J":
                run: 'true'
            tests:
              "bad\\nPASS /forged": 'true'
              "cr\\rx": 'true'
              "esc\\e[2J": 'true'
              "tab\\tx": 'true'
              "rtl\\u202Ex": 'true'
              ok: 'true'
            """])
        for command in ["check", "run"] {
            let result = try boundedTestbed([command, "."], in: tree.path).result
            #expect(result.status == 65)
            let fix = "that would reach terminals and reports as it is; rename the test or its directory with printable characters only"
            #expect(result.stderr == """
                testbed: error: testbed.yaml:2: setup name "img\\u{1B}[2J" has a control character (`\\u{1B}`) that would reach terminals and reports as it is; rename it with letters, digits and _ . - : @
                testbed: error: testbed.yaml:5: test id "/bad\\nPASS /forged" has a control character (`\\n`) \(fix)
                testbed: error: testbed.yaml:6: test id "/cr\\rx" has a control character (`\\r`) \(fix)
                testbed: error: testbed.yaml:7: test id "/esc\\u{1B}[2J" has a control character (`\\u{1B}`) \(fix)
                testbed: error: testbed.yaml:8: test id "/tab\\tx" has a control character (`\\t`) \(fix)
                testbed: error: testbed.yaml:9: test id "/rtl\\u{202E}x" has a control character (`\\u{202E}`) \(fix)

                """, "\(result.stderr)")
            #expect(!hasRawControl(result.stderr) && !hasRawControl(result.stdout))
            #expect(!FileManager.default.fileExists(atPath: tree["testbed-results"]), "nothing ran")
        }
    }

    @Test("drop-in files and directories whose names hold control characters: exit 65 naming the file, shown escaped")
    func fileNames() throws {
        let header = "#!/bin/sh\n# testbed-tags: x\nexit 0\n"
        let tree = try TemporaryTree([
            "new\nline.sh": header, "dir\u{1B}[31m/t.sh": header, "ok.sh": header,
            "no-header\u{1B}.sh": "#!/bin/sh\nexit 0\n",
        ], executables: ["new\nline.sh", "dir\u{1B}[31m/t.sh", "ok.sh", "no-header\u{1B}.sh"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65)
        let fix = "that would reach terminals and reports as it is; rename the file or directory with printable characters only"
        #expect(result.stderr == """
            testbed: error: new\\nline.sh:2: test id "/new\\nline.sh" has a control character (`\\n`) \(fix)
            testbed: error: dir\\u{1B}[31m/t.sh:2: test id "/dir\\u{1B}[31m/t.sh" has a control character (`\\u{1B}`) \(fix)

            """, "\(result.stderr)")
        #expect(!hasRawControl(result.stderr) && !hasRawControl(result.stdout))
        // Named on the command line, such a file is refused the same way.
        let named = try boundedTestbed(["run", "./new\nline.sh"], in: tree.path).result
        #expect(named.status == 65)
        #expect(named.stderr == "testbed: error: ./new\\nline.sh:2: test id \"/new\\nline.sh\" has a control character (`\\n`) \(fix)\n",
                "\(named.stderr)")
    }

    @Test("an environment name or fact value with a control character: exit 65 naming file:line; a suite path with one is shown escaped")
    func environmentAndPaths() throws {
        let tree = try TemporaryTree([
            "name.yaml": "name: \"lab\\e[2J\"\n",
            "fact.yaml": "name: lab\nfacts:\n  kernel: \"6.1\\r\"\n",
            "tag.yaml": "provides: [\"x = 1\\e[2J\"]\n",
            "s\u{1B}[2J/testbed.yaml": "tests:\n  a: 'true'\n",
        ])
        let fix = "that would reach terminals and reports as it is; write it with printable characters only"
        for (file, message) in [
            ("name.yaml", "name.yaml:1: the environment name \"lab\\u{1B}[2J\" has a control character (`\\u{1B}`) \(fix)"),
            ("fact.yaml", "fact.yaml:3: the value of fact kernel \"6.1\\r\" has a control character (`\\r`) \(fix)"),
            ("tag.yaml", "tag.yaml:1: the value of tag x \"1\\u{1B}[2J\" has a control character (`\\u{1B}`) \(fix)"),
        ] {
            let result = try boundedTestbed(["check", "-e", file, "s\u{1B}[2J"], in: tree.path).result
            #expect(result.status == 65)
            #expect(result.stderr == "testbed: error: \(message)\n", "\(result.stderr)")
        }
        let result = try boundedTestbed(["check", "s\u{1B}[2J"], in: tree.path).result
        #expect(result.status == 0 && result.stdout.hasPrefix("environment: local (this host, probed), suite: s\\u{1B}[2J\n"), "\(result.stdout)")
        let missing = try boundedTestbed(["check", "gone\u{1B}[2J"], in: tree.path).result
        #expect(missing.status == 64 && missing.stderr.hasPrefix("Error: gone\\u{1B}[2J does not exist; "), "\(missing.stderr)")
        #expect(!hasRawControl(result.stdout + missing.stderr))
    }

    @Test("a requirement with an ESC sequence: exit 65, shown escaped with its column")
    func requirementWithEscape() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [\"qemu >= 8.2\\e[2J\"]\n"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65)
        #expect(result.stderr == "testbed: error: testbed.yaml:4: test /a: invalid requirement \"qemu >= 8.2\\u{1B}[2J\": "
            + "control character `\\u{1B}` at column 12; a requirement is one line of plain text; remove it\n", "\(result.stderr)")
    }
}

extension ControlCharacterIDTests {
    @Test("invisible format characters (U+200B, U+FEFF, U+00AD, U+E0001, U+FFF9, U+200D) in test ids, setup names and file names: exit 65 naming file:line, shown escaped")
    func formatCharacters() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
                setups:
                  "img\u{200B}":
                    run: 'true'
                tests:
                  "a\u{200B}b": 'true'
                  "a\u{FEFF}b": 'true'
                  "a\u{AD}b": 'true'
                  "a\u{E0001}b": 'true'
                  "a\u{FFF9}b": 'true'
                  "a\u{200D}b": 'true'
                  ab: 'true'
                """,
            "x\u{200B}y.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n",
        ], executables: ["x\u{200B}y.sh"])
        let fix = "that would reach terminals and reports as it is; rename the test or its directory with printable characters only"
        let fileFix = "that would reach terminals and reports as it is; rename the file or directory with printable characters only"
        for command in ["check", "run"] {
            let result = try boundedTestbed([command, "."], in: tree.path).result
            #expect(result.status == 65)
            #expect(result.stderr == """
                testbed: error: testbed.yaml:2: setup name "img\\u{200B}" has an invisible format character (`\\u{200B}`) that would reach terminals and reports as it is; rename it with letters, digits and _ . - : @
                testbed: error: testbed.yaml:5: test id "/a\\u{200B}b" has an invisible format character (`\\u{200B}`) \(fix)
                testbed: error: testbed.yaml:6: test id "/a\\u{FEFF}b" has an invisible format character (`\\u{FEFF}`) \(fix)
                testbed: error: testbed.yaml:7: test id "/a\\u{AD}b" has an invisible format character (`\\u{AD}`) \(fix)
                testbed: error: testbed.yaml:8: test id "/a\\u{E0001}b" has an invisible format character (`\\u{E0001}`) \(fix)
                testbed: error: testbed.yaml:9: test id "/a\\u{FFF9}b" has an invisible format character (`\\u{FFF9}`) \(fix)
                testbed: error: testbed.yaml:10: test id "/a\\u{200D}b" has an invisible format character (`\\u{200D}`) \(fix)
                testbed: error: x\\u{200B}y.sh:2: test id "/x\\u{200B}y.sh" has an invisible format character (`\\u{200B}`) \(fileFix)

                """, "\(result.stderr)")
            #expect(!result.stderr.unicodeScalars.contains { [0x200B, 0xFEFF, 0xAD, 0xE0001, 0xFFF9, 0x200D].contains($0.value) })
            #expect(!FileManager.default.fileExists(atPath: tree["testbed-results"]), "nothing ran")
        }
        // The bidirectional controls stay control characters, as before.
        let bidi = try TemporaryTree(["testbed.yaml": "tests:\n  \"a\u{200E}b\": 'true'\n"])
        let refused = try boundedTestbed(["check", "."], in: bidi.path).result
        #expect(refused.status == 65 && refused.stderr == "testbed: error: testbed.yaml:2: test id \"/a\\u{200E}b\" has a control character (`\\u{200E}`) \(fix)\n",
                "\(refused.stderr)")
    }
}

/// What the host says (a `file:` fact's contents, a program's `--version`
/// line) quoted by check, plan and probe: escaped as run and report escape it.
@Suite("hostile inputs: facts and reasons never reach the terminal raw", .serialized)
struct HostTextEscapeTests {
    /// A suite whose test /a needs a `file:` fact holding ESC sequences and
    /// /b needs qemu, with a fake qemu-system-x86_64 first on PATH that
    /// prints ESC, OSC and BEL.
    static func hostileHost() throws -> (tree: TemporaryTree, path: String) {
        let tree = try TemporaryTree([
            "f.txt": "\u{1B}[2J\u{1B}[31mFORGED\n",
            "bin/qemu-system-x86_64": "#!/bin/sh\nprintf 'QEMU emulator version 1.0\\033[2J\\033]0;TITLE\\007 evil\\n'\n",
        ], executables: ["bin/qemu-system-x86_64"])
        try tree.write("suite/testbed.yaml", """
            tests:
              a:
                run: 'true'
                requires: ["file:\(tree["f.txt"]) == Y"]
              b:
                run: 'true'
                requires: ["qemu >= 9"]
            """)
        return (tree, tree["bin"] + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
    }

    static let forged = "\u{1B}[2J\u{1B}[31mFORGED"
    static let forgedShown = "\\u{1B}[2J\\u{1B}[31mFORGED"
    static func qemuReason(_ tree: TemporaryTree, shown: Bool) -> String {
        "qemu is not installed on this host (`\(tree["bin"])/qemu-system-x86_64 --version` printed no version (exit 0: QEMU emulator version 1.0"
            + (shown ? "\\u{1B}[2J\\u{1B}]0;TITLE\\u{7}" : "\u{1B}[2J\u{1B}]0;TITLE\u{7}") + " evil))"
    }

    @Test("check and plan: a file: fact holding ESC sequences and a fake qemu printing ESC, OSC and BEL are shown escaped, as run shows them")
    func checkAndPlanText() throws {
        let (tree, path) = try Self.hostileHost()
        let unmet = """
              /a
                  needs file:\(tree["f.txt"]) == Y; this host has \(Self.forgedShown)
              /b
                  needs qemu >= 9; \(Self.qemuReason(tree, shown: true))

            """
        let check = try boundedTestbed(["check", "suite"], in: tree.path, environment: ["PATH": path]).result
        #expect(check.status == 0)
        #expect(check.stdout == """
            environment: local (this host, probed), suite: suite

            unsupported (2)
            \(unmet)
            0 runnable, 0 need setup, 2 unsupported (2 tests)

            """, "\(check.stdout)")
        let plan = try boundedTestbed(["plan", "suite"], in: tree.path, environment: ["PATH": path]).result
        #expect(plan.status == 0)
        #expect(plan.stdout.hasSuffix("\nnot planned: 2 unsupported\n" + unmet), "\(plan.stdout)")
        let dot = try boundedTestbed(["plan", "suite", "--dot"], in: tree.path, environment: ["PATH": path]).result
        #expect(dot.status == 0 && dot.stdout.contains("this host has \\\\u{1B}[2J\\\\u{1B}[31mFORGED\""), "\(dot.stdout)")
        // run says the same, escaped the same way.
        let run = try boundedTestbed(["run", "suite"], in: tree.path, environment: ["PATH": path]).result
        #expect(run.stdout.contains("\n" + unmet), "\(run.stdout)")
        for result in [check, plan, dot, run] {
            #expect(!hasRawControl(result.stdout) && !hasRawControl(result.stderr))
        }
    }

    @Test("check --json and plan --json: the same text as \\u escapes, read back as it was")
    func checkAndPlanJSON() throws {
        let (tree, path) = try Self.hostileHost()
        let check = try boundedTestbed(["check", "suite", "--json"], in: tree.path, environment: ["PATH": path]).result
        let plan = try boundedTestbed(["plan", "suite", "--json"], in: tree.path, environment: ["PATH": path]).result
        for (result, key) in [(check, "tests"), (plan, "unsupported")] {
            #expect(result.status == 0)
            #expect(!hasRawControl(result.stdout) && !hasRawControl(result.stderr))
            #expect(result.stdout.contains("this host has \\u001b[2J\\u001b[31mFORGED\""), "\(result.stdout)")
            #expect(result.stdout.contains("QEMU emulator version 1.0\\u001b[2J\\u001b]0;TITLE\\u0007 evil))\""), "\(result.stdout)")
            let tests = try #require(try result.json()[key] as? [[String: Any]])
            let reasons = tests.map { (($0["unmet"] as? [[String: Any]])?.first?["reason"] as? String) ?? "" }
            #expect(reasons == ["needs file:\(tree["f.txt"]) == Y; this host has \(Self.forged)",
                                "needs qemu >= 9; \(Self.qemuReason(tree, shown: false))"])
        }
    }

    @Test("probe and probe --json: the fake qemu's reason shown escaped; the JSON reads back as it printed")
    func probe() throws {
        let (tree, path) = try Self.hostileHost()
        let text = try boundedTestbed(["probe"], in: tree.path, environment: ["PATH": path]).result
        #expect(text.status == 0)
        #expect(text.stdout.contains("\n  qemu ") && text.stdout.contains(Self.qemuReason(tree, shown: true) + "\n"), "\(text.stdout)")
        let json = try boundedTestbed(["probe", "--json"], in: tree.path, environment: ["PATH": path]).result
        #expect(json.status == 0)
        #expect(json.stdout.contains("QEMU emulator version 1.0\\u001b[2J\\u001b]0;TITLE\\u0007 evil))\""), "\(json.stdout)")
        let missing = try #require(try json.json()["missing"] as? [[String: Any]])
        #expect(missing.first { $0["name"] as? String == "qemu" }?["reason"] as? String == Self.qemuReason(tree, shown: false))
        for result in [text, json] { #expect(!hasRawControl(result.stdout) && !hasRawControl(result.stderr)) }
    }

    @Test("a fact value with a C1 CSI, U+200B, U+E0001 and U+00AD: escaped in text, \\u escapes in JSON (a surrogate pair beyond U+FFFF)")
    func unprintableBeyondASCII() throws {
        let tree = try TemporaryTree(["f.txt": "x\u{9B}31m\u{200B}\u{E0001}\u{AD}\n"])
        try tree.write("testbed.yaml", "tests:\n  a:\n    run: 'true'\n    requires: [\"file:\(tree["f.txt"]) == Y\"]\n")
        let text = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(text.stdout.contains("this host has x\\u{9B}31m\\u{200B}\\u{E0001}\\u{AD}\n"), "\(text.stdout)")
        let json = try boundedTestbed(["check", ".", "--json"], in: tree.path).result
        #expect(json.stdout.contains("this host has x\\u009b31m\\u200b\\udb40\\udc01\\u00ad\""), "\(json.stdout)")
        let tests = try #require(try json.json()["tests"] as? [[String: Any]])
        #expect(((tests.first?["unmet"] as? [[String: Any]])?.first?["reason"] as? String)
                == "needs file:\(tree["f.txt"]) == Y; this host has x\u{9B}31m\u{200B}\u{E0001}\u{AD}")
        for result in [text, json] {
            #expect(!result.stdout.unicodeScalars.contains { [0x9B, 0x200B, 0xE0001, 0xAD].contains($0.value) })
        }
    }
}
