import Foundation
import Testing
import TestSupport

/// Issue 14, "Testbed's own limits blamed on tests" and "Unbounded work from
/// one line" (review findings 6, 7 and 9): a descriptor limit too low for
/// Testbed itself, what a `probes:` command leaves in another session, and
/// thousands of repeated `--tag` and `--id` options.
@Suite("hostile limits: Testbed's own descriptors, a probe's leftovers, repeated selections", .serialized)
struct HostileLimitTests {
    /// Runs testbed under `/bin/sh -c 'LIMITS; exec testbed ARGS'` (at most a minute).
    func limited(_ limits: String, _ arguments: [String], in directory: String) throws -> (result: Result, seconds: Double) {
        try boundedTestbed(arguments, in: directory, launcher: ["/bin/sh", "-c", "\(limits); exec \"$0\" \"$@\""])
    }

    /// 150 tests that each sleep a while (the reviewer's suite, shorter).
    static func sleepers(_ seconds: String) -> [String: String] {
        ["testbed.yaml": "tests:\n" + (1...150).map { "  t\($0): 'sleep \(seconds)'\n" }.joined()]
    }

    // MARK: - Descriptors

    static let refusal = "testbed: error: the file descriptor limit is %d (ulimit -Hn), and testbed needs at least 64 for itself, "
        + "whatever -j is; raise it (ulimit -n 1024) and run again\n"

    @Test("under ulimit -n 8, 20 or 24 every command refuses up front, naming the limit and the fix: exit 2 (run --exit-codes bisect: 125); no crash, nothing recorded, the suite not blamed",
          arguments: [8, 20, 24])
    func refusedUpFront(limit: Int) throws {
        let tree = try TemporaryTree(Self.sleepers("1"))
        let expected = String(format: Self.refusal, limit)
        for command in [["check"], ["plan"], ["probe"], ["run", "-j", "150"], ["report"]] {
            let (result, seconds) = try limited("ulimit -n \(limit)", command + (command == ["probe"] || command == ["report"] ? [] : ["."]),
                                                in: tree.path)
            #expect(result.status == 2, "\(command): \(result.status) \(result.stderr)")
            #expect(result.stderr == expected, "\(command): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(seconds < 10, "nothing ran (\(seconds) s)")
        }
        let bisect = try limited("ulimit -n \(limit)", ["run", "--exit-codes", "bisect", "-j", "150", "."], in: tree.path).result
        #expect(bisect.status == 125, "this commit cannot be tested here: \(bisect.stderr)")
        #expect(bisect.stderr == expected)
        #expect(!FileManager.default.fileExists(atPath: tree["testbed-results"]), "no run was started, so none is recorded")
    }

    @Test("under ulimit -n 64 (the least testbed works with) and 100, 150 tests with -j 150 all pass, -j lowered with one line; no false warning")
    func lowHardLimits() throws {
        let tree = try TemporaryTree(Self.sleepers("0.02"))
        var lowered: [Int: Int] = [:]
        for limit in [64, 100] {
            let (run, _) = try limited("ulimit -n \(limit)", ["run", "-q", "-j", "150", "--results", "r\(limit)", "."], in: tree.path)
            #expect(run.status == 0, "ulimit -n \(limit): \(run.status) \(run.stderr)")
            let lines = run.stderr.split(separator: "\n")
            let line = try #require(lines.first { $0.contains("lowered") }.map(String.init), "\(run.stderr)")
            #expect(line.hasPrefix("testbed: -j 150 lowered to ") && line.hasSuffix(": \(limit) file descriptors (ulimit -Hn)"), "\(line)")
            lowered[limit] = Int(line.dropFirst("testbed: -j 150 lowered to ".count).prefix { $0.isNumber })
            #expect(!run.stderr.contains("warning"), "no run directory taken for deleted: \(run.stderr)")
            #expect(!run.stderr.contains("Too many open files"), "\(run.stderr)")
            let r = try report(tree.path, ["--results", "r\(limit)"])
            #expect(r.tests.count == 150)
            #expect(Set(r.outcomes.values) == ["pass"], "\(r.tests.filter { $0["outcome"] as? String != "pass" }.prefix(3))")
            #expect(r.run["recording_error"] == nil || r.run["recording_error"] is NSNull, "\(r.run)")
        }
        #expect((1...3).contains(lowered[64] ?? 0), "\(lowered)")
        #expect((8...13).contains(lowered[100] ?? 0), "a hard limit of 100 runs several steps at once: \(lowered)")
    }

    @Test("a soft limit of 8 under a high hard limit: raised at start for every command, so check and run work as usual")
    func lowSoftLimit() throws {
        let tree = try TemporaryTree(Self.sleepers("0"))
        let check = try limited("ulimit -Sn 8", ["check", "."], in: tree.path).result
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.hasSuffix("150 runnable, 0 need setup, 0 unsupported (150 tests)\n"), "\(check.stdout)")
        #expect(check.stderr.isEmpty, "\(check.stderr)")
        let run = try limited("ulimit -Sn 8", ["run", "-q", "-j", "4", "."], in: tree.path).result
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("150 passed — exit 0"), "\(run.stdout)")
    }

    // MARK: - Probes

    /// The reviewer's two probes, their processes named with `mark`: one that
    /// leaves a `setsid` daemon, one that clears its environment, leaves its
    /// session and forks a child that stays.
    static func probingTree(mark: String) throws -> TemporaryTree {
        try TemporaryTree([
            "env.yaml": """
                name: lab
                probes:
                  daemonfact: sh -c 'echo daemonfact 1.0; (setsid perl -e "\\$0=q(\(mark)-daemon); sleep 1000" &)'
                  envfact: env -i setsid perl -e 'if (fork) { print "envfact 2.0\\n"; exit 0 } $0 = "\(mark)-child"; sleep 1000'
                """,
            "testbed.yaml": """
                tests:
                  a: {run: 'true', requires: ["daemonfact >= 1", "envfact >= 2"]}
                """,
        ])
    }

    /// Live processes whose command line (as `$0` sets it) starts with `mark`.
    static func marked(_ mark: String) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name -> pid_t? in
            guard let pid = pid_t(name), !isGone(pid),
                  let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            return data.starts(with: Data(mark.utf8)) ? pid : nil
        }
    }

    @Test("probes that leave a setsid daemon or an env -i grandchild: both facts are read, and nothing of either probe is left after check, plan or run",
          arguments: [["check"], ["plan"], ["run", "--results", "r"]])
    func probesLeaveNothing(command: [String]) throws {
        let mark = "hostile-probe-\(UUID().uuidString.prefix(8))"
        let tree = try Self.probingTree(mark: mark)
        defer { for pid in Self.marked(mark) { kill(pid, SIGKILL) } }
        let (result, seconds) = try boundedTestbed(command + ["-e", "env.yaml", "."], in: tree.path)
        #expect(result.status == 0, "\(result.stderr)")
        switch command[0] {
        case "check": #expect(result.stdout.contains("runnable (1)\n  /a\n"), "both facts were read: \(result.stdout)")
        case "run": #expect(result.stdout.contains("1 passed — exit 0"), "\(result.stdout)")
        default: #expect(result.stdout.contains("/a"), "\(result.stdout)")
        }
        #expect(seconds < 20, "testbed does not wait for what its probes left (\(seconds) s)")
        #expect(Self.marked(mark).isEmpty, "left running after \(command[0]): \(Self.marked(mark))")
    }

    // MARK: - Repeated options

    static let tagged = ["testbed.yaml": """
        tests:
          a: {run: 'true', tags: [a]}
          b: {run: 'true', tags: [b]}
          c: {run: 'true', tags: [c]}
        """]

    @Test("20,000 --tag=a (or --tag a) select as one does, in well under a second each: the same time as 20,000 -k",
          arguments: [["--tag=a"], ["--tag", "a"], ["-k", "/a"], ["--id=/a"]])
    func repeatedSelections(option: [String]) throws {
        let tree = try TemporaryTree(Self.tagged)
        let arguments = Array(repeatElement(option, count: 20_000).joined())
        let (result, seconds) = try boundedTestbed(["check", "--json"] + arguments + ["."], in: tree.path)
        #expect(result.status == 0, "\(result.stderr.prefix(300))")
        let tests = try #require(try result.json()["tests"] as? [[String: Any]])
        #expect(tests.map { $0["id"] as? String } == ["/a"])
        #expect(seconds < 5, "\(option): \(seconds) s (was 8.4 s for --tag=a)")
    }

    @Test("repeated --tag and --id still mean any of them, in order, with an error in any one named; 20,000 different ones stay fast")
    func repeatedSelectionsMeanAny() throws {
        let tree = try TemporaryTree(Self.tagged)
        let any = try testbed(["check", "--json", "--tag", "a", "--tag=zz", "--tag", "c", "--tag=a", "."], in: tree.path)
        #expect(try (any.json()["tests"] as? [[String: Any]])?.map { $0["id"] as? String } == ["/a", "/c"])
        let both = try testbed(["check", "--json", "--tag", "a", "--tag", "b", "-k", "/b", "--id=/c", "-k", "/b", "."], in: tree.path)
        #expect(try (both.json()["tests"] as? [[String: Any]])?.map { $0["id"] as? String } == ["/b"], "tags and ids narrow each other")
        // The third --tag is taken off the command line before ArgumentParser: still checked, the same message.
        let bad = try testbed(["check", "--tag", "a", "--tag", "b", "--tag", "(c", "."], in: tree.path)
        #expect(bad.status == 64)
        #expect(bad.stderr.hasPrefix("Error: --tag: invalid tag expression \"(c\": a `(` is never closed; write e.g. "), "\(bad.stderr)")
        let missing = try testbed(["check", "--tag", "a", "--tag"], in: tree.path)
        #expect(missing.status == 64 && missing.stderr.hasPrefix("Error: Missing value for '--tag <expr>'"), "\(missing.stderr)")
        // After `--`, a `--tag` is a suite path, as it always was.
        let literal = try testbed(["check", "--tag", "a", "--tag", "b", "--", "--tag"], in: tree.path)
        #expect(literal.status == 64 && literal.stderr.contains("--tag does not exist"), "\(literal.stderr)")
        let arguments = (0..<20_000).flatMap { ["--tag=t\($0) | c", "-k", "/x\($0)"] }
        let (many, seconds) = try boundedTestbed(["check", "--json"] + arguments + ["-k", "/c", "."], in: tree.path)
        #expect(try (many.json()["tests"] as? [[String: Any]])?.map { $0["id"] as? String } == ["/c"])
        #expect(seconds < 5, "\(seconds) s")
    }
}
