import Foundation
import Testing
import TestSupport

/// A suite of four tests, beside a directory and an environment file whose names invite typos.
private func typoTree() throws -> TemporaryTree {
    try TemporaryTree([
        "examples/testbed.yaml": """
            tests:
              migration/precopy/tcp: 'true'
              migration/precopy/unix: 'true'
              migration/postcopy/tcp: 'true'
              boot/quick: 'true'
            """,
        "environments/lab-r420.yaml": "name: lab-r420\nfacts:\n  kernel: \"6.1\"\n",
    ])
}

/// The usage lines ArgumentParser prints after an error of `testbed check`.
/// check's usage line: with --grid, --results and --database it is too long for ArgumentParser to spell out.
private let checkUsage = """
    Usage: testbed check [<options>] [<suite> ...]
      See 'testbed check --help' for more information.

    """

@Suite("a CLI that forgives typos", .serialized)
struct CLITypoTests {
    @Test("--version prints the version and exits 0")
    func version() throws {
        let result = try testbed(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "0.17.0\n")
        #expect(result.stderr.isEmpty)
    }

    @Test("a misspelt long option names the option meant, with the subcommand's usage, exit 64", arguments: [
        (["check", "--tags", "quick", "examples"], "--tags", "--tag"),
        (["check", "--tags=quick", "examples"], "--tags", "--tag"),
        (["check", "examples", "--jsn"], "--jsn", "--json"),
        (["check", "--enviroment", "environments/lab-r420.yaml", "examples"], "--enviroment", "--environment"),
    ])
    func misspeltOption(arguments: [String], written: String, meant: String) throws {
        let tree = try typoTree()
        let result = try testbed(arguments, in: tree.path)
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "Error: unknown option '\(written)'; did you mean '\(meant)'?\n" + checkUsage)
    }

    @Test("a misspelt option of plan and run names theirs", arguments: [
        (["plan", "--dott", "examples"], "plan", "--dott", "--dot"),
        (["run", "--exit-code", "bisect", "examples"], "run", "--exit-code", "--exit-codes"),
    ])
    func misspeltOptionOfOtherCommands(arguments: [String], command: String, written: String, meant: String) throws {
        let tree = try typoTree()
        let result = try testbed(arguments, in: tree.path)
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("Error: unknown option '\(written)'; did you mean '\(meant)'?\nUsage: testbed \(command) "))
        #expect(result.stderr.hasSuffix("\n  See 'testbed \(command) --help' for more information.\n"))
    }

    @Test("an option far from every known one keeps ArgumentParser's own error")
    func unknownOption() throws {
        let tree = try typoTree()
        let result = try testbed(["check", "examples", "--zzzzzzzz"], in: tree.path)
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("Error: Unknown option '--zzzzzzzz'\n"))
    }

    @Test("a value after -- is never taken for a misspelt option")
    func afterDoubleDash() throws {
        let tree = try typoTree()
        try tree.directory("--tags")
        let result = try testbed(["check", "--", "--tags"], in: tree.path)
        #expect(!result.stderr.contains("did you mean"))
    }

    @Test("a misspelt subcommand names the one meant, exit 64", arguments: [("rn", "run"), ("chek", "check"), ("prob", "probe")])
    func misspeltSubcommand(written: String, meant: String) throws {
        let result = try testbed([written, "examples"])
        #expect(result.status == 64)
        #expect(result.stderr == """
            Error: unknown subcommand '\(written)'; did you mean '\(meant)'?
            Usage: testbed <subcommand>
              See 'testbed --help' for more information.

            """)
    }

    @Test("a misspelt suite path names the nearest existing sibling, exit 64")
    func misspeltSuitePath() throws {
        let tree = try typoTree()
        let result = try testbed(["check", "exmaples"], in: tree.path)
        #expect(result.status == 64)
        #expect(result.stderr == "Error: exmaples does not exist; did you mean examples?\n" + checkUsage)
        let nested = try testbed(["check", "\(tree.path)/exampels/"], in: tree.path)
        #expect(nested.status == 64)
        #expect(nested.stderr.hasPrefix("Error: \(tree.path)/exampels/ does not exist; did you mean \(tree.path)/examples?\n"))
        let far = try testbed(["check", "nothing-like-it"], in: tree.path)
        #expect(far.stderr.hasPrefix(
            "Error: nothing-like-it does not exist; name a suite directory, a testbed.yaml or an executable test\n"))
    }

    @Test("a missing --environment file is an error of the subcommand, with its usage, exit 64")
    func missingEnvironment() throws {
        let tree = try typoTree()
        let missing = try testbed(["check", "-e", "missing.yaml", "examples"], in: tree.path)
        #expect(missing.status == 64)
        #expect(missing.stderr == "Error: environment file missing.yaml does not exist here nor at the suite root examples; "
            + "write one (environments/NAME.yaml at the suite root, see docs/environments.md) or leave out -e to probe this host\n"
            + checkUsage)
        let misspelt = try testbed(["check", "-e", "environments/lab-r42.yaml", "examples"], in: tree.path)
        #expect(misspelt.status == 64)
        #expect(misspelt.stderr == "Error: environment file environments/lab-r42.yaml does not exist here nor at the suite root examples; "
            + "did you mean environments/lab-r420.yaml?\n" + checkUsage)
        let probe = try testbed(["probe", "-e", "missing.yaml"], in: tree.path)
        #expect(probe.status == 64)
        #expect(probe.stderr.contains("Usage: testbed probe "))
    }

    @Test("run --exit-codes bisect still exits 125 for a missing environment file")
    func missingEnvironmentUnderBisect() throws {
        let tree = try typoTree()
        let result = try testbed(["run", "--exit-codes", "bisect", "-e", "missing.yaml", "examples"], in: tree.path)
        #expect(result.status == 125)
        #expect(result.stderr == "testbed: error: environment file missing.yaml does not exist here nor at the suite root examples; "
            + "write one (environments/NAME.yaml at the suite root, see docs/environments.md) or leave out -e to probe this host\n")
    }

    @Test("under run --exit-codes bisect a misspelt option stops git bisect: 128, with run's usage")
    func misspeltOptionUnderBisect() throws {
        let tree = try typoTree()
        let result = try testbed(["run", "--exit-codes", "bisect", "--tagz", "quick", "examples"], in: tree.path)
        #expect(result.status == 128)
        #expect(result.stderr == """
            Error: unknown option '--tagz'; did you mean '--tag'?
            Usage: testbed run [<options>] [<suite> ...]
              See 'testbed run --help' for more information.

            """)
    }

    @Test("-k WORD selects the ids containing WORD; with / or a glob it is an --id pattern", arguments: [
        (["-k", "precopy"], ["/migration/precopy/tcp", "/migration/precopy/unix"]),
        (["-k", "tcp"], ["/migration/precopy/tcp", "/migration/postcopy/tcp"]),
        (["-k", "tcp", "-k", "quick"], ["/migration/precopy/tcp", "/migration/postcopy/tcp", "/boot/quick"]),
        (["-k", "tcp", "-k", "quick", "-k", "unix"], ["/migration/precopy/tcp", "/migration/precopy/unix", "/migration/postcopy/tcp",
                                                    "/boot/quick"]),
        (["-k", "/boot"], ["/boot/quick"]),
        (["-k", "/migration/*/tcp"], ["/migration/precopy/tcp", "/migration/postcopy/tcp"]),
        (["--id", "precopy"], []),  // --id is unchanged: a prefix from the root
    ])
    func keyword(arguments: [String], ids: [String]) throws {
        let tree = try typoTree()
        let result = try testbed(["check", "--json", "examples"] + arguments, in: tree.path)
        if ids.isEmpty {
            #expect(result.status == 4)
            return
        }
        #expect(result.status == 0, "\(result.stderr)")
        let tests = try #require(try result.json()["tests"] as? [[String: Any]])
        #expect(Set(tests.compactMap { $0["id"] as? String }) == Set(ids))
    }

    @Test("--help documents -k")
    func keywordHelp() throws {
        let result = try testbed(["check", "--help"])
        #expect(result.stdout.contains("-k <word>"))
        #expect(result.stdout.contains("as pytest's -k"))
    }

    @Test("an --id or -k that selects nothing names the nearest ids, exit 4")
    func unmatchedIDs() throws {
        let tree = try typoTree()
        let result = try testbed(["check", "examples", "--id", "/migraton", "--id", "/boot/quik", "-k", "precopi", "-k", "zzzzzz"],
                                 in: tree.path)
        #expect(result.status == 4)
        #expect(result.stderr == """
            testbed: warning: --id /migraton selects no test; did you mean --id /migration?
            testbed: warning: --id /boot/quik selects no test; did you mean --id /boot/quick?
            testbed: warning: -k precopi selects no test; did you mean -k precopy?
            testbed: warning: -k zzzzzz selects no test; `testbed check --json` lists the ids

            """)
        #expect(result.stdout.hasSuffix("no tests selected: --tag, --id and -k match none of the 4 tests the path selects; "
            + "check them (`testbed check --json` lists the ids; -k WORD selects the ids containing WORD)\n"), "\(result.stdout)")
    }

    @Test("an --id that selects tests says nothing of the others")
    func matchedIDs() throws {
        let tree = try typoTree()
        let result = try testbed(["check", "examples", "--id", "/boot", "--id", "/migraton"], in: tree.path)
        #expect(result.status == 0)
        #expect(!result.stderr.contains("selects no test"))
    }
}
