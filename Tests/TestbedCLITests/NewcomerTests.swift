import Foundation
import Testing
import TestSupport

/// A suite as a newcomer writes it from docs/first-suite.md: a setup, tests in
/// `testbed.yaml`, drop-ins under `net/`, an environment file, and a `setup/`
/// folder that holds only the setup's scripts.
private func newcomerSuite() throws -> TemporaryTree {
    try TemporaryTree([
        "testbed.yaml": """
            setups:
              listener:
                run: setup/start.sh
                provides: ["service:http"]
            tests:
              fetch-token:
                run: "true"
                requires: ["service:http"]
              wrong-token:
                run: ./check-token.sh
              future-kernel:
                run: "true"
                requires: ["kernel >= 99.0"]
            """,
        "check-token.sh": "#!/bin/sh\nexit 1\n",
        "setup/start.sh": "#!/bin/sh\nexit 0\n",
        "net/ping.sh": "#!/bin/sh\n# testbed-tags: net, quick\necho ping\n",
        "net/port.sh": "#!/bin/sh\n# testbed-tags: net\necho port\n",
        "environments/mylab.yaml": "description: my lab\nprovides: [MY_LAB_SWITCH]\nfacts:\n  scratch-space: 20G\n",
    ], executables: ["check-token.sh", "setup/start.sh", "net/ping.sh", "net/port.sh"])
}

@Suite("what a newcomer tripped on: sub-folders, -e, files that cannot run, ids given as paths")
struct NewcomerTests {
    @Test("from a sub-folder, check and run say how many of the suite's tests the folder selects")
    func subFolderHeader() throws {
        let tree = try newcomerSuite()
        let check = try testbed(["check"], in: tree["net"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.hasPrefix("environment: local (this host, probed), suite: \(tree.path) (2 of its 5 tests: those under /net)\n"),
                "\(check.stdout)")
        let run = try testbed(["run", "--results", tree["r"]], in: tree["net"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("suite \(tree.path) (2 of its 5 tests: those under /net): 2 tests, -j "), "\(run.stderr)")
        let whole = try testbed(["check"], in: tree.path)
        #expect(whole.stdout.hasPrefix("environment: local (this host, probed), suite: .\n"), "\(whole.stdout)")
    }

    @Test("an --id or -k that matches only tests outside the sub-folder says so, and how to reach them")
    func idOutsideSubFolder() throws {
        let tree = try newcomerSuite()
        let id = try testbed(["check", "--id", "/wrong-token"], in: tree["net"])
        #expect(id.status == 4)
        #expect(id.stderr.contains("testbed: warning: --id /wrong-token selects none of those under /net (the path narrows the selection "
            + "to them); it matches /wrong-token elsewhere in the suite: name the suite root (`testbed check --id /wrong-token ..`) "
            + "or run from it\n"), "\(id.stderr)")
        let keyword = try testbed(["run", "-k", "token"], in: tree["net"])
        #expect(keyword.status == 4)
        #expect(keyword.stderr.contains("-k token selects none of those under /net (the path narrows the selection to them); it matches "
            + "/fetch-token (and 1 more) elsewhere in the suite: name the suite root (`testbed run -k token ..`) or run from it"),
                "\(keyword.stderr)")
        // What the hint says works.
        let reached = try testbed(["check", "--id", "/wrong-token", ".."], in: tree["net"])
        #expect(reached.status == 0 && reached.stdout.contains("  /wrong-token\n"), "\(reached.stdout)\(reached.stderr)")
    }

    @Test("a sub-folder without tests: run prints the suite line and why nothing is selected, as check does")
    func emptySubFolder() throws {
        let tree = try newcomerSuite()
        let run = try testbed(["run"], in: tree["setup"])
        #expect(run.status == 4)
        #expect(run.stderr == """
            testbed: suite \(tree.path) (0 of its 5 tests: those under /setup)
            testbed: no tests selected: none of the suite's 5 tests is among those under /setup; name the suite root (`testbed run ..`) or run from it

            """, "\(run.stderr)")
        let check = try testbed(["check"], in: tree["setup"])
        #expect(check.status == 4)
        #expect(check.stdout.hasSuffix(
            "no tests selected: none of the suite's 5 tests is among those under /setup; name the suite root (`testbed check ..`) or run from it\n"),
                "\(check.stdout)")
        let filtered = try testbed(["check", "--tag", "nosuchtag"], in: tree.path)
        #expect(filtered.stdout.contains("no tests selected: --tag, --id and -k match none of the 5 tests the path selects"), "\(filtered.stdout)")
    }

    @Test("-e is looked for from the current directory, then from the suite root; -e NAME is environments/NAME.yaml", arguments: [
        "environments/mylab.yaml", "mylab", "../environments/mylab.yaml",
    ])
    func environmentFromSubFolder(option: String) throws {
        let tree = try newcomerSuite()
        let check = try testbed(["check", "-e", option], in: tree["net"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.hasPrefix("environment: mylab (my lab), suite: "), "\(check.stdout)")
    }

    @Test("a missing -e file lists the suite's environment files, never one the suite lacks")
    func missingEnvironment() throws {
        let tree = try newcomerSuite()
        try tree.write("environments/other.yaml", "description: other\n")
        let missing = try testbed(["run", "-e", "nothing-like-these"], in: tree["net"])
        #expect(missing.status == 64)
        #expect(missing.stderr.hasPrefix("Error: environment file nothing-like-these does not exist here nor at the suite root \(tree.path); "
            + "the suite's environment files: environments/mylab.yaml, environments/other.yaml (-e NAME names environments/NAME.yaml)\n"),
                "\(missing.stderr)")
        #expect(!missing.stderr.contains("lab-r420"))
        let near = try testbed(["check", "-e", "mylb"], in: tree["net"])
        #expect(near.stderr.hasPrefix("Error: environment file mylb does not exist here nor at the suite root \(tree.path); "
            + "did you mean -e mylab (\(tree.path)/environments/mylab.yaml)?\n"), "\(near.stderr)")
    }

    @Test("a file with a testbed- header but no execute bit is a warning in check and run, not dropped without a word")
    func headerWithoutExecuteBit() throws {
        let tree = try newcomerSuite()
        try tree.write("net/closed.sh", "#!/bin/sh\n# testbed-tags: net\nexit 0\n")
        try tree.write("net/notes.txt", "# testbed-tags: net\n")
        let warning = "testbed: warning: net/closed.sh:2: has a testbed- header but is not executable, so it is not a test; chmod +x it\n"
        let check = try testbed(["check"], in: tree.path)
        #expect(check.status == 0)
        #expect(check.stderr.contains(warning), "\(check.stderr)")
        #expect(!check.stderr.contains("notes.txt"), "only files named like scripts are read: \(check.stderr)")
        let run = try testbed(["run", "--id", "/net"], in: tree.path)
        #expect(run.stderr.contains(warning), "\(run.stderr)")
    }

    @Test("check notes a run: line whose program is not executable, and a drop-in without #!")
    func notesForCertainErrors() throws {
        let tree = try newcomerSuite()
        try tree.write("closed.sh", "#!/bin/sh\nexit 0\n")
        try tree.write("net/bare.sh", "echo no interpreter line\n# testbed-tags: net\n", executable: true)
        try tree.write("testbed.yaml", try String(contentsOfFile: tree["testbed.yaml"], encoding: .utf8) + "\n  closed:\n    run: ./closed.sh\n")
        let check = try testbed(["check", "--json"], in: tree.path)
        let tests = try #require(check.json()["tests"] as? [[String: Any]])
        let notes = Dictionary(uniqueKeysWithValues: tests.map { ($0["id"] as? String ?? "", $0["notes"] as? [String] ?? []) })
        #expect(notes["/closed"] == ["./closed.sh is not executable, so the test cannot start it (error when it runs); chmod +x it"])
        #expect(notes["/net/bare.sh"] == [
            "the file has no #! line and is not a binary, so it cannot start (error when it runs); add one such as #!/bin/sh",
        ])
        #expect(notes["/net/ping.sh"] == [] && notes["/wrong-token"] == [], "\(notes)")
        // What the notes foretell.
        let run = try testbed(["run", "--id", "/closed", "--id", "/net/bare.sh"], in: tree.path)
        #expect(run.status == 1)
        #expect(run.stdout.contains("permission denied") && run.stdout.contains("no #! line"), "\(run.stdout)")
    }

    @Test("a test id given as a path says to use --id, or -k for part of one", arguments: [
        ("/wrong-token", "/wrong-token does not exist; it is a test id, not a path: use --id /wrong-token"),
        ("wrong-token", "wrong-token does not exist; it is a test id, not a path: use --id /wrong-token"),
        ("kernel", "kernel does not exist; it is part of test ids (/future-kernel), not a path: use -k kernel"),
    ])
    func idAsPath(path: String, message: String) throws {
        let tree = try newcomerSuite()
        let run = try testbed(["run", path], in: tree.path)
        #expect(run.status == 64)
        #expect(run.stderr.hasPrefix("Error: \(message)\nUsage: testbed run "), "\(run.stderr)")
        let fromFolder = try testbed(["check", path], in: tree["net"])
        #expect(fromFolder.stderr.hasPrefix("Error: \(message)\n"), "\(fromFolder.stderr)")
    }

    @Test("`=>` in a requirement asks whether `>=` was meant")
    func swappedOperator() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [\"kernel => 99.0\"]\n"])
        let check = try testbed(["check"], in: tree.path)
        #expect(check.status == 65)
        #expect(check.stderr.contains("`=>` is not an operator at column 8; did you mean `>=`? write `kernel >= 99.0`"), "\(check.stderr)")
    }

    @Test("a fact named both in provides: and facts: of an environment is a warning naming both lines")
    func providesAndFacts() throws {
        let tree = try newcomerSuite()
        try tree.write("environments/both.yaml", "provides:\n  - \"scratch-space = 5G\"\nfacts:\n  scratch-space: 20G\n")
        let check = try testbed(["check", "-e", "both"], in: tree.path)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr.contains("testbed: warning: environments/both.yaml:4: fact scratch-space is declared in provides: (line 2) "
            + "and again in facts:; this one (20G) is used; keep one"), "\(check.stderr)")
    }

    @Test("durations take the words people write, and a refused one lists the accepted forms")
    func durationWords() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  a:\n    run: 'true'\n    timeout: 10 minutes\n",
            "b.sh": "#!/bin/sh\n# testbed-timeout: 1 hour 30 min\nexit 0\n",
        ], executables: ["b.sh"])
        let check = try testbed(["check"], in: tree.path)
        #expect(check.status == 0, "\(check.stderr)")
        try tree.write("testbed.yaml", "tests:\n  a:\n    run: 'true'\n    timeout: 10 minutez\n")
        let refused = try testbed(["check"], in: tree.path)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("timeout of test /a is \"10 minutez\", not a duration; \(durationForms); or 0 for no limit"),
                "\(refused.stderr)")
    }

    @Test("the top-level help's exit codes include run's 1 and 3")
    func topLevelExitCodes() throws {
        let help = try testbed(["--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("Exit codes: 0 fine, 1 a test failed (run), 2 an infrastructure failure (run) or"), "\(help)")
        #expect(help.contains("3 both 1 and 2 (run), 4 nothing selected"), "\(help)")
    }

    @Test("report --list --json lists the runs as JSON; report --results on a directory that does not exist says so")
    func reportListAndMissingResults() throws {
        let tree = try newcomerSuite()
        _ = try testbed(["run", "--id", "/net"], in: tree.path)
        let list = try testbed(["report", "--list", "--json"], in: tree.path)
        #expect(list.status == 0, "\(list.stderr)")
        let runs = try #require(list.json()["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        #expect(runs.first?["state"] as? String == "complete" && runs.first?["exit_code"] as? Int == 0, "\(runs)")
        #expect((runs.first?["directory"] as? String)?.hasPrefix(tree["testbed-results/"]) == true, "\(runs)")
        let missing = try testbed(["report", "--results", tree["nowhere"]], in: tree.path)
        #expect(missing.status == 66)
        #expect(missing.stderr == "testbed: error: results directory \(tree["nowhere"]) does not exist; name the directory `testbed run` "
            + "wrote (default: testbed-results at the suite root)\n", "\(missing.stderr)")
        let both = try testbed(["report", "--list", "--junit"], in: tree.path)
        #expect(both.status == 64)
    }

    @Test("a misspelt fact name's did-you-mean is in the unsupported reason; a compared unknown name is pointed at facts:")
    func unknownNamesInReasons() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              typo:
                run: 'true'
                requires: ["kernal >= 99.0"]
              space:
                run: 'true'
                requires: ["scratch-space >= 1G"]
            """])
        let check = try testbed(["check"], in: tree.path)
        #expect(check.stdout.contains("      needs kernal >= 99.0; kernal is not present on this host; did you mean kernel?\n"), "\(check.stdout)")
        #expect(check.stderr.contains("\"scratch-space\" is no fact Testbed probes, the environment declares or a setup provides (1 test; "
            + "declare it in an environment file's facts: (scratch-space: VALUE) if the lab has it)"), "\(check.stderr)")
        let run = try testbed(["run"], in: tree.path)
        #expect(run.stdout.contains("did you mean kernel?"), "the summary's reason too: \(run.stdout)")
    }

    @Test("a value an environment file declares is said to be declared there, with its file and line, not had by this host")
    func declaredValuesInReasons() throws {
        let tree = try newcomerSuite()
        try tree.write("testbed.yaml", "tests:\n  big:\n    run: 'true'\n    requires: [\"scratch-space >= 100G\"]\n"
            + "  unswitched:\n    run: 'true'\n    requires: [\"!MY_LAB_SWITCH\"]\n")
        let check = try testbed(["check", "-e", "mylab"], in: tree.path)
        #expect(check.stdout.contains("      needs scratch-space >= 100G; the environment declares 20G (environments/mylab.yaml:4)\n"),
                "\(check.stdout)")
        #expect(check.stdout.contains("      needs !MY_LAB_SWITCH; the environment declares MY_LAB_SWITCH (environments/mylab.yaml:2)\n"),
                "\(check.stdout)")
    }
}
