import Catalog
import Foundation
import Planning
import Requirements
import TestSupport
import Testing

@testable import Grid

/// The local grid's three nodes as placement sees them: node1 has the feature lab_a, node2 lab_b and gpu, node3
/// none; all three enrolled with the same probed facts (kernel 6.1, no qemu, cmd:gdb not recorded).
func gridHosts(node2: HostStatus = .online, node3Enrolled: Bool = true) -> [PlacementHost] {
    let facts = [Fact(name: "kernel", value: "6.1.0-13-amd64", source: "uname"), Fact(name: "arch", value: "x86_64", source: "uname")]
    let enrolled = Date(timeIntervalSince1970: 1_796_000_000)
    return [
        PlacementHost(name: "node1", status: .online, features: ["lab_a", "host_node1"], enrolment: (facts, enrolled, "local")),
        PlacementHost(name: "node2", status: node2, features: ["lab_b", "gpu", "host_node2"], enrolment: (facts, enrolled, "local")),
        PlacementHost(name: "node3", status: .online, features: ["host_node3"], enrolment: node3Enrolled ? (facts, enrolled, "local") : nil),
    ]
}

@Suite struct GridPlacementTests {
    let catalog = try! SuiteCatalog(tests: [test("/lab", requires: ["lab_a"]), test("/any"), test("/new", requires: ["kernel >= 7"]),
                                            test("/built", setups: ["build"])],
                                    setups: [setup("build")], roots: [])

    @Test func aLabTaggedTestGoesToTheOneNodeWithTheTagAndTheOthersSayWhyNot() throws {
        let placement = try GridPlacement.place(catalog: catalog, selection: TestSelection(), hosts: gridHosts())
        let lab = try #require(placement.tests.first { $0.id == "/lab" })
        #expect(lab.candidates == [GridPlacement.Candidate(node: "node1", setups: [])])
        #expect(lab.refusals.map(\.node) == ["node2", "node3"])
        #expect(lab.refusals[0].unmet.map(\.requirement) == ["lab_a"])
        #expect(lab.refusals[0].unmet[0].reason.contains("lab_a is not present on node2"))
        #expect(!lab.refusals[0].unmet[0].reason.contains("this host"))
    }

    @Test func anUnmetVersionShowsTheNodesOwnValue() throws {
        let placement = try GridPlacement.place(catalog: catalog, selection: TestSelection(), hosts: gridHosts())
        let new = try #require(placement.tests.first { $0.id == "/new" })
        #expect(new.candidates.isEmpty)
        #expect(new.refusals.count == 3)
        #expect(new.refusals[2].unmet[0].reason.contains("6.1.0-13-amd64"))
        #expect(new.refusals[2].unmet[0].reason.contains("node3"))
    }

    @Test func setupsAreNamedPerNodeAndAPlainTestGoesAnywhere() throws {
        let placement = try GridPlacement.place(catalog: catalog, selection: TestSelection(), hosts: gridHosts())
        #expect(placement.tests.first { $0.id == "/any" }?.candidates.map(\.node) == ["node1", "node2", "node3"])
        #expect(placement.tests.first { $0.id == "/built" }?.candidates.map(\.setups) == [["build"], ["build"], ["build"]])
    }

    @Test func haltedAndUnenrolledNodesAreShownButGetNoShards() throws {
        let halted = HostStatus.halted(reason: "testbed: setup build failed in run r1", since: nil, byRun: "r1")
        let placement = try GridPlacement.place(catalog: catalog, selection: TestSelection(), hosts: gridHosts(node2: halted, node3Enrolled: false))
        #expect(placement.nodes.map(\.status) == ["online", "halted", "not enrolled"])
        #expect(placement.nodes[1].detail == "testbed: setup build failed in run r1")
        #expect(placement.nodes[2].detail == "run testbed hosts enroll --all")
        #expect(placement.usableNodes == ["node1"])
        let any = try #require(placement.tests.first { $0.id == "/any" })
        #expect(any.candidates.map(\.node) == ["node1", "node2"], "a halted node still suits the test")
        #expect(any.refusals.first?.unmet.first?.reason == "node3 is not enrolled: run testbed hosts enroll --all")
    }

    @Test func theSelectionIsHonoured() throws {
        let placement = try GridPlacement.place(catalog: catalog, selection: TestSelection(ids: ["/lab"]), hosts: gridHosts())
        #expect(placement.tests.map(\.id) == ["/lab"])
    }

    @Test func recordedFactsSayWhatWasNotRecordedAndWhen() {
        let facts = RecordedFacts(node: "node1", enrolled: Date(timeIntervalSince1970: 1_796_000_000), environment: "local",
                                  facts: [Fact(name: "kernel", value: "6.1", source: "uname")], features: ["lab_a", "kernel"])
        #expect(facts.lookup("kernel").fact?.value == "6.1", "a recorded fact wins over a feature of its name")
        #expect(facts.lookup("lab_a").fact?.isDeclared == true)
        #expect(facts.lookup("cmd:gdb") == .absent(reason: "cmd:gdb was not recorded when node1 was enrolled (2026-11-30 00:53 UTC); enrol it again"))
        #expect(facts.lookup("lab_z") == .absent(reason: "lab_z is not present on node1"))
    }
}

@Suite struct ShardPlanTests {
    /// A placement of tests over nodes: each test with the nodes that can run it; every node online and enrolled.
    func placement(_ tests: [(String, [String])], nodes: [String] = ["node1", "node2", "node3"]) -> GridPlacement {
        GridPlacement(nodes: nodes.map { .init(name: $0, status: "online", detail: nil, enrolled: nil, usable: true) },
                      tests: tests.map { id, on in .init(id: id, candidates: on.map { .init(node: $0, setups: []) }, refusals: []) })
    }

    @Test func eachTestGoesToOneSuitableNode() {
        let plan = ShardPlan.make(placement([("/lab", ["node1"]), ("/gpu", ["node2"]), ("/a", ["node1", "node2", "node3"])]), durations: [:])
        #expect(plan.shards.map(\.node) == ["node1", "node2", "node3"])
        #expect(plan.shards.map(\.tests) == [["/lab"], ["/gpu"], ["/a"]])
        #expect(plan.unplaced.isEmpty)
    }

    @Test func longestFirstOntoTheLeastLoadedNode() {
        let all = ["node1", "node2"]
        let plan = ShardPlan.make(placement([("/a", all), ("/b", all), ("/c", all), ("/d", all)], nodes: all),
                                  durations: ["/a": 10, "/b": 6, "/c": 5, "/d": 1])
        // 10 → node1; 6 → node2; 5 → node2 (6 < 10); 1 → node1 (10 < 11).
        #expect(plan.shards.map(\.tests) == [["/a", "/d"], ["/b", "/c"]])
        #expect(plan.shards.map(\.seconds) == [11, 11])
    }

    @Test func anUnknownDurationCountsAsTheMedianOfTheKnown() {
        let all = ["node1", "node2"]
        let plan = ShardPlan.make(placement([("/a", all), ("/b", all), ("/c", all), ("/new", all)], nodes: all),
                                  durations: ["/a": 2, "/b": 4, "/c": 9])
        #expect(plan.shards.map(\.seconds).reduce(0, +) == 19)
        let none = ShardPlan.make(placement([("/x", all), ("/y", all)], nodes: all), durations: [:])
        #expect(none.shards.map(\.seconds) == [1, 1])
    }

    @Test func testsNoUsableNodeCanRunAreUnplaced() {
        var grid = placement([("/lab", ["node1"]), ("/none", []), ("/b", ["node2"])])
        grid.nodes[1].usable = false
        let plan = ShardPlan.make(grid, durations: [:])
        #expect(plan.unplaced == ["/none", "/b"])
        #expect(plan.shards.map(\.node) == ["node1"])
    }

    @Test func aSubsetAvoidsExcludedNodes() {
        let all = ["node1", "node2", "node3"]
        let plan = ShardPlan.make(placement([("/a", all), ("/b", all), ("/c", ["node2"])]), durations: [:], tests: ["/a", "/c"],
                                  excluding: ["node2"])
        #expect(plan.shards.flatMap(\.tests) == ["/a"])
        #expect(!plan.shards.map(\.node).contains("node2"))
        #expect(plan.unplaced == ["/c"])
    }
}

@Suite struct ShardFollowerTests {
    func job(_ id: String, _ state: String, _ reason: String = "None") -> SlurmJob {
        SlurmJob(id: id, name: "testbed-shard:g:n", state: state, reason: reason, nodes: "")
    }

    func node(_ name: String, _ states: [String], reason: String? = nil) -> GridNode {
        GridNode(name: name, states: states, reason: reason)
    }

    @Test func pendingRunningEndedOnce() {
        var shards = [ShardWatch(node: "node1", job: "7", tests: ["/a"])]
        let nodes = ["node1": node("node1", ["IDLE"])]
        #expect(ShardFollower.look(&shards, jobs: ["7": job("7", "PENDING", "Priority")], nodes: nodes).isEmpty)
        #expect(ShardFollower.look(&shards, jobs: ["7": job("7", "RUNNING")], nodes: nodes) == [.started(0)])
        #expect(ShardFollower.look(&shards, jobs: ["7": job("7", "RUNNING")], nodes: nodes).isEmpty)
        #expect(ShardFollower.look(&shards, jobs: ["7": job("7", "COMPLETED")], nodes: nodes)
            == [.ended(0, state: "COMPLETED", reason: "None", nodeHalted: false)])
        #expect(shards[0].isOver)
        #expect(ShardFollower.look(&shards, jobs: [:], nodes: nodes).isEmpty, "an ended shard is not looked at again")
    }

    @Test func aShardThatRanBetweenTwoLooksStartsAndEnds() {
        var shards = [ShardWatch(node: "node1", job: "7", tests: ["/a"])]
        let events = ShardFollower.look(&shards, jobs: ["7": job("7", "FAILED", "NonZeroExitCode")], nodes: ["node1": node("node1", ["IDLE"])])
        #expect(events == [.started(0), .ended(0, state: "FAILED", reason: "NonZeroExitCode", nodeHalted: false)])
    }

    @Test func aShardWhoseRunDrainedItsNodeEndsWithTheNodeHalted() {
        var shards = [ShardWatch(node: "node2", job: "8", tests: ["/a"])]
        shards[0].phase = .running
        let nodes = ["node2": node("node2", ["IDLE", "DRAIN"], reason: "testbed: setup s failed in run r")]
        #expect(ShardFollower.look(&shards, jobs: ["8": job("8", "RUNNING")], nodes: nodes).isEmpty, "a draining node lets its job run")
        #expect(ShardFollower.look(&shards, jobs: ["8": job("8", "COMPLETED")], nodes: nodes)
            == [.ended(0, state: "COMPLETED", reason: "None", nodeHalted: true)])
    }

    @Test func aPendingShardOnAHaltedOrOfflineNodeIsStranded() {
        var shards = [ShardWatch(node: "node2", job: "8", tests: ["/a"]), ShardWatch(node: "node3", job: "9", tests: ["/b"])]
        let nodes = ["node2": node("node2", ["IDLE", "DRAIN"], reason: "testbed: fan"), "node3": node("node3", ["DOWN", "NOT_RESPONDING"])]
        let jobs = ["8": job("8", "PENDING", "ReqNodeNotAvail, UnavailableNodes:node2"), "9": job("9", "PENDING", "ReqNodeNotAvail")]
        #expect(ShardFollower.look(&shards, jobs: jobs, nodes: nodes) == [.stranded(0, status: "halted"), .stranded(1, status: "offline")])
        let over = shards.allSatisfy { $0.isOver }
        #expect(over)
    }

    @Test func aRunningShardOnANodeThatStoppedAnsweringIsLost() {
        var shards = [ShardWatch(node: "node3", job: "9", tests: ["/a"]), ShardWatch(node: "node1", job: "10", tests: ["/b"])]
        shards[0].phase = .running
        shards[1].phase = .running
        let nodes = ["node3": node("node3", ["MIXED", "NOT_RESPONDING"]), "node1": node("node1", ["IDLE"])]
        #expect(ShardFollower.look(&shards, jobs: ["9": job("9", "RUNNING"), "10": job("10", "NODE_FAIL")], nodes: nodes)
            == [.lost(0), .lost(1)])
        #expect(shards.map(\.phase) == [.lost, .lost])
    }

    @Test func aJobTheControllerForgotEnds() {
        var shards = [ShardWatch(node: "node1", job: "7", tests: ["/a"])]
        let events = ShardFollower.look(&shards, jobs: [:], nodes: ["node1": node("node1", ["IDLE"])])
        #expect(events == [.ended(0, state: "GONE", reason: "the controller no longer knows the job", nodeHalted: false)])
    }
}
