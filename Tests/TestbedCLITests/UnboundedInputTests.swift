import Foundation
import Testing
import TestSupport

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
        #expect(grace.stderr.hasPrefix("Error: --kill-grace \(value) is not a duration; \(durationForms)\n"), "\(grace.stderr)")
        let multiplied = try boundedTestbed(["run", "-t", "1e300", "--results", "r", "."], in: tree.path).result
        #expect(multiplied.status == 0 && multiplied.stdout.contains("2 passed — exit 0"), "\(multiplied.stdout)\(multiplied.stderr)")
        // inf too (a multiplier too large to matter); nan is no number (InputEdgeCLITests).
        let infinite = try boundedTestbed(["run", "-t", "inf", "--results", "r", "."], in: tree.path).result
        #expect(infinite.status == 0 && infinite.stdout.contains("2 passed — exit 0"), "\(infinite.stdout)\(infinite.stderr)")
    }
}
