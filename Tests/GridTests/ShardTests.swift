import Synchronization
import Testing

@testable import Grid

/// A shard's quarantine (`run --grid-node`) and the shard jobs `runs --grid slurm` lists.
@Suite struct ShardTests {
    func quarantine(more: [String: Result<String, GridError>] = [:]) throws -> (ShardQuarantine, FakeSlurmCommands) {
        var answers = more
        answers["scontrol show node -o"] = .success(try fixture("scontrol-show-node-idle.txt"))
        let fake = FakeSlurmCommands(answers)
        return (ShardQuarantine(node: "node2", runID: "20261130-101500-ab12", slurm: Slurm(commands: fake)), fake)
    }

    @Test func theFirstFailedSetupDrainsTheNodeWithTestbedsReason() throws {
        let (quarantine, fake) = try quarantine()
        #expect(quarantine.reason == nil)
        let reason = try quarantine.setupFailed("boot-vm")
        #expect(reason == "testbed: setup boot-vm failed in run 20261130-101500-ab12")
        #expect(fake.ran.withLock { $0.last } == ["scontrol", "update", "NodeName=node2", "State=DRAIN",
                                                  "Reason=testbed: setup boot-vm failed in run 20261130-101500-ab12"])
        // The reason reads back as Testbed's own: the run that halted the node.
        #expect(TestbedReason(try #require(reason))?.runID == "20261130-101500-ab12")
        #expect(TestbedReason(try #require(reason))?.setup == "boot-vm")
    }

    @Test func aLaterFailedSetupDoesNotDrainAgain() throws {
        let (quarantine, fake) = try quarantine()
        try quarantine.setupFailed("first")
        let count = fake.ran.withLock { $0.count }
        #expect(try quarantine.setupFailed("second") == nil)
        #expect(fake.ran.withLock { $0.count } == count)
        #expect(quarantine.reason == "testbed: setup first failed in run 20261130-101500-ab12")
    }

    @Test func aDrainThatFailsIsTriedAgainByTheNextFailedSetup() throws {
        let refused = GridError.commandFailed(["scontrol"], 1, "slurm_update error: Access/permission denied")
        let (quarantine, _) = try quarantine(more: ["scontrol update": .failure(refused)])
        #expect(throws: refused) { try quarantine.setupFailed("first") }
        #expect(quarantine.reason == nil)
        #expect(throws: refused) { try quarantine.setupFailed("second") }
    }

    @Test func queuedShardsAreTheJobsNamedAsShards() throws {
        let output = """
            41|testbed-shard:grid-20261130-101500-3fa2:node1|RUNNING|None|node1
            42|testbed-shard:grid-20261130-101500-3fa2:node2|PENDING|ReqNodeNotAvail, UnavailableNodes:node2|
            43|someone-else|RUNNING|None|node3
            44|testbed-shard:grid-20261130-101500-3fa2:node3:2|PENDING|Priority|
            45|testbed-shard:broken|PENDING|None|

            """
        let fake = FakeSlurmCommands(["squeue -h -o": .success(output)])
        let shards = try Slurm(commands: fake).queuedShards()
        #expect(fake.ran.withLock { $0 } == [["squeue", "-h", "-o", SlurmJob.squeueFormat]])
        #expect(shards.map(\.job.id) == ["41", "42", "44"])
        #expect(shards.map(\.node) == ["node1", "node2", "node3"])
        #expect(shards.allSatisfy { $0.grid == "grid-20261130-101500-3fa2" })
        #expect(shards.map(\.stateText) == ["running on node1", "pending (ReqNodeNotAvail, UnavailableNodes:node2)", "pending (Priority)"])
    }

    @Test func aShardsJobNameReadsBack() throws {
        let name = ShardJob.name(grid: "grid-20261130-101500-3fa2", node: "node2")
        #expect(name == "testbed-shard:grid-20261130-101500-3fa2:node2")
        let shard = try #require(ShardJob(SlurmJob(id: "7", name: name, state: "PENDING", reason: "None", nodes: "")))
        #expect(shard.grid == "grid-20261130-101500-3fa2" && shard.node == "node2" && shard.stateText == "pending")
        #expect(ShardJob(SlurmJob(id: "8", name: "testbed-shard::node2", state: "PENDING", reason: "None", nodes: "")) == nil)
    }
}
