import Foundation
import Testing
import TestSupport

/// Issue 14, second review, findings 3 and 5: links in a suite to
/// directories outside it (`rootl -> /`, `procl -> /proc`, a sysroot in
/// another tree) are not walked, and a drop-in header written in another
/// case or with `_` is refused, not silently dropped.
@Suite("hostile suite walks: links outside the suite, header keys in another case", .serialized)
struct HostileSuiteWalkTests {
    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func warning(_ link: String, _ target: String) -> String {
        "testbed: warning: \(link) is a link to \(target), outside the suite; not walked "
            + "(name its target on the command line to run tests there)\n"
    }

    /// The reviewer's suite: one test, `sub/rootl -> /`, `procl -> /proc`,
    /// `sysroot -> OUTSIDE/ext` whose `x.sh` has a header and leaves
    /// OUTSIDE/ran when it runs.
    static func reviewersSuite() throws -> (suite: TemporaryTree, outside: TemporaryTree) {
        let outside = try TemporaryTree(["ext/x.sh": "#!/bin/sh\n# testbed-tags: foreign\ntouch \"$(dirname \"$0\")/../ran\"\n"],
                                        executables: ["ext/x.sh"])
        let suite = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n", "sub/t.sh": "#!/bin/sh\n# testbed-tags: mine\nexit 0\n"],
                                      executables: ["sub/t.sh"])
        try FileManager.default.createSymbolicLink(atPath: suite["sub/rootl"], withDestinationPath: "/")
        try FileManager.default.createSymbolicLink(atPath: suite["procl"], withDestinationPath: "/proc")
        try FileManager.default.createSymbolicLink(atPath: suite["sysroot"], withDestinationPath: outside["ext"])
        return (suite, outside)
    }

    @Test("rootl -> /, procl -> /proc, sysroot -> a tree outside: check, plan and run walk none of them, one warning each naming link, target and fix; the foreign x.sh never runs; the walk is fast")
    func linksOutsideNotWalked() throws {
        let (suite, outside) = try Self.reviewersSuite()
        let warnings = Self.warning("procl", "/proc") + Self.warning("sysroot", Self.realPath(outside["ext"]))
            + Self.warning("sub/rootl", "/")
        let (check, seconds) = try boundedTestbed(["check", "."], in: suite.path)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr == warnings, "\(check.stderr)")
        #expect(check.stdout.contains("runnable (2)\n  /a\n  /sub/t.sh\n\n"), "\(check.stdout)")
        #expect(seconds < 5, "neither / nor /proc is walked (\(seconds) s)")

        let plan = try boundedTestbed(["plan", "."], in: suite.path).result
        #expect(plan.status == 0 && plan.stderr == warnings, "\(plan.stderr)")
        #expect(plan.stdout.contains("1 setups") == false && plan.stdout.contains("2 tests"), "\(plan.stdout)")
        #expect(!plan.stdout.contains("x.sh"))

        let run = try boundedTestbed(["run", "-q", "."], in: suite.path).result
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.hasPrefix(warnings), "\(run.stderr)")
        #expect(run.stderr.components(separatedBy: "warning:").count == 4, "one warning per link: \(run.stderr)")
        #expect(run.stdout.contains("2 passed"), "\(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: outside["ran"]), "the foreign x.sh ran")

        // With errors in the suite the warnings still come, before them.
        try suite.write("bad/testbed.yaml", "tests:\n  b: {run: 'true', timout: 5}\n")
        let invalid = try boundedTestbed(["check", "."], in: suite.path).result
        #expect(invalid.status == 65)
        #expect(invalid.stderr.hasPrefix(warnings) && invalid.stderr.contains("bad/testbed.yaml:2: unknown key \"timout\""),
                "\(invalid.stderr)")
    }

    @Test("a path named on the command line through such a link is the user's: followed (x.sh runs), toward that path only")
    func namedThroughLink() throws {
        let (suite, outside) = try Self.reviewersSuite()
        let check = try boundedTestbed(["check", "sysroot"], in: suite.path).result
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("runnable (1)\n  /sysroot/x.sh\n"), "\(check.stdout)")
        #expect(!check.stderr.contains("sysroot is a link"), "the named link is not warned about: \(check.stderr)")

        // Through `rootl -> /` to the outside tree: only that tree is walked, fast.
        let deep = "sub/rootl" + Self.realPath(outside.path)
        let (named, seconds) = try boundedTestbed(["check", deep], in: suite.path)
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stdout.contains("runnable (1)\n  /\(deep)/ext/x.sh\n"), "\(named.stdout)")
        #expect(seconds < 5, "only the way to the named path is walked (\(seconds) s)")

        let run = try boundedTestbed(["run", "-q", "sysroot"], in: suite.path).result
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: outside["ran"]), "the named x.sh ran")

        // Naming the target itself, as the warning says.
        let target = try boundedTestbed(["check", outside["ext"]], in: suite.path).result
        #expect(target.status == 0 && target.stdout.contains("runnable (1)\n  /x.sh\n"), "\(target.stdout)\(target.stderr)")
        #expect(target.stderr.isEmpty, "\(target.stderr)")
    }

    @Test("links inside the suite are walked as today: each directory once, loops once, no warning; a /proc link back into the suite is inside")
    func linksInsideWalked() throws {
        let suite = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n", "a/t.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n"],
                                      executables: ["a/t.sh"])
        try FileManager.default.createSymbolicLink(atPath: suite["a/loop"], withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: suite["z-again"], withDestinationPath: "a")
        try FileManager.default.createSymbolicLink(atPath: suite["z-absolute"], withDestinationPath: suite["a"])
        // testbed runs in the suite: its cwd is the suite.
        try FileManager.default.createSymbolicLink(atPath: suite["z-cwd"], withDestinationPath: "/proc/self/cwd")
        for command in ["check", "plan"] {
            let result = try boundedTestbed([command, "."], in: suite.path).result
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty, "\(command): \(result.stderr)")
            #expect(result.stdout.components(separatedBy: "t.sh").count == 2, "one test /a/t.sh: \(result.stdout)")
            #expect(result.stdout.contains("/a/t.sh"), "\(result.stdout)")
        }
    }

    @Test("a /proc link to a directory no path leads to (the cwd of a process whose directory was removed) is outside: warned with what the link says, not walked")
    func deletedProcLink() throws {
        let suite = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        let scratch = try TemporaryTree(["gone/x.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n"], executables: ["gone/x.sh"])
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        sleeper.currentDirectoryURL = URL(fileURLWithPath: scratch["gone"])
        try sleeper.run()
        defer { kill(sleeper.processIdentifier, SIGKILL); sleeper.waitUntilExit() }
        try FileManager.default.removeItem(atPath: scratch["gone"])
        let link = "/proc/\(sleeper.processIdentifier)/cwd"
        try FileManager.default.createSymbolicLink(atPath: suite["ghost"], withDestinationPath: link)
        let result = try boundedTestbed(["check", "."], in: suite.path).result
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == Self.warning("ghost", link), "\(result.stderr)")
        #expect(result.stdout.contains("runnable (1)\n  /a\n"), "\(result.stdout)")
    }

    // MARK: - Header keys in another case

    @Test("# Testbed-Requires:, # TESTBED-REQUIRES:, # testbed_requires: and the like, even as a file's only header line: exit 65 naming file:line and the fix, for check, plan and run; nothing runs")
    func headerKeyInAnotherCase() throws {
        let script = { (header: String) in "#!/bin/sh\n\(header)\ntouch ran-$(basename \"$0\")\n" }
        let files = [
            "testbed.yaml": "tests:\n  a: 'true'\n",
            "a.sh": script("# Testbed-Requires: kernel >= 99"),
            "b.sh": script("# TESTBED-REQUIRES: kernel >= 99"),
            "c.sh": script("# testbed_requires: kernel >= 99"),
            "d.sh": script("# testbed-Requires: kernel >= 99"),
            "e.sh": script("# testbed-tags: quick\n// Testbed_Skip_Code: 77"),
            "f.sh": script("# TESTBED_REQUIRE: kernel >= 99"),
            // A variable Testbed sets, named in a comment: no header, no test.
            "g.sh": script("# TESTBED_OUTPUT_DIR: where the logs go"),
        ]
        let tree = try TemporaryTree(files, executables: Set(files.keys.filter { $0.hasSuffix(".sh") }))
        let expected = """
            testbed: error: a.sh:2: header key "Testbed-Requires" is written in another case or with _, so it would be ignored; write it testbed-requires:
            testbed: error: b.sh:2: header key "TESTBED-REQUIRES" is written in another case or with _, so it would be ignored; write it testbed-requires:
            testbed: error: c.sh:2: header key "testbed_requires" is written in another case or with _, so it would be ignored; write it testbed-requires:
            testbed: error: d.sh:2: header key "testbed-Requires" is written in another case or with _, so it would be ignored; write it testbed-requires:
            testbed: error: e.sh:3: header key "Testbed_Skip_Code" is written in another case or with _, so it would be ignored; write it testbed-skip-code:
            testbed: error: f.sh:2: unknown header key "TESTBED_REQUIRE"; did you mean "testbed-requires"?

            """
        for command in [["check", "."], ["plan", "."], ["run", "-q", "."]] {
            let result = try boundedTestbed(command, in: tree.path).result
            #expect(result.status == 65, "\(command): \(result.status) \(result.stderr)")
            #expect(result.stderr == expected, "\(command): \(result.stderr)")
        }
        let ran = try FileManager.default.contentsOfDirectory(atPath: tree.path).filter { $0.hasPrefix("ran-") }
        #expect(ran.isEmpty, "\(ran)")

        // Written as Testbed reads it, each is a test; g.sh is still none.
        for name in ["a.sh", "b.sh", "c.sh", "d.sh", "f.sh"] { try tree.write(name, script("# testbed-requires: kernel >= 99"), executable: true) }
        try tree.write("e.sh", script("# testbed-tags: quick\n// testbed-skip-code: 77"), executable: true)
        let fixed = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("(7 tests)"), "\(fixed.stdout)")
        #expect(!fixed.stdout.contains("g.sh"), "\(fixed.stdout)")
    }
}
