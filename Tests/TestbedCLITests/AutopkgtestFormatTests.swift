import Foundation
import Testing
import TestSupport

/// An autopkgtest (DEP-8) source tree, written from autopkgtest's README.package-tests, run by the built binary.
@Suite("autopkgtest suites, end to end")
struct AutopkgtestFormatTests {
    /// Every restriction Testbed maps, each with a small test.
    static let control = """
    # Tests of a made-up source package, one stanza per restriction.
    Tests: plain, as-root
    Restrictions: needs-root

    Tests: noisy
    # no allow-stderr: a line on stderr fails the test

    Tests: noisy-allowed
    Restrictions: allow-stderr

    Tests: skipper
    Restrictions: skippable

    Tests: not-skippable

    Test-Command: test -d "$AUTOPKGTEST_TMP" && test -d "$AUTOPKGTEST_ARTIFACTS" && test -f debian/tests/control
     && [ "$ADTTMP" = "$AUTOPKGTEST_TMP" ] && [ "$DEBIAN_FRONTEND" = noninteractive ]
     && echo kept > "$AUTOPKGTEST_ARTIFACTS/kept.txt"
    Features: test-name=env-check

    Test-Command: echo installed already
    Depends: coreutils

    Test-Command: echo dirty
    Restrictions: breaks-testbed

    Test-Command: echo reboot
    Restrictions: needs-reboot

    Test-Command: echo online
    Restrictions: needs-internet, superficial, rw-build-tree, hint-testsuite-triggers

    Test-Command: echo machine
    Restrictions: isolation-machine

    Test-Command: echo container
    Restrictions: isolation-container

    Test-Command: echo broken; exit 1
    Features: test-name=wobbly
    Restrictions: flaky

    Test-Command: true
    Restrictions: some-future-restriction
    """

    static func tree() throws -> TemporaryTree {
        try TemporaryTree([
            "debian/tests/control": control,
            "debian/tests/plain": "#!/bin/sh\necho plain\n",
            "debian/tests/as-root": "#!/bin/sh\n[ \"$(id -u)\" = 0 ]\n",
            "debian/tests/noisy": "#!/bin/sh\necho 'warning: something' >&2\necho done\n",
            "debian/tests/noisy-allowed": "#!/bin/sh\necho 'warning: allowed' >&2\n",
            "debian/tests/skipper": "#!/bin/sh\necho 'no widget here'\nexit 77\n",
            "debian/tests/not-skippable": "#!/bin/sh\necho 'no widget here'\nexit 77\n",
        ], executables: ["debian/tests/plain", "debian/tests/as-root", "debian/tests/noisy", "debian/tests/noisy-allowed",
                         "debian/tests/skipper", "debian/tests/not-skippable"])
    }

    @Test("check lists every test of the control file, and why the unsupported ones cannot run here")
    func check() throws {
        let tree = try Self.tree()
        let checked = try testbed(["check", "--json", "."], in: tree.path)
        let json = try checked.json()
        let tests = try #require(json["tests"] as? [[String: Any]])
        let ids = tests.compactMap { $0["id"] as? String }
        #expect(ids == ["/plain", "/as-root", "/noisy", "/noisy-allowed", "/skipper", "/not-skippable", "/env-check", "/command1",
                        "/command2", "/command3", "/command4", "/command5", "/command6", "/wobbly", "/command7"], "\(checked.stdout)")
        func unmet(_ id: String) -> [String] {
            let test = tests.first { $0["id"] as? String == id } ?? [:]
            return (test["unmet"] as? [[String: Any]] ?? []).compactMap { $0["requirement"] as? String }
        }
        #expect(unmet("/command2") == ["dirties"])
        #expect(unmet("/command3") == ["autopkgtest:needs-reboot"])
        #expect(unmet("/command4") == ["internet"])
        #expect(unmet("/command5") == ["isolation:machine"])
        #expect(unmet("/command6") == ["isolation:container | isolation:machine"])
        #expect(unmet("/command7") == ["autopkgtest:some-future-restriction"])
        let text = try testbed(["check", "."], in: tree.path)
        #expect(text.stdout.contains("needs autopkgtest:needs-reboot"), "\(text.stdout)")

        // An environment that says this host is a throw-away machine with internet makes those runnable.
        try tree.write("lab.yaml", "provides: [isolation:machine, internet]\n")
        let lab = try testbed(["check", "--json", "-e", "lab.yaml", "."], in: tree.path)
        let labTests = try #require(try lab.json()["tests"] as? [[String: Any]])
        for id in ["/command4", "/command5", "/command6"] {
            #expect(labTests.first { $0["id"] as? String == id }?["status"] as? String == "runnable", "\(id): \(lab.stdout)")
        }
    }

    @Test("run: stderr without allow-stderr fails, exit 77 skips only when skippable, Depends already installed is satisfied")
    func run() throws {
        let tree = try Self.tree()
        let ran = try testbed(["run", "."], in: tree.path)
        #expect(ran.status == 1, "\(ran.stdout)\(ran.stderr)")
        let reported = try report(tree.path)
        let outcomes = reported.outcomes
        #expect(outcomes["/plain"] == "pass")
        #expect(outcomes["/as-root"] == "pass")
        #expect(outcomes["/noisy"] == "fail")
        #expect((reported.test("/noisy")["reason"] as? String ?? "").contains("allow-stderr"), "\(reported.test("/noisy"))")
        #expect(outcomes["/noisy-allowed"] == "pass")
        #expect(outcomes["/skipper"] == "skip")
        #expect(outcomes["/not-skippable"] == "fail")
        #expect(outcomes["/env-check"] == "pass", "\(reported.test("/env-check"))")
        #expect(outcomes["/command1"] == "pass")
        #expect(reported.setup("depends-1").first?["outcome"] as? String == "satisfied", "\(reported.setups)")
        for id in ["/command2", "/command3", "/command4", "/command5", "/command6", "/command7"] {
            #expect(outcomes[id] == "unsupported", "\(id)")
        }
        #expect(outcomes["/wobbly"] == "fail")
        let mark = reported.test("/wobbly")["flaky"] as? [String: Any]
        #expect(mark?["kind"] as? String == "forgiven", "\(reported.test("/wobbly"))")
        // The noisy test's stderr is in its log, and the artifacts directory is kept in the results.
        let artifacts = try FileManager.default.subpathsOfDirectory(atPath: tree["testbed-results"]).filter { $0.hasSuffix("kept.txt") }
        #expect(artifacts.count == 1, "\(artifacts)")
    }

    @Test("--format autopkgtest reads the control file even beside a testbed.yaml")
    func forced() throws {
        let tree = try Self.tree()
        try tree.write("testbed.yaml", "tests:\n  own: 'true'\n")
        let own = try testbed(["check", "--json", "."], in: tree.path)
        let ownIDs = try #require(try own.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(ownIDs == ["/own"])
        let forced = try testbed(["check", "--json", "--format", "autopkgtest", "."], in: tree.path)
        let forcedIDs = try #require(try forced.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(forcedIDs.first == "/plain", "\(forced.stdout)\(forced.stderr)")
        #expect(!forcedIDs.contains("/own"))
    }

    @Test("a bad stanza is an error naming the control file and line")
    func badStanza() throws {
        let tree = try TemporaryTree([
            "debian/tests/control": "Tests: a\n\nTest-Command: true\nTests: b\n\nRestrictions: needs-root\n",
            "debian/tests/a": "#!/bin/sh\n",
        ], executables: ["debian/tests/a"])
        let checked = try testbed(["check", "."], in: tree.path)
        #expect(checked.status == 65, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stderr.contains("debian/tests/control:3"), "\(checked.stderr)")
        #expect(checked.stderr.contains("debian/tests/control:6"), "\(checked.stderr)")
    }
}
