import Foundation
import Testing
import TestSupport

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
