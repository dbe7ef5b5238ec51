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
                testbed: error: testbed.yaml:2: setup name "img\\u{1B}[2J" has a control character (`\\u{1B}`) that would reach terminals and reports as it \
                is; rename it with letters, digits and _ . - : @
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
                testbed: error: testbed.yaml:2: setup name "img\\u{200B}" has an invisible format character (`\\u{200B}`) that would reach terminals and \
                reports as it is; rename it with letters, digits and _ . - : @
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
        #expect(refused.status == 65 && refused.stderr == "testbed: error: testbed.yaml:2: test id \"/a\\u{200E}b\" has a control character "
            + "(`\\u{200E}`) \(fix)\n",
                "\(refused.stderr)")
    }
}
