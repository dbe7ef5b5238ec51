import Foundation
import Testing
import TestSupport

/// The fake kvm-unit-tests tree of `FieldTrees`, its `check` paths under the tree.
func fakeKVMUnitTests(configured: Bool = true) throws -> TemporaryTree {
    let (files, executables) = FieldTrees.kvmUnitTests(configured: configured)
    let tree = try TemporaryTree(files, executables: executables)
    try tree.write("x86/unittests.cfg", FieldTrees.kvmUnitTestsConfig(root: tree.path))
    return tree
}

/// `testbed ARGUMENTS` with these variables added to the environment.
func testbed(_ arguments: [String], in directory: String, with variables: [String: String]) throws -> Result {
    try testbed(variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [testbedBinary] + arguments, in: directory,
                executable: "/usr/bin/env")
}

/// Each test's outcome and reason from `report --json` of the latest run in `results`.
func outcomes(results: String, in directory: String) throws -> [String: (outcome: String, reason: String)] {
    let report = try testbed(["report", "--json", "--results", results], in: directory)
    let tests = try #require(try report.json()["tests"] as? [[String: Any]])
    var found: [String: (outcome: String, reason: String)] = [:]
    for test in tests {
        guard let id = test["id"] as? String, let outcome = test["outcome"] as? String else { continue }
        found[id] = (outcome, test["reason"] as? String ?? "")
    }
    return found
}

@Suite("kvm-unit-tests and kselftest trees, run as their own runners run them", .serialized)
struct FieldFormatTests {
    @Test("check under ACCEL=tcg: every unsupported test with every unmet requirement; nodefault left out unless selected")
    func check() throws {
        let tree = try fakeKVMUnitTests()
        let result = try testbed(["check", "--json", tree.path], in: tree.path, with: ["ACCEL": "tcg", "MACHINE": "pc"])
        #expect(result.status == 0, "\(result.stderr)")
        let tests = try #require(try result.json()["tests"] as? [[String: Any]])
        let ids = tests.compactMap { $0["id"] as? String }
        #expect(!ids.contains("/x86/manual"))
        #expect(ids.count == 14)
        var unmet: [String: [String]] = [:]
        for test in tests where test["status"] as? String == "unsupported" {
            unmet[test["id"] as? String ?? ""] = (test["unmet"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        }
        #expect(unmet.keys.sorted() == ["/x86/kvm-only", "/x86/machine", "/x86/other-arch"])
        #expect(unmet["/x86/kvm-only"]?.first == "needs env:ACCEL == kvm; this host has tcg")
        #expect(unmet["/x86/machine"] == ["needs env:MACHINE == q35; this host has pc"])
        let other = try #require(unmet["/x86/other-arch"])
        #expect(other.count == 2)
        #expect(other.last == "needs file:/nonexistent/parameters/flag == Y; /nonexistent/parameters/flag is not readable on this host")
        let manual = try testbed(["check", "--json", tree.path, "--tag", "slow"], in: tree.path)
        #expect(try #require(try manual.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String } == ["/x86/manual"])
        let byID = try testbed(["check", "--json", tree.path, "--id", "/x86/manual"], in: tree.path)
        #expect(try #require(try byID.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String } == ["/x86/manual"])
    }

    @Test("run under ACCEL=tcg: outcomes as run_tests.sh maps exit codes; the command line the runner builds")
    func run() throws {
        let tree = try fakeKVMUnitTests(configured: false)
        let results = tree.path + "/results"
        let result = try testbed(["run", "-j", "2", "--results", results, tree.path], in: tree.path, with: ["ACCEL": "tcg"])
        #expect(result.status != 0, "a test failed")
        #expect(FileManager.default.fileExists(atPath: tree.path + "/built"), "the build setup ran make")
        #expect(FileManager.default.fileExists(atPath: tree.path + "/config.mak"), "and ./configure first")
        let found = try outcomes(results: results, in: tree.path)
        let verdicts = found.mapValues(\.outcome)
        #expect(verdicts == [
            "/x86/pass": "pass", "/x86/fail": "fail", "/x86/abort": "fail", "/x86/skip": "skip", "/x86/kvm-only": "unsupported",
            "/x86/tcg-only": "pass", "/x86/other-arch": "unsupported", "/x86/checked": "pass", "/x86/migrate": "pass",
            "/x86/disabled": "skip", "/x86/refused": "skip", "/x86/slow": "fail", "/x86/machine": "pass", "/x86/multi": "pass",
        ])
        #expect(found["/x86/disabled"]?.reason.hasSuffix("disabled because: [[ \"$TARGET\" != qemu ]]") == true)
        #expect(found["/x86/refused"]?.reason.hasSuffix("-cpu refuse-tcg: this CPU model is not supported by TCG") == true)
        #expect(found["/x86/abort"]?.reason.hasPrefix("exit 127") == true)
        #expect(found["/x86/slow"]?.reason.hasPrefix("exit 124") == true, "the tree's own timeout, as run_tests.sh")
        let log = { (id: String) in
            (try? String(contentsOfFile: "\(results)/latest/tests/x86~\(id)/output.log", encoding: .utf8)) ?? ""
        }
        #expect(log("pass").contains("run: TESTNAME=pass ACCEL=tcg MACHINE= TIMEOUT=30 MIGRATION= PANIC="))
        #expect(log("pass").contains("arg: -smp\narg: 2\narg: -append\narg: one two\narg: -cpu\narg: max\narg: -m\narg: 256\n"))
        #expect(log("migrate").contains("MIGRATION=yes"))
        #expect(log("multi").contains("arg: -device\narg: first\narg: -device\narg: second\n"))
        #expect(log("fail").contains("FAIL: two"))
    }

    @Test("--format forces a format: a testbed.yaml beside the tree's files wins unless it is forced")
    func forced() throws {
        let tree = try fakeKVMUnitTests()
        try tree.write("testbed.yaml", "tests:\n  own: 'true'\n")
        let own = try testbed(["check", "--json", tree.path], in: tree.path)
        #expect(try #require(try own.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String } == ["/own"])
        let forced = try testbed(["check", "--json", "--format", "kvm-unit-tests", tree.path], in: tree.path)
        let ids = try #require(try forced.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(ids.first == "/x86/pass")
        let wrong = try testbed(["check", "--format", "kselftest", tree.path], in: tree.path)
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("kselftest-list.txt"))
    }

    @Test("kselftest: each listed test runs in its collection; exit 4 skips; its settings' timeout")
    func kselftest() throws {
        let (files, executables) = FieldTrees.kselftest()
        let tree = try TemporaryTree(files, executables: executables)
        let results = tree.path + "/results"
        let result = try testbed(["run", "-j", "2", "--results", results, tree.path], in: tree.path,
                                 with: ["KSELFTEST_WHERE_ARGS": "-a two"])
        #expect(result.status != 0)
        let found = try outcomes(results: results, in: tree.path)
        #expect(found.mapValues(\.outcome) == [
            "/alpha/passes": "pass", "/alpha/fails": "fail", "/alpha/skips": "skip", "/alpha/hangs": "timeout", "/beta/deep/where": "pass",
            "/beta/deep/plain.sh": "pass", "/beta/deep/data": "fail",
        ])
        let log = { (name: String) in
            (try? String(contentsOfFile: "\(results)/latest/tests/beta~deep~\(name)/output.log", encoding: .utf8)) ?? ""
        }
        #expect(log("where").hasSuffix("/beta/deep\nargs: -a two\n"))
        #expect(log("plain.sh") == "# Warning: file ./plain.sh is not executable\nrun by its interpreter\n")
        #expect(log("data") == "# Warning: file ./data is not executable\n")
    }
}
