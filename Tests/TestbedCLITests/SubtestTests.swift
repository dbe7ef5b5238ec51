import Foundation
import Testing
import TestSupport

/// Subtests end to end: a suite's tests declare their output protocol; `testbed run` records what their output
/// reports, `report --json`, JUnit (read back by junitparser), the text report and `history --json` show it.
@Suite("subtests: TAP, KTAP, kvm-unit-tests and GoogleTest output recorded and reported", .serialized)
struct SubtestTests {
    static let suite = [
        "testbed.yaml": """
            tests:
              tap:
                protocol: tap
                run: |
                  echo 'TAP version 14'
                  echo '1..3'
                  echo 'ok 1 - boots'
                  echo 'not ok 2 - migrates'
                  echo 'ok 3 - reboots # SKIP no second host'
              ktap:
                protocol: ktap
                run: |
                  echo 'KTAP version 1'
                  echo '1..1'
                  echo '    KTAP version 1'
                  echo '    # Subtest: example'
                  echo '    1..2'
                  echo '    ok 1 example_simple_test'
                  echo '    ok 2 example_skip_test # SKIP not on this machine'
                  echo 'ok 1 example'
              kut:
                protocol: kvm-unit-tests
                run: |
                  echo 'PASS: apic: self-IPI'
                  echo 'FAIL: apic: x2apic: lvt timer'
                  echo 'SKIP: pmu: counters (PMU not supported)'
                  echo 'SUMMARY: 3 tests, 1 unexpected failures, 1 skipped'
                  exit 1
              gtest:
                protocol: gtest
                run: |
                  echo '[ RUN      ] Math.Adds'
                  echo '[       OK ] Math.Adds (0 ms)'
                  echo '[ RUN      ] Math.Skips'
                  echo '[  SKIPPED ] Math.Skips (0 ms)'
              plain: 'echo "not ok 1 - ignored: exitcode tests are not read"'
            """,
    ]

    /// The tests of `report --json`, by id.
    static func reported(_ tree: TemporaryTree) throws -> [String: [String: Any]] {
        let json = try testbed(["report", "--json"], in: tree.path).json()
        let tests = try #require(json["tests"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: tests.map { ($0["id"] as? String ?? "", $0) })
    }

    /// `[name outcome reason]` of a test's `subtests`.
    static func subtests(_ test: [String: Any]?) -> [String] {
        (test?["subtests"] as? [[String: Any]] ?? []).map {
            "\($0["name"] as? String ?? "?") \($0["outcome"] as? String ?? "?")" + (($0["reason"] as? String).map { " [\($0)]" } ?? "")
        }
    }

    @Test("report --json: each test's subtests and counts; a TAP test that exits 0 with a not ok fails, naming it")
    func json() throws {
        let tree = try TemporaryTree(Self.suite)
        let result = try testbed(["run", "."], in: tree.path)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let tests = try Self.reported(tree)
        #expect(tests["/tap"]?["outcome"] as? String == "fail")
        #expect(tests["/tap"]?["reason"] as? String == "subtest migrates failed though it exited 0")
        #expect(Self.subtests(tests["/tap"]) == ["boots pass", "migrates fail", "reboots skip [no second host]"])
        #expect(tests["/tap"]?["subtest_counts"] as? [String: Int] == ["pass": 1, "fail": 1, "skip": 1, "xfail": 0])
        #expect(tests["/ktap"]?["outcome"] as? String == "pass")
        #expect(Self.subtests(tests["/ktap"]) == [
            "example/example_simple_test pass", "example/example_skip_test skip [not on this machine]", "example pass",
        ])
        #expect(tests["/kut"]?["outcome"] as? String == "fail")
        #expect(Self.subtests(tests["/kut"]) == [
            "apic: self-IPI pass", "apic: x2apic: lvt timer fail [FAIL: apic: x2apic: lvt timer]",
            "pmu: counters (PMU not supported) skip [PMU not supported]",
        ])
        #expect(tests["/gtest"]?["outcome"] as? String == "pass")
        #expect(Self.subtests(tests["/gtest"]) == ["Math.Adds pass", "Math.Skips skip"])
        #expect(tests["/plain"]?["outcome"] as? String == "pass")
        #expect(tests["/plain"]?["subtests"] == nil && tests["/plain"]?["subtest_counts"] == nil)
        // The text report: the failed subtests under their test.
        let text = try testbed(["report"], in: tree.path).stdout
        #expect(text.contains("/tap  fail  subtest migrates failed though it exited 0\n      ✗ subtest migrates\n"), "\(text)")
        #expect(text.contains("  /kut  fail  exit 1: subtest apic: x2apic: lvt timer failed\n"
                              + "      ✗ subtest apic: x2apic: lvt timer\n"), "\(text)")
    }

    @Test("JUnit: each subtest a test case of its own (classname: its test's id), read back by junitparser")
    func junit() throws {
        let tree = try TemporaryTree(Self.suite)
        _ = try testbed(["run", "."], in: tree.path)
        let reported = try testbed(["report", "--junit"], in: tree.path).stdout
        try reported.write(toFile: tree["reported.xml"], atomically: true, encoding: .utf8)
        let parsed = try run("/usr/bin/env", [try FailureTailTests.python(), "-c", """
            import sys, json
            from junitparser import JUnitXml
            out = []
            for suite in JUnitXml.fromfile(sys.argv[1]):
                for case in suite:
                    out.append(" | ".join([case.classname, case.name] + [type(r).__name__ + ": " + (r.message or "") for r in case.result]))
            print(json.dumps(out))
            """, tree["reported.xml"]])
        #expect(parsed.status == 0, "junitparser: \(parsed.output)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String])
        #expect(shown.contains("/tap | boots"), "\(shown)")
        #expect(shown.contains("/tap | migrates | Failure: failed"), "\(shown)")
        #expect(shown.contains { $0 == "/tap | reboots | Skipped: skip: no second host" }, "\(shown)")
        #expect(shown.contains { $0 == "/kut | apic: x2apic: lvt timer | Failure: FAIL: apic: x2apic: lvt timer" })
        #expect(shown.contains("/gtest | Math.Adds"), "\(shown)")
        #expect(!shown.contains { $0.hasPrefix("/plain | ") })
    }

    @Test("history --json: each run's subtest counts; history's text names the failed ones")
    func history() throws {
        let tree = try TemporaryTree(Self.suite)
        _ = try testbed(["run", "."], in: tree.path)
        _ = try testbed(["run", "."], in: tree.path)
        let json = try testbed(["history", "/tap", "--json"], in: tree.path)
        let data = try #require(json.stdout.data(using: .utf8))
        let object = try JSONSerialization.jsonObject(with: data)
        let entries = (object as? [[String: Any]]) ?? ((object as? [String: Any])?["runs"] as? [[String: Any]]) ?? []
        #expect(entries.count == 2, "\(json.stdout)")
        for entry in entries {
            #expect(entry["subtests"] as? [String: Int] == ["pass": 1, "fail": 1, "skip": 1, "xfail": 0], "\(entry)")
        }
        let text = try testbed(["history", "/tap"], in: tree.path).stdout
        #expect(text.contains("1 of 3 subtests failed: migrates"), "\(text)")
    }

    @Test("100,000 TAP lines: recorded bounded (10,000 kept, every one counted), quickly")
    func bounded() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
                tests:
                  many:
                    protocol: tap
                    run: |
                      awk 'BEGIN { print "1..100000"; for (i = 1; i <= 100000; i++) printf "ok %d - case %d\\n", i, i }'
                """,
        ])
        let started = Date()
        let result = try testbed(["run", "."], in: tree.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        let tests = try Self.reported(tree)
        #expect((tests["/many"]?["subtests"] as? [Any])?.count == 10_000)
        #expect(tests["/many"]?["subtest_counts"] as? [String: Int] == ["pass": 100_000, "fail": 0, "skip": 0, "xfail": 0])
    }
}
