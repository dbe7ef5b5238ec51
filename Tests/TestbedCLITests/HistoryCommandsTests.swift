import Foundation
import Testing
import TestSupport

/// The lab's memory, end to end: three runs of a small suite where the
/// environment file's kernel fact and the package list change between the
/// second and the third run, and one test starts failing then. `runs` lists
/// the three with their counts, `history` shows the flip and the fail ratio,
/// `diff` and `why` name exactly the kernel and the package, and the third
/// run names its regression with what changed.
@Suite("history commands: runs, history, diff, why, regressions", .serialized, .timeLimit(.minutes(3)))
struct HistoryCommandsTests {
    /// The suite (`/stable` always passes, `/flip` fails once `broken`
    /// exists), and `env.yaml` with a fake kernel and package list.
    static func suite() throws -> TemporaryTree {
        let tree = try TemporaryTree()
        try tree.write("suite/testbed.yaml", """
            tests:
              stable: 'true'
              flip:
                run: sh -c 'test ! -e \(tree["broken"])'
              skipped:
                run: sh -c 'exit 77'
            """)
        try tree.write("suite/env.yaml", "facts:\n  kernel: 6.1.0-13\npackages: cat packages.txt\n")
        try tree.write("suite/packages.txt", "libvirt0\t9.0.0-4\nqemu-system-x86 1:8.2.2\n")
        return tree
    }

    /// Runs the suite in `env.yaml`'s environment; returns the run's output.
    @discardableResult
    static func run(_ tree: TemporaryTree, expecting status: Int32) throws -> Result {
        let result = try testbed(["run", "-e", "env.yaml", "."], in: tree["suite"])
        #expect(result.status == status, "\(result.stdout)\n\(result.stderr)")
        return result
    }

    /// Three runs: two passing on kernel 6.1.0-13 and libvirt0 9.0.0-4, then kernel 6.1.0-15, libvirt0 9.0.0-5 and `/flip` failing.
    static func threeRuns() throws -> (tree: TemporaryTree, ids: [String], third: Result) {
        let tree = try suite()
        try run(tree, expecting: 0)
        try run(tree, expecting: 0)
        try tree.write("suite/env.yaml", "facts:\n  kernel: 6.1.0-15\npackages: cat packages.txt\n")
        try tree.write("suite/packages.txt", "libvirt0\t9.0.0-5\nqemu-system-x86 1:8.2.2\n")
        try tree.write("broken", "")
        let third = try run(tree, expecting: 1)
        let listed = try testbed(["runs", "--json"], in: tree["suite"])
        let runs = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        return (tree, runs.compactMap { $0["id"] as? String }, third)
    }

    static let change = "kernel 6.1.0-13 → 6.1.0-15; package libvirt0 9.0.0-4 → 9.0.0-5"

    @Test("runs lists the three newest first with counts, host, environment and exit code; --json parses")
    func runs() throws {
        let (tree, ids, _) = try Self.threeRuns()
        #expect(ids.count == 3)
        let text = try testbed(["runs"], in: tree["suite"])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(text.stdout)")
        #expect(lines.first?.hasPrefix("RUN") == true)
        #expect(lines.dropFirst().map { String($0.prefix { $0 != " " }) } == ids)
        #expect(lines[1].contains("1 pass, 1 fail, 1 skip"), "\(text.stdout)")
        #expect(lines[2].contains("2 pass, 1 skip"), "\(text.stdout)")
        #expect(lines[1].contains(" env "), "\(text.stdout)")
        let hostname = ProcessInfo.processInfo.hostName
        #expect(text.stdout.contains(hostname) || text.stdout.contains(String(hostname.prefix { $0 != "." })), "\(text.stdout)")
        let json = try testbed(["runs", "--json", "--limit", "2"], in: tree["suite"])
        let runs = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(runs.count == 2)
        #expect(runs[0]["counts"] as? [String: Int] == ["pass": 1, "fail": 1, "skip": 1])
        #expect(runs[0]["exit_code"] as? Int == 1)
        #expect(runs[0]["state"] as? String == "complete")
        #expect(runs[0]["environment"] as? String == "env")
        #expect(runs[0]["host"] is String)
        let other = try testbed(["runs", "-e", "elsewhere"], in: tree["suite"])
        #expect(other.status == 0 && other.stdout.hasPrefix("no runs matching"), "\(other.stdout)")
    }

    @Test("history shows the flip, the last pass and the fail ratio with its interval; --json parses")
    func history() throws {
        let (tree, ids, _) = try Self.threeRuns()
        let text = try testbed(["history", "/flip"], in: tree["suite"])
        #expect(text.status == 0, "\(text.stderr)")
        let rows = text.stdout.split(separator: "\n").filter { $0.hasPrefix("2") }
        #expect(rows.map { String($0.prefix { $0 != " " }) } == ids)
        #expect(rows.map { $0.contains(" fail ") } == [true, false, false], "\(text.stdout)")
        #expect(text.stdout.contains("last pass: run \(ids[1]) ("), "\(text.stdout)")
        #expect(text.stdout.contains("flips: 1\n"), "\(text.stdout)")
        #expect(text.stdout.contains("fail ratio: 33% (95% interval 0–87%, 1 of 3)\n"), "\(text.stdout)")
        let stable = try testbed(["history", "stable"], in: tree["suite"])
        #expect(stable.stdout.contains("fail ratio: < 100% (0 of 3)\n"), "\(stable.stdout)")
        #expect(stable.stdout.contains("flips: 0\n"), "\(stable.stdout)")
        let json = try testbed(["history", "/flip", "--json", "--limit", "1"], in: tree["suite"]).json()
        #expect((json["runs"] as? [[String: Any]])?.count == 1)
        #expect(json["total"] as? Int == 3)
        #expect(json["flips"] as? Int == 1)
        #expect((json["last_pass"] as? [String: Any])?["run"] as? String == ids[1])
        let ratio = try #require(json["fail_ratio"] as? [String: Any])
        #expect(ratio["failures"] as? Int == 1 && ratio["verdicts"] as? Int == 3)
        #expect(ratio["rule_of_three"] as? Bool == false)
        let skipped = try testbed(["history", "/skipped", "--json"], in: tree["suite"]).json()
        #expect(skipped["last_pass"] is NSNull)
        #expect((skipped["fail_ratio"] as? [String: Any])?["text"] as? String == "no verdicts")
    }

    @Test("diff and why name exactly the kernel and the package that changed, and the regression")
    func diffAndWhy() throws {
        let (tree, ids, third) = try Self.threeRuns()
        let diff = try testbed(["diff"], in: tree["suite"])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.hasPrefix("diff \(ids[1]) → \(ids[0]) ("), "\(diff.stdout)")
        #expect(diff.stdout.contains("regressions (1)\n  /flip  pass → fail\n"), "\(diff.stdout)")
        #expect(!diff.stdout.contains("fixes"), "\(diff.stdout)")
        let changed = diff.stdout.components(separatedBy: "what changed\n").last ?? ""
        #expect(changed == "  facts:\n    kernel 6.1.0-13 → 6.1.0-15\n  packages:\n    package libvirt0 9.0.0-4 → 9.0.0-5\n", "\(diff.stdout)")

        let json = try testbed(["diff", "--json"], in: tree["suite"]).json()
        #expect(json["from"] as? String == ids[1] && json["to"] as? String == ids[0])
        #expect((json["regressions"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["/flip"])
        let changes = try #require(json["changes"] as? [[String: Any]])
        #expect(changes.compactMap { $0["key"] as? String } == ["kernel", "libvirt0"])
        #expect(changes.compactMap { $0["section"] as? String } == ["facts", "packages"])
        #expect(changes.first?["old"] as? String == "6.1.0-13" && changes.first?["new"] as? String == "6.1.0-15")

        // The first and second runs differ in nothing; the first and third as the second and third.
        let same = try testbed(["diff", ids[2], ids[1]], in: tree["suite"])
        #expect(same.stdout.contains("no regressions, fixes, new infrastructure failures, new or gone tests\n"), "\(same.stdout)")
        #expect(same.stdout.hasSuffix("what changed\n  nothing recorded differs\n"), "\(same.stdout)")

        let why = try testbed(["why", "/flip"], in: tree["suite"])
        #expect(why.status == 0, "\(why.stderr)")
        #expect(why.stdout == "/flip last passed in run \(ids[1]) (kernel 6.1.0-13), first failed in \(ids[0]). What changed: \(Self.change)\n")
        let bounded = try testbed(["why", "/flip", "--limit", "1"], in: tree["suite"])
        #expect(bounded.stdout.hasSuffix("What changed: kernel 6.1.0-13 → 6.1.0-15; and 1 more (`testbed diff \(ids[1]) \(ids[0])` lists them all)\n"),
                "\(bounded.stdout)")
        let whyJSON = try testbed(["why", "/flip", "--json"], in: tree["suite"]).json()
        #expect(whyJSON["answer"] as? String == "changed")
        #expect((whyJSON["first_failure"] as? [String: Any])?["run"] as? String == ids[0])
        #expect((whyJSON["changes"] as? [[String: Any]])?.count == 2)
        #expect(whyJSON["environment"] as? String == "env")

        // The end of the third run: its regression, and what changed since it passed.
        #expect(third.stdout.contains("regressions (passed the last time they ran on this host and environment): /flip\n"), "\(third.stdout)")
        #expect(third.stdout.contains("  /flip: what changed since it passed in \(ids[1]): \(Self.change)\n"), "\(third.stdout)")
        #expect(!third.stdout.contains("/stable:"), "\(third.stdout)")
    }

    @Test("why: a test that never passed, one that passes; a misspelt id is refused with the nearest")
    func whyOtherAnswers() throws {
        let tree = try Self.suite()
        try tree.write("broken", "")
        try Self.run(tree, expecting: 1)
        let never = try testbed(["why", "/flip"], in: tree["suite"])
        #expect(never.stdout == "/flip never passed on this host and environment (failed in its only run with a verdict)\n", "\(never.stdout)")
        let passing = try testbed(["why", "/stable"], in: tree["suite"])
        #expect(passing.stdout.contains("/stable passed in its latest run with a verdict"), "\(passing.stdout)")
        for command in ["why", "history"] {
            let typo = try testbed([command, "/flp"], in: tree["suite"])
            #expect(typo.status == 66)
            #expect(typo.stderr == "testbed: error: no run has a result for test /flp; did you mean /flip?\n", "\(typo.stderr)")
        }
        // Without the leading slash, as `check` shows ids without it nowhere: still found.
        #expect(try testbed(["history", "flip"], in: tree["suite"]).status == 0)
    }

    @Test("no comparable earlier run: no regression line (the first run; another environment)")
    func noComparableRun() throws {
        let tree = try Self.suite()
        let first = try Self.run(tree, expecting: 0)
        #expect(!first.stdout.contains("regressions"), "\(first.stdout)")
        // Another environment file (another name): its first run has nothing to compare with.
        try tree.write("suite/other.yaml", "facts:\n  kernel: 6.1.0-13\n")
        try tree.write("broken", "")
        let other = try testbed(["run", "-e", "other.yaml", "."], in: tree["suite"])
        #expect(other.status == 1)
        #expect(!other.stdout.contains("regressions"), "\(other.stdout)")
        // diff without an earlier run at all is refused.
        let lone = try Self.suite()
        try Self.run(lone, expecting: 0)
        let diff = try testbed(["diff"], in: lone["suite"])
        #expect(diff.status == 66, "\(diff.stdout)")
        #expect(diff.stderr.contains("is the first recorded run: nothing to compare it with"), "\(diff.stderr)")
    }

    @Test("a database from before hosts and snapshots (schema v2): its runs are listed, have a history, and are compared by outcome only")
    func oldDatabase() throws {
        let tree = try TemporaryTree()
        try FileManager.default.createDirectory(atPath: tree["results"], withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: packageRoot.appendingPathComponent("Tests/ResultsTests/Fixtures/v2.sqlite").path,
                                         toPath: tree["results/testbed.sqlite"])
        let runs = try testbed(["runs", "--results", tree["results"]], in: tree.path)
        #expect(runs.status == 0, "\(runs.stderr)")
        let lines = runs.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(runs.stdout)")
        #expect(lines[1].hasPrefix("20261130-020435-dbfa") && lines[1].contains(" -     local ") && lines[1].contains("incomplete"),
                "\(runs.stdout)")
        #expect(lines[1].hasSuffix("1 pass, 1 fail, 1 blocked, 1 interrupted"), "\(runs.stdout)")
        #expect(lines[3].hasPrefix("20261130-020433-7e54") && lines[3].contains("complete") && lines[3].hasSuffix("1 pass, 1 fail, 1 blocked"),
                "\(runs.stdout)")
        let history = try testbed(["history", "/fails", "--results", tree["results"]], in: tree.path)
        #expect(history.stdout.contains("last pass: never\nflips: 0\nfail ratio: > 0% (2 of 2)\n"), "\(history.stdout)")
        let why = try testbed(["why", "/fails", "--results", tree["results"]], in: tree.path)
        #expect(why.stdout == "/fails never passed on this host and environment (failed in all 2 runs with a verdict)\n", "\(why.stdout)")
        let diff = try testbed(["diff", "--results", tree["results"]], in: tree.path)
        #expect(diff.stdout.hasPrefix("diff 20261130-020434-a2de → 20261130-020435-dbfa (-, local)\n"), "\(diff.stdout)")
        #expect(diff.stdout.hasSuffix("what changed\n  neither run recorded a snapshot: nothing to compare\n"), "\(diff.stdout)")
    }

    @Test("the commands need runs: a results directory that is not there, or holds none, is exit 66", arguments: ["runs", "diff"])
    func noResults(command: String) throws {
        let tree = try TemporaryTree()
        let result = try testbed([command, "--results", tree["nowhere"]], in: tree.path)
        #expect(result.status == 66, "\(result.stderr)")
        #expect(result.stderr.contains("results directory \(tree["nowhere"]) does not exist"), "\(result.stderr)")
        // A directory that is there but holds no run.
        try FileManager.default.createDirectory(atPath: tree["empty"], withIntermediateDirectories: true)
        let empty = try testbed([command, "--results", tree["empty"]], in: tree.path)
        #expect(empty.status == 66, "\(empty.stderr)")
        #expect(empty.stderr.contains("no runs recorded"), "\(empty.stderr)")
    }
}

/// A partial run (`--id`) between a pass and a failure hides nothing: `diff` without RUN_A, the end of
/// `run` and the dashboard judge each test against its latest earlier verdict on the host and environment.
@Suite("history commands: a partial run in between", .serialized, .timeLimit(.minutes(3)))
struct PartialRunHistoryTests {
    @Test("pass, a run of /stable only, then /flip fails: a regression (passed in the first run), not a new test")
    func partialRunInBetween() throws {
        let tree = try HistoryCommandsTests.suite()
        try HistoryCommandsTests.run(tree, expecting: 0)
        let partial = try testbed(["run", "-e", "env.yaml", "--id", "/stable", "."], in: tree["suite"])
        #expect(partial.status == 0, "\(partial.stdout)\n\(partial.stderr)")
        try tree.write("broken", "")
        let third = try HistoryCommandsTests.run(tree, expecting: 1)
        let listed = try testbed(["runs", "--json"], in: tree["suite"])
        let ids = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]).compactMap { $0["id"] as? String }
        try #require(ids.count == 3)
        #expect(third.stdout.contains("regressions (passed the last time they ran on this host and environment): /flip\n"), "\(third.stdout)")
        #expect(third.stdout.contains("  /flip: what changed since it passed in \(ids[2]): "), "\(third.stdout)")

        let diff = try testbed(["diff"], in: tree["suite"])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.hasPrefix("diff \(ids[1]) → \(ids[0]) ("), "\(diff.stdout)")
        #expect(diff.stdout.contains("regressions (1)\n  /flip  pass → fail (pass in \(ids[2]))\n"), "\(diff.stdout)")
        #expect(!diff.stdout.contains("new tests"), "\(diff.stdout)")
        #expect(!diff.stdout.contains("gone tests"), "\(diff.stdout)")
        let json = try testbed(["diff", "--json"], in: tree["suite"]).json()
        let regressions = try #require(json["regressions"] as? [[String: Any]])
        #expect(regressions.compactMap { $0["before_run"] as? String } == [ids[2]])
        #expect((json["new"] as? [Any])?.isEmpty == true)

        // Newer first: said; and runs of another environment are not comparable.
        let backwards = try testbed(["diff", ids[0], ids[2]], in: tree["suite"])
        #expect(backwards.stdout.contains("note: RUN_A is newer than RUN_B: comparing backwards\n"), "\(backwards.stdout)")
        #expect(!backwards.stdout.contains("not comparable"), "\(backwards.stdout)")
        let forwards = try testbed(["diff", ids[2], ids[0]], in: tree["suite"])
        #expect(!forwards.stdout.contains("note:"), "\(forwards.stdout)")

        // Two runs given are compared as they are: /flip is new in the third run against the partial one.
        let literal = try testbed(["diff", ids[1], ids[0]], in: tree["suite"])
        #expect(literal.stdout.contains("new tests (2)\n  /flip  - → fail\n  /skipped  - → skip\n"), "\(literal.stdout)")

        let page = try testbed(["report", "--html", tree["page.html"]], in: tree["suite"])
        #expect(page.status == 0, "\(page.stderr)")
        let html = try String(contentsOfFile: tree["page.html"], encoding: .utf8)
        #expect(html.contains("Regressions (1)"), "regressions in the dashboard")
        #expect(!html.contains("New tests (1)") && !html.contains("New tests (2)"), "new tests in the dashboard")

        // The latest run in another environment: diff falls back to the run before it, and says they are not comparable.
        try tree.write("suite/other.yaml", "facts:\n  kernel: 6.1.0-13\n")
        _ = try testbed(["run", "-e", "other.yaml", "."], in: tree["suite"])
        let elsewhere = try testbed(["diff", "--json"], in: tree["suite"]).json()
        #expect(elsewhere["from"] as? String == ids[0])
        #expect(elsewhere["notes"] as? [String] == ["these runs are on different hosts/environments: not comparable, showing what differs"])
    }
}

/// The history commands' refusals say what to do next.
@Suite("history commands: errors that point the way", .serialized, .timeLimit(.minutes(3)))
struct HistoryErrorTests {
    @Test("a prefix of test ids lists the tests under it; diff of the first run says to run again; runs point to `testbed runs`")
    func refusals() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  top: 'true'\n",
            "flaky/drop.sh": "#!/bin/sh\n# testbed-tags: flaky\nexit 0\n",
            "flaky/rerun.sh": "#!/bin/sh\n# testbed-tags: flaky\nexit 0\n",
        ], executables: ["flaky/drop.sh", "flaky/rerun.sh"])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        for command in ["history", "why"] {
            for asked in ["/flaky", "flaky", "/flaky/"] {
                let refused = try testbed([command, asked], in: tree.path)
                #expect(refused.status == 66, "\(command) \(asked): \(refused.stdout)")
                #expect(refused.stderr == "testbed: error: \(asked) is not a test id; tests under it: /flaky/drop.sh, /flaky/rerun.sh\n",
                        "\(command) \(asked): \(refused.stderr)")
            }
        }
        let diff = try testbed(["diff"], in: tree.path)
        #expect(diff.status == 66)
        #expect(diff.stderr.hasSuffix("is the first recorded run: nothing to compare it with; run again to have something to compare with\n"),
                "\(diff.stderr)")
        let missing = try testbed(["diff", "nosuchrun"], in: tree.path)
        #expect(missing.stderr.hasSuffix("; `testbed runs` lists the runs\n"), "\(missing.stderr)")
    }

    @Test("report where no testbed-results exists says so: where it looked, and that `testbed run` writes it at the suite root")
    func noResultsDirectory() throws {
        let tree = try TemporaryTree(["elsewhere/.keep": ""])
        let report = try testbed(["report"], in: tree["elsewhere"])
        #expect(report.status == 66)
        #expect(report.stderr == "testbed: error: no results directory: \(tree["elsewhere"])/testbed-results does not exist; "
            + "`testbed run` writes it at the suite root (or pass --results SUITE/testbed-results for a suite elsewhere)\n", "\(report.stderr)")
    }
}
