import Foundation
import Testing

@testable import Grid

/// Output captured from the local grid (`scripts/local-grid up`, Slurm 22.05.8) under `Fixtures/`.
func fixture(_ name: String) throws -> String {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    return try String(contentsOfFile: path, encoding: .utf8)
}

/// A time of slurmctld's (local time), as the parser reads it.
func slurmTime(_ text: String) -> Date? { GridNode.reasonTimeFormat.date(from: text) }

@Suite struct GridNodeTests {
    @Test func idleNodesReadWithTheirFeaturesAndAreOnline() throws {
        let nodes = try GridNode.parse(scontrolShowNode: fixture("scontrol-show-node-idle.txt"))
        #expect(nodes.map(\.name) == ["node1", "node2", "node3"])
        #expect(nodes.map(\.states) == [["IDLE"], ["IDLE"], ["IDLE"]])
        #expect(nodes[1].availableFeatures == ["lab_b", "gpu"])
        #expect(nodes[1].activeFeatures == ["lab_b", "gpu"])
        #expect(nodes[2].availableFeatures.isEmpty)
        #expect(nodes.allSatisfy { $0.status == .online && $0.reason == nil })
    }

    @Test func valuesWithSpacesRunToTheNextKey() throws {
        let line = try fixture("scontrol-show-node-idle.txt").split(separator: "\n")[0]
        let pairs = GridNode.keyValues(String(line))
        #expect(pairs["OS"] == "Linux 6.18.44-fc-v857 #1 SMP PREEMPT_DYNAMIC @0")
        #expect(pairs["RealMemory"] == "1000")
        #expect(pairs["AllocTRES"] == "")
    }

    @Test func drainedNodeWithTestbedsReasonIsHaltedByItsRun() throws {
        let nodes = try GridNode.parse(scontrolShowNode: fixture("scontrol-show-node-running-drained.txt"))
        let node2 = try #require(nodes.first { $0.name == "node2" })
        #expect(node2.states == ["IDLE", "DRAIN"])
        #expect(node2.reason == "testbed: setup kernel-boot failed in run 20261130-074100-ab12")
        #expect(node2.reasonUser == "root")
        let since = slurmTime("2026-11-30T07:40:54")
        #expect(node2.reasonTime == since)
        let status = node2.status
        #expect(status == .halted(reason: "testbed: setup kernel-boot failed in run 20261130-074100-ab12", since: since,
                                  byRun: "20261130-074100-ab12"))
        // node1 runs a job (MIXED) and is online
        #expect(nodes[0].states == ["MIXED"])
        #expect(nodes[0].status == .online)
    }

    @Test func drainingNodeWithAnAdminsReasonIsHaltedByNoRun() throws {
        let nodes = try GridNode.parse(scontrolShowNode: fixture("scontrol-show-node-draining.txt"))
        #expect(nodes.count == 1)
        #expect(nodes[0].states == ["MIXED", "DRAIN"])
        let status = nodes[0].status
        #expect(status == .halted(reason: "bad disk, see ticket 42", since: slurmTime("2026-11-30T07:40:58"), byRun: nil))
    }

    @Test func notRespondingAndDownNodesAreOffline() throws {
        let late = try GridNode.parse(scontrolShowNode: fixture("scontrol-show-node-not-responding.txt"))
        #expect(late[0].states == ["IDLE", "NOT_RESPONDING"])
        #expect(late[0].status == .offline(["IDLE", "NOT_RESPONDING"]))
        let nodes = try GridNode.parse(scontrolShowNode: fixture("scontrol-show-node-down.txt"))
        let node3 = try #require(nodes.first { $0.name == "node3" })
        #expect(node3.states == ["DOWN", "NOT_RESPONDING"])
        #expect(node3.reason == "Not responding")
        #expect(node3.status.word == "offline")
        // node1 and node2 both drained by then, node1's job ended
        #expect(nodes.filter { $0.status.word == "halted" }.map(\.name) == ["node1", "node2"])
        #expect(nodes[0].states == ["IDLE", "DRAIN"])
    }

    @Test(arguments: [
        ("DOWN*", ["DOWN", "NOT_RESPONDING"]), ("IDLE+DRAIN", ["IDLE", "DRAIN"]), ("ALLOCATED", ["ALLOCATED"]),
        ("IDLE~", ["IDLE"]), ("DOWN+DRAIN+NOT_RESPONDING", ["DOWN", "DRAIN", "NOT_RESPONDING"]),
    ])
    func stateWords(state: String, words: [String]) {
        #expect(GridNode.stateWords(state) == words)
    }

    @Test func aReasonHoldingEqualsSignsAndBracketsIsKeptWhole() throws {
        let line = "NodeName=n1 State=IDLE+DRAIN AvailableFeatures=(null) Reason=x=1 [a@b] y=2 [root@2026-11-30T07:40:54] Comment=hi"
        let nodes = try GridNode.parse(scontrolShowNode: line)
        #expect(nodes[0].reason == "x=1 [a@b] y=2")
        #expect(nodes[0].reasonUser == "root")
        #expect(GridNode.keyValues(line)["Comment"] == "hi")
    }

    @Test func aLineWithoutANodeNameIsAnError() {
        #expect(throws: GridError.unexpectedOutput("scontrol show node -o", "No nodes in the system")) {
            try GridNode.parse(scontrolShowNode: "No nodes in the system\n")
        }
    }

    @Test(arguments: [
        ("testbed: setup boot failed in run 20261130-1", "boot", "20261130-1"),
        ("testbed: broken fan", nil, nil),
    ])
    func testbedReasons(reason: String, setup: String?, run: String?) throws {
        let parsed = try #require(TestbedReason(reason))
        #expect(parsed.setup == setup)
        #expect(parsed.runID == run)
        #expect(TestbedReason("Not responding") == nil)
        #expect(TestbedReason.setupFailed("boot", inRun: "20261130-1") == "testbed: setup boot failed in run 20261130-1")
    }
}

@Suite struct SlurmJobTests {
    @Test func jobsOfSqueueReadWithNamesHoldingBars() throws {
        let jobs = try SlurmJob.parse(squeue: fixture("squeue-all.txt"))
        #expect(jobs.map(\.id) == ["1", "2", "3"])
        #expect(jobs[1] == SlurmJob(id: "2", name: "fails|with bar", state: "FAILED", reason: "NonZeroExitCode", nodes: "node3"))
        #expect(jobs[2].reason == "ReqNodeNotAvail, UnavailableNodes:node2")
        #expect(jobs[2].nodes == "")
        #expect(jobs.map(\.hasEnded) == [true, true, false])
        #expect(jobs.map(\.succeeded) == [true, false, false])
        let running = try SlurmJob.parse(squeue: fixture("squeue-running.txt"))
        #expect(running.map(\.state) == ["RUNNING"])
        #expect(running[0].hasEnded == false)
    }

    @Test func aShortLineIsAnError() {
        #expect(throws: GridError.unexpectedOutput("squeue", "12|x|RUNNING")) { try SlurmJob.parse(squeue: "12|x|RUNNING\n") }
    }
}
