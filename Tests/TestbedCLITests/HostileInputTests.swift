import Foundation
import Testing
import TestSupport

/// The built binary started with extra environment entries (a private
/// TMPDIR, a mark its probes inherit), optionally under a launcher
/// (`setpriv …`), and waited for with a deadline: a regression that hangs
/// fails the test instead of hanging the suite.
final class Launched {
    let process = Process()
    let scratch: TemporaryTree
    let start = ContinuousClock.now

    init(_ arguments: [String], in directory: String, environment extra: [String: String] = [:], launcher: [String] = []) throws {
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [testbedBinary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: testbedBinary)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment.merge(extra) { $1 }
        process.environment = environment
        scratch = try TemporaryTree()
        FileManager.default.createFile(atPath: scratch["out"], contents: nil)
        FileManager.default.createFile(atPath: scratch["err"], contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["out"]))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["err"]))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits up to `deadline` seconds (then SIGKILLs it and records an issue).
    func finish(deadline: Double = 60) -> (result: Result, seconds: Double, signal: Int32?) {
        if !eventually(within: deadline, { !process.isRunning }) {
            Issue.record("testbed \(process.arguments ?? []) still runs after \(deadline) s: killed")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let read = { (name: String) in String(decoding: FileManager.default.contents(atPath: self.scratch[name]) ?? Data(), as: UTF8.self) }
        let result = Result(status: process.terminationStatus, stdout: read("out"), stderr: read("err"))
        return (result, seconds, process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil)
    }
}

/// Runs the built binary to its end (at most `deadline` seconds).
func boundedTestbed(_ arguments: [String], in directory: String, environment: [String: String] = [:],
                    launcher: [String] = [], deadline: Double = 60) throws -> (result: Result, seconds: Double) {
    let (result, seconds, _) = try Launched(arguments, in: directory, environment: environment, launcher: launcher).finish(deadline: deadline)
    return (result, seconds)
}

/// Whether a text holds a character that must not reach a terminal raw: a
/// control character other than the newlines that end its lines.
func hasRawControl(_ text: String) -> Bool {
    text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
}

@Suite("hostile inputs: one line cannot make unbounded work", .serialized)
struct UnboundedInputTests {
    static let suite = ["testbed.yaml": "tests:\n  quick: {run: 'true', tags: [quick]}\n  slow: {run: 'true', tags: [slow]}\n"]

    @Test("a --tag expression nested 30,000 deep: exit 64 naming --tag, the limit and the fix; the expression cut short")
    func deepTagExpression() throws {
        let tree = try TemporaryTree(Self.suite)
        let deep = String(repeating: "(", count: 30_000) + "quick" + String(repeating: ")", count: 30_000)
        let (result, _) = try boundedTestbed(["check", "--tag", deep, "."], in: tree.path)
        #expect(result.status == 64, "\(result.stderr.prefix(300))")
        #expect(result.stderr.hasPrefix("Error: --tag: invalid tag expression \"" + String(repeating: "(", count: 60)
            + "… (60005 characters)\": parentheses nest more than 100 levels deep (remove the extra ones); "
            + "write e.g. `migration & !slow` or `quick | smoke`\n"), "\(result.stderr.prefix(400))")
        #expect(result.stderr.utf8.count < 1000, "the message does not repeat 60,000 characters")
        // 100 levels are fine.
        let deepest = String(repeating: "(", count: 100) + "quick" + String(repeating: ")", count: 100)
        let fine = try boundedTestbed(["check", "--tag", deepest, "."], in: tree.path).result
        #expect(fine.status == 0 && fine.stdout.contains("runnable (1)\n  /quick\n"), "\(fine.stdout)\(fine.stderr)")
    }

    @Test("100,000 `!` in a --tag expression are folded, not recursed: an even run selects the tag, an odd one the rest")
    func negationRuns() throws {
        let tree = try TemporaryTree(Self.suite)
        let even = try boundedTestbed(["check", "--tag", String(repeating: "!", count: 100_000) + "quick", "."], in: tree.path).result
        #expect(even.status == 0, "\(even.stderr.prefix(300))")
        #expect(even.stdout.contains("runnable (1)\n  /quick\n"), "\(even.stdout)")
        let odd = try boundedTestbed(["check", "--tag", String(repeating: "!", count: 100_001) + "quick", "."], in: tree.path).result
        #expect(odd.status == 0 && odd.stdout.contains("runnable (1)\n  /slow\n"), "\(odd.stdout)\(odd.stderr.prefix(300))")
    }

    @Test("a --tag chain of 60,000 `&` and `|` (120,000 characters, near the kernel's limit for one argument) is matched and printed without recursion")
    func longChains() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  quick: {run: 'true', tags: [q]}\n  slow: {run: 'true', tags: [s]}\n"])
        let chain = Array(repeating: "q", count: 30_000).joined(separator: "&") + "|"
            + Array(repeating: "s", count: 30_000).joined(separator: "|")
        let result = try boundedTestbed(["check", "--tag", chain, "."], in: tree.path).result
        #expect(result.status == 0 && result.stdout.contains("runnable (2)\n  /quick\n  /slow\n"), "\(result.stdout)\(result.stderr.prefix(300))")
    }

    @Test("a requirement nested 30,000 deep: exit 65 naming file:line, the text cut short")
    func deepRequirement() throws {
        let deep = String(repeating: "(", count: 30_000) + "kvm" + String(repeating: ")", count: 30_000)
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [\"\(deep)\"]\n"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65)
        let cut = String(repeating: "(", count: 60) + "… (60003 characters)"
        #expect(result.stderr == "testbed: error: testbed.yaml:4: test /a: invalid requirement \"\(cut)\": unexpected `(` "
            + "in fact name `\(cut)` at column 1; names use letters, digits and _ . : / @ -\n", "\(result.stderr.prefix(500))")
    }

    @Test("YAML lists nested 30,000 (or 65) deep: exit 65 naming file:line and the limit, not a crash")
    func deepYAML() throws {
        for (depth, column) in [(30_000, " (column 16)"), (65, "")] {
            let nested = String(repeating: "[", count: depth) + "kvm" + String(repeating: "]", count: depth)
            let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: \(nested)\n"])
            let result = try boundedTestbed(["check", "."], in: tree.path).result
            #expect(result.status == 65)
            #expect(result.stderr == "testbed: error: testbed.yaml:4: YAML syntax error: lists or mappings nested more than 64 levels deep"
                + "\(column); fix the YAML at that line\n", "\(result.stderr.prefix(500))")
        }
    }

    @Test("setups chained 30,000 deep (by after, by provides) or in a ring of 30,000: exit 65 naming file:line, not a stack overflow")
    func deepSetupChains() throws {
        let count = 30_000
        let after = (1..<count).map { "  s\($0): {run: 'true', after: [s\($0 - 1)]}" }
        let provides = (1..<count).map { "  s\($0): {run: 'true', provides: [f\($0)], requires: [f\($0 - 1)]}" }
        let fix = "needs setups chained more than 256 deep (each waiting for the next through `after` or a requirement "
            + "another setup provides; the 257th is \"s29743\"); shorten the chain"
        for (lines, first, test) in [(after, "  s0: {run: 'true'}", "  t: {run: 'true', setup: [s29999]}"),
                                     (provides, "  s0: {run: 'true', provides: [f0]}", "  t: {run: 'true', requires: [f29999]}")] {
            let tree = try TemporaryTree(["testbed.yaml": (["setups:", first] + lines + ["tests:", test]).joined(separator: "\n") + "\n"])
            let result = try boundedTestbed(["check", "."], in: tree.path).result
            #expect(result.status == 65)
            #expect(result.stderr == "testbed: error: testbed.yaml:30003: test /t \(fix)\n", "\(result.stderr.prefix(500))")
        }
        // 256 in a row are fine.
        let fine = (["setups:", "  s0: {run: 'true'}"] + after.prefix(255) + ["tests:", "  t: {run: 'true', setup: [s255]}"])
        let tree = try TemporaryTree(["testbed.yaml": fine.joined(separator: "\n") + "\n"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 0 && result.stdout.contains("1 need setup"), "\(result.stderr.prefix(500))")
        // A ring: the cycle is found without recursion.
        let ring = ["setups:", "  s0: {run: 'true', after: [s29999]}"] + after + ["tests:", "  t: {run: 'true', setup: [s5]}"]
        try tree.write("testbed.yaml", ring.joined(separator: "\n") + "\n")
        let cycle = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(cycle.status == 65)
        #expect(cycle.stderr.hasPrefix("testbed: error: testbed.yaml:2: dependency cycle: s0 -> s29999 -> s29998 -> "), "\(cycle.stderr.prefix(300))")
        #expect(cycle.stderr.hasSuffix(" -> s2 -> s1 -> s0; remove one `after`\n"))
    }

    @Test("requirements on two 100,000-character fact names: unsupported in well under a second (the did-you-mean skipped 22 s of distances)")
    func longFactNames() throws {
        let name = String(repeating: "k", count: 100_000)
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  t: {run: 'true', requires: [\"\(name)\", \"\(name)x\"]}\n"])
        let (result, seconds) = try boundedTestbed(["check", "--json", "."], in: tree.path)
        #expect(result.status == 0)
        let tests = try #require(try result.json()["tests"] as? [[String: Any]])
        #expect(tests.first?["status"] as? String == "unsupported")
        #expect(seconds < 5, "\(seconds) s")
    }

    /// An environment whose probes hang, print without end or answer, and a
    /// suite that needs each.
    static let probing = [
        "env.yaml": """
            name: lab
            probes:
              hang: "echo $$ > hang.pid; exec sleep 30"
              flood: "yes 1.2.3"
              fine: "echo 2.0"
            """,
        "testbed.yaml": """
            tests:
              hangs: {run: 'true', requires: ["hang >= 1"]}
              floods: {run: 'true', requires: ["flood >= 1"]}
              fine: {run: 'true', requires: ["fine >= 1"]}
            """,
    ]

    @Test("a probes: command that hangs is killed at 10 s, one that prints without end at 64 KiB: the facts are unknown, saying why; nothing is left running or in TMPDIR")
    func boundedProbes() throws {
        let tree = try TemporaryTree(Self.probing)
        try tree.directory("tmp")
        let value = UUID().uuidString
        let (result, seconds) = try boundedTestbed(["check", "-e", "env.yaml", "."], in: tree.path,
                                                   environment: ["TMPDIR": tree["tmp"], "TESTBED_HOSTILE_INPUT": value])
        let mark = "TESTBED_HOSTILE_INPUT=\(value)"
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("""
            runnable (1)
              /fine

            unsupported (2)
              /hangs
                  needs hang >= 1; hang is unknown: probe `echo $$ > hang.pid; exec sleep 30` (env.yaml:3) did not answer in 10s; its process group was killed
              /floods
                  needs flood >= 1; flood is unknown: probe `yes 1.2.3` (env.yaml:4) printed more than 64 KiB; its process group was killed

            """), "\(result.stdout)")
        #expect(seconds < 20, "the 10 s timeout, once; the endless printer is stopped at its limit (\(seconds) s)")
        #expect(processes(withEnvironmentEntry: mark, prefix: false).isEmpty, "no probe is left running")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["tmp"]).isEmpty, "nothing spooled to TMPDIR")
        let probe = try #require(pid_t(String(contentsOfFile: tree["hang.pid"], encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isGone(probe))
    }

    @Test("SIGTERM or Ctrl-C while a probe hangs: check dies of it at once and the probe's group with it; run exits 130 at once")
    func interruptedProbes() throws {
        let tree = try TemporaryTree(Self.probing)
        for (command, signal) in [("check", SIGTERM), ("check", SIGINT), ("plan", SIGHUP), ("run", SIGTERM), ("run", SIGINT)] {
            try? FileManager.default.removeItem(atPath: tree["hang.pid"])
            let launched = try Launched([command, "-e", "env.yaml", "--id", "/hangs", "."], in: tree.path)
            #expect(eventually(within: 20) { FileManager.default.fileExists(atPath: tree["hang.pid"]) })
            usleep(100_000) // the pid is written before the shell's exec of sleep
            let probe = try #require(pid_t(String(contentsOfFile: tree["hang.pid"], encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            let sent = ContinuousClock.now
            kill(launched.process.processIdentifier, signal)
            let (result, _, died) = launched.finish(deadline: 30)
            #expect(ContinuousClock.now - sent < .seconds(3), "\(command) after signal \(signal) takes not the probe's 10 s")
            if command == "run" {
                #expect(died == nil && result.status == 130, "\(result.stderr)")
                #expect(result.stderr.contains("testbed: interrupted before the run started; nothing ran\n"), "\(result.stderr)")
            } else {
                #expect(died == signal, "\(command) dies of signal \(signal) as it always did (status \(result.status))")
            }
            #expect(eventually(within: 5) { isGone(probe) }, "the probe of \(command) is killed (signal \(signal))")
        }
    }

    @Test("timeouts that would overflow the clock: exit 65 naming file:line and the value", arguments: ["99999999999999999999", "106751991167301d", "1e400"])
    func overflowingTimeouts(value: String) throws {
        try expectTimeoutRefused(value)
    }

    @Test("--kill-grace that would overflow: exit 64 naming the option and the value; a huge -t lifts the limits", arguments: ["99999999999999999999", "106751991167301d"])
    func overflowingOptions(value: String) throws {
        let tree = try TemporaryTree(Self.suite)
        let grace = try boundedTestbed(["run", "--kill-grace", value, "."], in: tree.path).result
        #expect(grace.status == 64)
        #expect(grace.stderr.hasPrefix("Error: --kill-grace \(value) is not a duration up to ten years; write e.g. 5s\n"), "\(grace.stderr)")
        let multiplied = try boundedTestbed(["run", "-t", "1e300", "--results", "r", "."], in: tree.path).result
        #expect(multiplied.status == 0 && multiplied.stdout.contains("2 passed — exit 0"), "\(multiplied.stdout)\(multiplied.stderr)")
        // inf too (a multiplier too large to matter); nan is no number (InputEdgeCLITests).
        let infinite = try boundedTestbed(["run", "-t", "inf", "--results", "r", "."], in: tree.path).result
        #expect(infinite.status == 0 && infinite.stdout.contains("2 passed — exit 0"), "\(infinite.stdout)\(infinite.stderr)")
    }
}

@Suite("hostile inputs: nothing misread in silence", .serialized)
struct SilentMisreadTests {
    /// A drop-in whose header line starts before byte 8192 and ends after it.
    static func straddling(_ line: String, before: Int = 20) -> String {
        let start = "#!/bin/sh\n"
        let filler = "#" + String(repeating: "x", count: 8192 - before - start.utf8.count - 2) + "\n"
        return start + filler + line + "\nexit 0\n"
    }

    @Test("a header line cut by the 8 KiB window: exit 65 naming file:line and the fix, not `kernel >= 6`")
    func cutHeaderLine() throws {
        let line = "# testbed-requires: kernel >= 60"
        let tree = try TemporaryTree([
            "cut.sh": Self.straddling(line, before: 31),        // the window ends after `kernel >= 6`
            "key.sh": Self.straddling("# testbed-tags: x", before: 7), // cut inside the key
            "fits.sh": Self.straddling("# testbed-tags: x", before: 18), // ends at byte 8192 with its newline
            "comment.sh": "#!/bin/sh\n# testbed-tags: y\n" + String(Self.straddling("# a comment, not a header line").dropFirst(10)),
        ], executables: ["cut.sh", "key.sh", "fits.sh", "comment.sh"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65)
        let fix = "does not end within the first 8192 bytes, all that is read of a file for its header, so it would be read cut; "
            + "move the testbed- lines to the top of the file, or shorten this one"
        #expect(result.stderr == """
            testbed: error: cut.sh:3: the header line `testbed-requires` \(fix)
            testbed: error: key.sh:3: the header line `testbed-tags` \(fix)

            """, "\(result.stderr)")
        // Fixed by moving it to the top, it is read whole.
        try tree.write("cut.sh", "#!/bin/sh\n\(line)\nexit 0\n", executable: true)
        try tree.write("key.sh", "#!/bin/sh\n# testbed-tags: x\nexit 0\n", executable: true)
        let fixed = try boundedTestbed(["check", "--json", "."], in: tree.path).result
        #expect(fixed.status == 0, "\(fixed.stderr)")
        let tests = try #require(try fixed.json()["tests"] as? [[String: Any]])
        #expect(tests.map { $0["id"] as? String } == ["/comment.sh", "/cut.sh", "/fits.sh", "/key.sh"])
        let unmet = try #require(tests[1]["unmet"] as? [[String: String]])
        #expect(unmet.first?["requirement"] == "kernel >= 60")
    }

    /// How to run testbed without the power to read what its mode forbids:
    /// as root, without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv); as
    /// anyone else, directly. Nil as root without setpriv.
    static let unprivileged: [String]? = {
        guard geteuid() == 0 else { return [] }
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        return setpriv.map { [$0, "--bounding-set=-dac_override,-dac_read_search"] }
    }()

    @Test("a directory of a suite that cannot be read or searched: exit 65 naming it, as for an unreadable testbed.yaml",
          .enabled(if: unprivileged != nil, "root without setpriv: chmod does not stop root"),
          arguments: [(0o000, "read"), (0o100, "read"), (0o400, "searched")])
    func unreadableDirectory(mode: Int, what: String) throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  top: 'true'\n",
            "locked/testbed.yaml": "tests:\n  hidden: 'true'\n",
            "locked/t.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n",
            "open/testbed.yaml": "tests:\n  seen: 'true'\n",
        ], executables: ["locked/t.sh"])
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: tree["locked"])
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree["locked"]) }
        let result = try boundedTestbed(["check", "."], in: tree.path, launcher: Self.unprivileged ?? []).result
        #expect(result.status == 65, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr == "testbed: error: locked: is a directory that cannot be \(what) (Permission denied), so the tests "
            + "in it cannot be found; make it readable (chmod a+rx), or move it out of the suite\n", "\(result.stderr)")
    }

    @Test("a FIFO named as a test, as a testbed.yaml or as an environment file: exit 65 at once, never opened blocking")
    func fifos() throws {
        let tree = try TemporaryTree(["suite/testbed.yaml": "tests:\n  a: 'true'\n"])
        try tree.directory("lonely")
        for fifo in ["fifo", "suite/fifo.sh", "suite/pipe.sh", "lonely/testbed.yaml", "env.yaml"] {
            #expect(mkfifo(tree[fifo], 0o755) == 0)
        }
        let cases: [([String], String)] = [
            (["run", "./fifo"], "./fifo: is a FIFO, not a regular file, so it cannot run as a test; name an executable file, a suite directory or a testbed.yaml"),
            (["check", "fifo"], "fifo: is a FIFO, not a regular file, so it cannot run as a test; name an executable file, a suite directory or a testbed.yaml"),
            (["check", "suite/fifo.sh"], "suite/fifo.sh: is a FIFO, not a regular file, so it cannot run as a test; name an executable file, a suite directory or a testbed.yaml"),
            (["check", "lonely"], "lonely/testbed.yaml: is a FIFO, not a regular file; make it a YAML file, or remove it"),
            (["check", "-e", "env.yaml", "suite"], "env.yaml: is a FIFO, not a regular file; name a YAML file"),
        ]
        for (arguments, message) in cases {
            let (result, seconds) = try boundedTestbed(arguments, in: tree.path, deadline: 20)
            #expect(result.status == 65, "\(arguments): \(result.stderr)")
            #expect(result.stderr == "testbed: error: \(message)\n", "\(arguments)")
            #expect(seconds < 10)
        }
        // Executable FIFOs met while walking a suite are not tests, and never opened.
        let walked = try boundedTestbed(["check", "suite"], in: tree.path, deadline: 20).result
        #expect(walked.status == 0 && walked.stdout.contains("runnable (1)\n  /a\n"), "\(walked.stdout)\(walked.stderr)")
    }
}

/// `check` of a suite whose setup, YAML test and drop-in all declare
/// `timeout: value`: exit 65, each named at its file:line with the value and the fix.
func expectTimeoutRefused(_ value: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "setups:\n  s:\n    run: 'true'\n    timeout: \(value)\ntests:\n  a:\n    run: 'true'\n    timeout: \(value)\n",
            "sub/t.sh": "#!/bin/sh\n# testbed-timeout: \(value)\nexit 0\n",
        ], executables: ["sub/t.sh"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65, sourceLocation: sourceLocation)
        let fix = "not a duration up to ten years; write e.g. 90s, 10m or 1h (0 for no limit)"
        #expect(result.stderr == """
            testbed: error: testbed.yaml:4: timeout of setup "s" is "\(value)", \(fix)
            testbed: error: testbed.yaml:8: timeout of test /a is "\(value)", \(fix)
            testbed: error: sub/t.sh:2: timeout of test /sub/t.sh is "\(value)", \(fix)

            """, "\(result.stderr)", sourceLocation: sourceLocation)
}
