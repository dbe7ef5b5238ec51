import Foundation
import Testing
import TestSupport

@Suite("Off a terminal, a long step is named while it runs")
struct HeartbeatTests {
    @Test("--heartbeat 1s: a step running past it is named once, then again on each beat with how long it has run")
    func heartbeat() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  slow: 'sleep 3.5'\n  quick: 'true'\n"])
        let result = try testbed(["run", ".", "-j", "1", "--plan-order", "--heartbeat", "1s"], in: tree.path)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("running (") } == ["running (1s): /slow"], "\(result.stderr)")
        let beats = lines.filter { $0.hasPrefix("still running (") }
        #expect((1...3).contains(beats.count) && beats.allSatisfy { $0.hasSuffix("): /slow") }, "\(result.stderr)")
        #expect(beats.last.map { ["2s", "3s"].contains(where: $0.contains) } == true, "how long it has run grows: \(beats)")
        // Named before it finished, in the order things happened.
        let named = try #require(lines.firstIndex(of: "running (1s): /slow"))
        let passed = try #require(lines.firstIndex { $0.hasPrefix("PASS /slow") })
        #expect(named < passed)
        #expect(!lines.contains { $0.contains("/quick") && $0.contains("running") }, "a quick test is never named: \(result.stderr)")
    }

    @Test("--heartbeat 0 and a step shorter than 5 s by default: no heartbeat lines")
    func quiet() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  slow: 'sleep 1.5'\n"])
        for arguments in [["--heartbeat", "0"], []] {
            let result = try testbed(["run", ".", "-j", "1"] + arguments, in: tree.path)
            #expect(result.status == 0 && !result.stderr.contains("running ("), "\(arguments): \(result.stderr)")
        }
        let bad = try testbed(["run", ".", "--heartbeat", "soon"], in: tree.path)
        #expect(bad.status == 64)
        #expect(bad.stderr.hasPrefix("Error: --heartbeat soon is not a duration; \(durationForms); or 0 for none\n"), "\(bad.stderr)")
    }
}
