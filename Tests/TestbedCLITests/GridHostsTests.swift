import Foundation
import Testing
import TestSupport

/// Whether a Slurm grid is there to test against (CI brings the local grid up and exports SLURM_CONF).
let slurmGridIsUp = ProcessInfo.processInfo.environment["SLURM_CONF"].map { !$0.isEmpty } ?? false

/// `testbed hosts --grid slurm --json`: each node's JSON, by name.
func gridNodes() throws -> [String: [String: Any]] {
    let listed = try testbed(["hosts", "--grid", "slurm", "--json"])
    #expect(listed.status == 0, "\(listed.stderr)")
    let nodes = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stdout)")
    var byName: [String: [String: Any]] = [:]
    for node in nodes { if let name = node["name"] as? String { byName[name] = node } }
    return byName
}

/// Polls until `node` has `status` (a node just resumed is briefly not responding): true when it did within 20 s.
func waitForStatus(_ node: String, _ status: String) throws -> Bool {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        if try gridNodes()[node]?["status"] as? String == status { return true }
        Thread.sleep(forTimeInterval: 0.25)
    }
    return false
}

/// `testbed hosts` on the grid SLURM_CONF names (scripts/local-grid: node1 lab_a, node2 lab_b,gpu, node3); each test
/// leaves the nodes as it found them (online).
@Suite(.serialized, .enabled(if: slurmGridIsUp, "needs a Slurm grid: eval \"$(scripts/local-grid up)\""))
struct GridHostsTests {
    @Test func listsTheThreeNodesOnlineWithTheirFeatures() throws {
        for node in ["node1", "node2", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        let nodes = try gridNodes()
        #expect(nodes.keys.sorted() == ["node1", "node2", "node3"])
        #expect((nodes["node2"]?["features"] as? [String])?.prefix(2) == ["lab_b", "gpu"])
        let text = try testbed(["hosts", "--grid", "slurm"])
        let lines = text.stdout.split(separator: "\n")
        #expect(text.status == 0 && lines.first?.hasPrefix("NAME   STATUS  REASON") == true, "\(text.stdout)\(text.stderr)")
        #expect(lines.count == 4 && lines.dropFirst().allSatisfy { $0.contains(" online ") }, "\(text.stdout)")
    }

    @Test func aNodeDrainedByARunIsHaltedUntilResumed() throws {
        let run = "20261130-074100-ab12"
        let drained = try runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node3", "State=DRAIN",
                                                      "Reason=testbed: setup boot failed in run \(run)"])
        #expect(drained.status == 0, "\(drained.stderr)")
        defer { _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node3", "State=RESUME"]) }
        let node3 = try #require(try gridNodes()["node3"])
        #expect(node3["status"] as? String == "halted")
        #expect(node3["run"] as? String == run)
        #expect(node3["reason"] as? String == "testbed: setup boot failed in run \(run)")
        let since = try #require(node3["since"] as? String)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let when = try #require(format.date(from: since), "\(since)")
        #expect(abs(when.timeIntervalSinceNow) < 60, "\(since)")
        let text = try testbed(["hosts", "--grid", "slurm"])
        let row = text.stdout.split(separator: "\n").first { $0.hasPrefix("node3") }.map(String.init) ?? ""
        #expect(row.contains(" halted ") && row.contains(run), "\(text.stdout)")

        let resumed = try testbed(["hosts", "resume", "node3"])
        #expect(resumed.status == 0 && resumed.stdout.hasPrefix("resumed node3"), "\(resumed.stdout)\(resumed.stderr)")
        #expect(try waitForStatus("node3", "online"))
    }

    @Test func resumeOfAnOnlineNodeSaysItsStatus() throws {
        #expect(try waitForStatus("node1", "online"))
        let refused = try testbed(["hosts", "resume", "node1"])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("node node1 is online (IDLE), not halted"), "\(refused.stderr)")
    }

    @Test func anUnknownNodeGetsADidYouMean() throws {
        let unknown = try testbed(["hosts", "resume", "nod3"])
        #expect(unknown.status == 64, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("no Slurm node nod3; did you mean node3?"), "\(unknown.stderr)")
    }

    @Test func drainByAnAdminHaltsWithTestbedsPrefix() throws {
        let drained = try testbed(["hosts", "drain", "node2", "--reason", "fan broken"])
        #expect(drained.status == 0, "\(drained.stderr)")
        defer { _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node2", "State=RESUME"]) }
        let node2 = try #require(try gridNodes()["node2"])
        #expect(node2["status"] as? String == "halted" && node2["reason"] as? String == "testbed: fan broken", "\(node2)")
        #expect(node2["run"] is NSNull)
        #expect(try testbed(["hosts", "resume", "node2"]).status == 0)
        #expect(try waitForStatus("node2", "online"))
    }
}

@Suite struct GridHostsWithoutGridTests {
    @Test func withoutSlurmConfTheListSaysHowToGetAGrid() throws {
        let listed = try testbed(["hosts", "--grid", "slurm"], in: packageRoot.path, with: ["SLURM_CONF": ""])
        #expect(listed.status == 2, "\(listed.stderr)")
        #expect(listed.stderr.contains("SLURM_CONF is not set") && listed.stderr.contains("scripts/local-grid up"), "\(listed.stderr)")
    }
}

/// Enrolment on the grid SLURM_CONF names (in the same serialized suite: a drained node would be skipped); the
/// nodes' features are set back to the local grid's after.
extension GridHostsTests {
    /// The local grid's features (scripts/local-grid).
    static let configured = ["node1": "lab_a", "node2": "lab_b,gpu", "node3": ""]

    func restoreFeatures() { Self.restoreFeatures() }

    /// Sets every node's features back to the local grid's (an enrolment added its own), and waits (at most 20 s) until
    /// sinfo shows them: Slurm may refuse the change while a job that asked for one of them still runs there.
    static func restoreFeatures() {
        _ = eventually(within: 20) {
            for (node, features) in configured {
                _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=\(node)", "AvailableFeatures=\(features)",
                                                     "ActiveFeatures=\(features)"])
            }
            let listed = (try? runProgram("/usr/bin/env", ["sinfo", "-h", "-N", "-o", "%N %f"]))?.stdout ?? ""
            return configured.allSatisfy { node, features in
                listed.split(separator: "\n").contains { $0 == "\(node) \(features.isEmpty ? "(null)" : features)" }
            }
        }
    }

    /// sinfo's features of each node.
    func sinfoFeatures() throws -> [String: String] {
        let listed = try runProgram("/usr/bin/env", ["sinfo", "-h", "-N", "-o", "%N %f"])
        var features: [String: String] = [:]
        for line in listed.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { features[String(parts[0])] = String(parts[1]) }
        }
        return features
    }

    @Test func enrollSetsFeaturesFromFactsAndTagsAndRecordsTheHost() throws {
        restoreFeatures()
        defer { restoreFeatures() }
        let tree = try TemporaryTree(["lab.yaml": "provides: [DELL_R420, bad-tag]\n"])
        let enrolled = try testbed(["hosts", "enroll", "--node", "node2", "-e", tree["lab.yaml"], "--results", tree["results"]], in: tree.path)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        #expect(enrolled.stderr.contains("node2: left out of the features: bad-tag"), "\(enrolled.stderr)")
        let features = try sinfoFeatures()["node2"] ?? ""
        #expect(features.hasPrefix("lab_b,gpu,DELL_R420,") && features.contains("arch_"), "\(features)")
        #expect(features.contains("kernel_"), "\(features)")
        let listed = try testbed(["hosts", "--grid", "slurm", "--json", "--results", tree["results"]], in: tree.path)
        let nodes = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        let node2 = try #require(nodes.first { $0["name"] as? String == "node2" })
        #expect(node2["enrolled"] is String, "\(node2)")
        #expect(nodes.first { $0["name"] as? String == "node1" }?["enrolled"] is NSNull)

        // Again without the tag: DELL_R420 (derived before) goes, slurm.conf's lab_b,gpu stay.
        let again = try testbed(["hosts", "enroll", "--node", "node2", "--results", tree["results"]], in: tree.path)
        #expect(again.status == 0, "\(again.stderr)")
        let after = try sinfoFeatures()["node2"] ?? ""
        #expect(after.hasPrefix("lab_b,gpu,") && !after.contains("DELL_R420"), "\(after)")
    }

    @Test func enrollAllRunsOneJobPerNode() throws {
        defer { restoreFeatures() }
        for node in ["node1", "node2", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        let tree = try TemporaryTree()
        let enrolled = try testbed(["hosts", "enroll", "--all", "--results", tree["results"]], in: tree.path)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        let lines = enrolled.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines.allSatisfy { $0.contains(" ok (job ") }, "\(enrolled.stdout)")
        let features = try sinfoFeatures()
        #expect(["node1", "node2", "node3"].allSatisfy { features[$0]?.contains("arch_") == true }, "\(features)")
        let listed = try testbed(["hosts", "--grid", "slurm", "--json", "--results", tree["results"]], in: tree.path)
        let nodes = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(nodes.count == 3 && nodes.allSatisfy { $0["enrolled"] is String }, "\(listed.stdout)")
    }

    @Test(.enabled(if: testDatabaseServer != nil, "needs TESTBED_TEST_DATABASE"))
    func enrollAllRecordsInPostgreSQL() throws {
        defer { restoreFeatures() }
        for node in ["node1", "node2", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        let database = try PostgresCommandsTests.database()
        let tree = try TemporaryTree()
        // The jobs get the URL in their environment only (testbed() drops any TESTBED_DATABASE of the test process).
        let enrolled = try testbed(["hosts", "enroll", "--all", "--database", database, "--results", tree["results"]], in: tree.path)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree["results"] + "/testbed.sqlite"))
        // Read from another, empty results directory: the rows are in PostgreSQL.
        let listed = try testbed(["hosts", "--grid", "slurm", "--json", "--database", database, "--results", tree["elsewhere"]], in: tree.path)
        #expect(listed.status == 0, "\(listed.stderr)")
        let nodes = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stdout)")
        #expect(nodes.count == 3 && nodes.allSatisfy { $0["enrolled"] is String }, "\(listed.stdout)")
        let withoutDatabase = try testbed(["hosts", "--grid", "slurm", "--json", "--results", tree["results"]], in: tree.path)
        let bare = try #require(JSONSerialization.jsonObject(with: Data(withoutDatabase.stdout.utf8)) as? [[String: Any]])
        #expect(bare.allSatisfy { $0["enrolled"] is NSNull }, "\(withoutDatabase.stdout)")
    }

    @Test func enrollOfAnUnknownNodeSuggestsTheNearest() throws {
        let tree = try TemporaryTree()
        let enrolled = try testbed(["hosts", "enroll", "--node", "node9", "--results", tree["results"]], in: tree.path)
        #expect(enrolled.status == 64 && enrolled.stderr.contains("no Slurm node node9; did you mean node1?"), "\(enrolled.stderr)")
    }
}
