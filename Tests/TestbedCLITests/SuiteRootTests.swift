import Foundation
import Testing
import TestSupport

/// A suite whose root declares the setup a sub-folder's tests need: the
/// shape of `examples/` (`examples/image` needs `scratch-disk` from
/// `examples/testbed.yaml`).
let rootedSuite: [String: String] = [
    "suite/testbed.yaml": """
        setups:
          scratch:
            run: 'echo made > "$TESTBED_RUN_DIR/disk"'
            provides: ["disk:scratch"]
        tests:
          top: 'true'
        """,
    "suite/image/testbed.yaml": """
        tests:
          qcow:
            run: 'test -f "$TESTBED_RUN_DIR/disk"'
            requires: ["disk:scratch"]
        """,
    "suite/image/boot.sh": "#!/bin/sh\n# testbed-requires: disk:scratch\ntest -f \"$TESTBED_RUN_DIR/disk\"\n",
    "suite/image/notes.txt": "not a test\n",
    "suite/images/testbed.yaml": "tests:\n  other: 'true'\n",
    "lone/t.sh": "#!/bin/sh\nexit 0\n",
    "other/testbed.yaml": "tests:\n  elsewhere: 'true'\n",
]

func rootedTree() throws -> TemporaryTree {
    try TemporaryTree(rootedSuite, executables: ["suite/image/boot.sh", "lone/t.sh"])
}

/// The ids and statuses of `check --json`.
func checked(_ arguments: [String], in directory: String) throws -> (status: Int32, ids: [String], statuses: Set<String>, stderr: String) {
    let result = try testbed(["check", "--json"] + arguments, in: directory)
    guard result.status == 0 else { return (result.status, [], [], result.stderr) }
    let tests = try #require(try result.json()["tests"] as? [[String: Any]])
    return (result.status, tests.compactMap { $0["id"] as? String }, Set(tests.compactMap { $0["status"] as? String }), result.stderr)
}

@Suite("a suite is one whole, however you point at it", .serialized)
struct SuiteRootTests {
    @Test("a sub-folder, a testbed.yaml or a drop-in loads the whole suite and selects its part, ids from the root", arguments: [
        ("", ["suite/image"], ["/image/qcow", "/image/boot.sh"]),
        ("", ["suite/image/"], ["/image/qcow", "/image/boot.sh"]),
        ("", ["suite/image/testbed.yaml"], ["/image/qcow"]),
        ("", ["suite/image/boot.sh"], ["/image/boot.sh"]),
        ("", ["suite/images"], ["/images/other"]),                     // /image does not select /images
        ("", ["suite/image", "suite/images"], ["/image/qcow", "/image/boot.sh", "/images/other"]),
        ("", ["suite/image", "--id", "/image/q*"], ["/image/qcow"]),    // path AND --id
        ("", ["suite", "--id", "/image"], ["/image/qcow", "/image/boot.sh"]),
        ("suite/image", [], ["/image/qcow", "/image/boot.sh"]),         // the current directory
        ("suite/image", ["boot.sh"], ["/image/boot.sh"]),
        ("suite/image", [".."], ["/top", "/image/qcow", "/image/boot.sh", "/images/other"]),
    ])
    func selects(directory: String, arguments: [String], ids: [String]) throws {
        let tree = try rootedTree()
        let result = try checked(arguments, in: tree[directory])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.ids == ids)
        #expect(!result.statuses.contains("unsupported"), "the root's setup provides disk:scratch: \(result.statuses)")
    }

    @Test("check, plan and run say which root they used, relative to the current directory when below it")
    func firstLines() throws {
        let tree = try rootedTree()
        let check = try testbed(["check", "suite/image"], in: tree.path)
        #expect(check.stdout.hasPrefix("environment: local (this host, probed), suite: suite (2 of its 4 tests: those under /image)\n"), "\(check.stdout)")
        let whole = try testbed(["check", "suite"], in: tree.path)
        #expect(whole.stdout.hasPrefix("environment: local (this host, probed), suite: suite\n"), "\(whole.stdout)")
        let above = try testbed(["check"], in: tree["suite/image"])
        #expect(above.stdout.hasPrefix("environment: local (this host, probed), suite: \(tree["suite"]) (2 of its 4 tests: those under /image)\n"),
                "\(above.stdout)")
        let plan = try testbed(["plan", "suite/image/boot.sh"], in: tree.path)
        #expect(plan.stdout.hasPrefix("plan for environment local, suite suite (/image/boot.sh): 2 steps (1 setup, 1 test, 0 teardowns)\n"),
                "\(plan.stdout)")
        let two = try testbed(["check", "suite", "other"], in: tree.path)
        #expect(two.stdout.hasPrefix("environment: local (this host, probed), suites: suite, other\n"), "\(two.stdout)")
        let lone = try testbed(["check", "lone/t.sh"], in: tree.path)
        #expect(lone.stdout.hasPrefix("environment: local (this host, probed)\n"), "no suite around a standalone executable: \(lone.stdout)")
    }

    @Test("run of a sub-folder runs the root's setup, passes, and keeps its results at the root")
    func runSubFolder() throws {
        let tree = try rootedTree()
        let run = try testbed(["run", "suite/image"], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let first = run.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("testbed: run "), "\(run.stderr)")
        #expect(first.contains(" on local, suite suite (2 of its 4 tests: those under /image): 2 tests, -j "), "\(first)")
        #expect(run.stdout.contains("2 passed"), "\(run.stdout)")
        #expect(FileManager.default.fileExists(atPath: tree["suite/testbed-results/testbed.sqlite"]))
        #expect(!FileManager.default.fileExists(atPath: tree["testbed-results"]))
        #expect(!FileManager.default.fileExists(atPath: tree["suite/image/testbed-results"]))
        let reported = try report(tree.path, ["--results", "suite/testbed-results"])
        #expect(reported.outcomes == ["/image/qcow": "pass", "/image/boot.sh": "pass"])
        #expect(reported.setup("scratch").first?["outcome"] as? String == "ok")

        // From inside the sub-folder, one drop-in: the same ids, the same results, one history.
        let again = try testbed(["run", "boot.sh"], in: tree["suite/image"])
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree["suite/image/testbed-results"]))
        let list = try testbed(["report", "--list"], in: tree["suite/image"])
        #expect(list.status == 0, "report finds the results at the suite root: \(list.stderr)")
        #expect(list.stdout.split(separator: "\n").count == 2, "\(list.stdout)")
        #expect(try report(tree["suite/image"]).outcomes == ["/image/boot.sh": "pass"])
        // Above the suite there is no suite root to find: the error says where to look.
        let above = try testbed(["report"], in: tree.path)
        #expect(above.status == 66)
        #expect(above.stderr.contains("testbed-results does not exist; `testbed run` writes it at the suite root "
            + "(or pass --results SUITE/testbed-results for a suite elsewhere)"),
                "\(above.stderr)")
    }

    @Test("`root: true` stops the walk: the sub-suite is a suite of its own, with its own ids and results")
    func rootTrue() throws {
        let tree = try rootedTree()
        try tree.write("suite/lab/testbed.yaml", "root: true\ntests:\n  t:\n    run: 'true'\n    requires: [\"disk:scratch\"]\n")
        let own = try checked(["suite/lab"], in: tree.path)
        #expect(own.ids == ["/t"])
        #expect(own.statuses == ["unsupported"], "the outer suite's setup is not part of this one")
        let text = try testbed(["check", "suite/lab"], in: tree.path)
        #expect(text.stdout.hasPrefix("environment: local (this host, probed), suite: suite/lab\n"), "\(text.stdout)")
        let run = try testbed(["run", "suite/lab"], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: tree["suite/lab/testbed-results/testbed.sqlite"]))
        // Named from above, it stays a suite of its own: the outer suite leaves it out, its ids stay its own.
        let outer = try checked(["suite", "--id", "/lab"], in: tree.path)
        #expect(outer.ids == [])
        let both = try checked(["suite/image", "suite/lab"], in: tree.path)
        #expect(both.ids == ["/image/qcow", "/image/boot.sh", "/t"])
        try tree.write("suite/lab/testbed.yaml", "root: maybe\ntests:\n  t: 'true'\n")
        let invalid = try testbed(["check", "suite/lab"], in: tree.path)
        #expect(invalid.status == 65)
        #expect(invalid.stderr.contains("testbed: error: suite/lab/testbed.yaml:1: root must be true or false, not \"maybe\""), "\(invalid.stderr)")
    }

    @Test("in a git work tree, a folder deep below the suite's testbed.yaml (none in between) is still part of it; nothing above the work tree is")
    func gitWorkTree() throws {
        let tree = try TemporaryTree([
            "home/testbed.yaml": "tests: [\n",   // broken, and not this suite's business
            "home/repo/.git/HEAD": "ref: refs/heads/main\n",
            "home/repo/suite/testbed.yaml": "setups:\n  scratch:\n    run: 'true'\n    provides: [\"disk:scratch\"]\n",
            "home/repo/suite/deep/a/b/testbed.yaml": "tests:\n  deepyaml:\n    run: 'true'\n    requires: [\"disk:scratch\"]\n",
            "home/repo/suite/deep/a/b/deep.sh": "#!/bin/sh\n# testbed-requires: disk:scratch\nexit 0\n",
        ], executables: ["home/repo/suite/deep/a/b/deep.sh"])
        let deep = try checked(["home/repo/suite/deep/a/b"], in: tree.path)
        #expect(deep.status == 0, "\(deep.stderr)")
        #expect(deep.ids == ["/deep/a/b/deepyaml", "/deep/a/b/deep.sh"])
        #expect(deep.statuses == ["needs-setup"])
        let run = try testbed(["run", "home/repo/suite/deep/a/b"], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: tree["home/repo/suite/testbed-results/testbed.sqlite"]))
        #expect(!FileManager.default.fileExists(atPath: tree["home/repo/suite/deep/a/b/testbed-results"]))
    }

    @Test("an executable in no suite stays a standalone test; results go to ./testbed-results")
    func standalone() throws {
        let tree = try rootedTree()
        let run = try testbed(["run", "lone/t.sh"], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains(" on local: 1 test, -j "), "\(run.stderr)")
        #expect(try report(tree.path).outcomes == ["/lone/t.sh": "pass"])
    }

    @Test("paths in two suites: each loaded once, results in ./testbed-results")
    func twoRoots() throws {
        let tree = try rootedTree()
        let run = try testbed(["run", "suite/images", "other", "suite/images/testbed.yaml"], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains(" on local, suites suite (1 of its 4 tests: those under /images, those of images/testbed.yaml), other: 2 tests"),
                "\(run.stderr)")
        #expect(try report(tree.path).outcomes == ["/images/other": "pass", "/elsewhere": "pass"])
        #expect(!FileManager.default.fileExists(atPath: tree["suite/testbed-results"]))
    }

    @Test("a named file inside a suite is still the test itself: not executable is refused, missing is a usage error")
    func namedFiles() throws {
        let tree = try rootedTree()
        let notExecutable = try testbed(["run", "suite/image/notes.txt"], in: tree.path)
        #expect(notExecutable.status == 65)
        #expect(notExecutable.stderr.contains("testbed: error: suite/image/notes.txt: is not executable, so it cannot run as a test; chmod +x it"),
                "\(notExecutable.stderr)")
        let missing = try testbed(["check", "suite/image/gone.sh"], in: tree.path)
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("suite/image/gone.sh does not exist"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree["suite/testbed-results"]))
    }

    @Test("--help says where results go and where report looks")
    func help() throws {
        // Help text is wrapped to the terminal: compare with the spaces collapsed.
        func words(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        let run = words(try testbed(["run", "--help"]).stdout)
        #expect(run.contains("default: testbed-results at the suite root when every path lies in one suite, else ./testbed-results"), "\(run)")
        let report = words(try testbed(["report", "--help"]).stdout)
        #expect(report.contains("default: ./testbed-results if it exists, else testbed-results at the root of the suite around the current directory"),
                "\(report)")
    }
}
