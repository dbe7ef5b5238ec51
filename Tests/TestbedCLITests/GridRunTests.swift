import Foundation
import Grid
@testable import TestbedCommands
import Testing
import TestSupport

/// The suite the grid tests place and run: `/lab` needs node1's lab_a, `/gpu` node2's gpu, the rest go anywhere;
/// `/booted*` need the setup `boot`, which fails on node2 only.
let gridSuite: [String: String] = [
    "testbed.yaml": """
    setups:
      boot:
        run: test "$SLURMD_NODENAME" != node2
    tests:
      lab:
        run: test "$SLURMD_NODENAME" = node1
        requires: [lab_a]
      gpu:
        run: test "$SLURMD_NODENAME" = node2
        requires: [gpu]
      any1: 'true'
      any2: 'true'
      any3: 'true'
      any4: 'true'
    """,
]

/// Setups that fail on node2 and what depends on them.
let gridBootSuite: [String: String] = [
    "testbed.yaml": """
    setups:
      boot:
        run: test "$SLURMD_NODENAME" != node2
    tests:
      gpu-booted:
        run: 'true'
        requires: [gpu]
        setup: [boot]
      gpu-plain:
        run: 'true'
        requires: [gpu]
      booted1:
        run: 'true'
        setup: [boot]
      booted2:
        run: 'true'
        setup: [boot]
      booted3:
        run: 'true'
        setup: [boot]
      booted4:
        run: 'true'
        setup: [boot]
      booted5:
        run: 'true'
        setup: [boot]
      booted6:
        run: 'true'
        setup: [boot]
    """,
]

/// Enrols every node of the local grid into `results` (and `database`, when given); the caller restores the features.
func enrollGrid(_ tree: TemporaryTree, database: String? = nil) throws {
    for node in ["node1", "node2", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
    let enrolled = try testbed(["hosts", "enroll", "--all", "--results", tree["results"]] + (database.map { ["--database", $0] } ?? []),
                               in: tree.path)
    #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
}

/// The shard runs of a grid run's JSON summary: shard name → (node, run id).
func gridShardRuns(_ summary: [String: Any]) -> [String: (node: String, run: String?)] {
    var runs: [String: (node: String, run: String?)] = [:]
    for shard in summary["shards"] as? [[String: Any]] ?? [] {
        if let name = shard["shard"] as? String { runs[name] = (shard["node"] as? String ?? "", shard["run"] as? String) }
    }
    return runs
}

/// Each test's (outcome, reason) of one run, read from the database.
func runOutcomes(_ run: String, database: String, in tree: TemporaryTree) throws -> [String: (outcome: String, reason: String)] {
    let report = try testbed(["report", run, "--json", "--database", database, "--results", tree["results"]], in: tree.path)
    #expect(report.status != 66, "\(report.stderr)")
    let tests = try #require(try report.json()["tests"] as? [[String: Any]], "\(report.stdout)")
    var found: [String: (outcome: String, reason: String)] = [:]
    for test in tests {
        if let id = test["id"] as? String { found[id] = (test["outcome"] as? String ?? "", test["reason"] as? String ?? "") }
    }
    return found
}

/// Whether this testbed has the shard side of a grid run (`run --ids-from`, `--grid-node`).
let shardSideExists: Bool = ((try? testbed(["run", "--help"]))?.stdout.contains("--grid-node")) ?? false

/// `check --grid slurm` on the local grid (node1 lab_a, node2 lab_b,gpu, node3): features are set back after. In the
/// serialized suite of `hosts`: one test's jobs or features must not meet another's.
extension GridHostsTests {
    @Test func aLabTaggedTestIsPlacedOnTheOneNodeWithTheTagAndTheOthersSayWhyNot() throws {
        defer { restoreFeatures() }
        let tree = try TemporaryTree(gridSuite)
        try enrollGrid(tree)
        let json = try testbed(["check", "--grid", "slurm", ".", "--json", "--results", tree["results"]], in: tree.path)
        #expect(json.status == 0, "\(json.stderr)")
        let tests = try #require(try json.json()["tests"] as? [[String: Any]], "\(json.stdout)")
        func test(_ id: String) -> [String: Any] { tests.first { $0["id"] as? String == id } ?? [:] }
        func nodes(_ id: String, _ key: String) -> [String] { (test(id)[key] as? [[String: Any]] ?? []).compactMap { $0["node"] as? String } }
        #expect(nodes("/lab", "candidates") == ["node1"], "\(json.stdout)")
        #expect(nodes("/lab", "refusals") == ["node2", "node3"])
        #expect(nodes("/gpu", "candidates") == ["node2"])
        #expect(nodes("/any1", "candidates") == ["node1", "node2", "node3"])
        let text = try testbed(["check", "--grid", "slurm", ".", "--results", tree["results"]], in: tree.path)
        #expect(text.status == 0, "\(text.stderr)")
        let lab = text.stdout.components(separatedBy: "\n\n").first { $0.hasPrefix("/lab\n") } ?? ""
        #expect(lab.contains("runs on: node1\n"), "\(text.stdout)")
        #expect(lab.contains("node2: needs lab_a; lab_a is not present on node2"), "\(text.stdout)")
        #expect(lab.contains("node3: needs lab_a; lab_a is not present on node3"), "\(text.stdout)")
    }

    @Test func aNodeNeverEnrolledIsSaidSo() throws {
        let tree = try TemporaryTree(gridSuite)
        let text = try testbed(["check", "--grid", "slurm", ".", "--id", "/any1", "--results", tree["results"]], in: tree.path)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("node1  not enrolled (run testbed hosts enroll --all)"), "\(text.stdout)")
        #expect(text.stdout.contains("no node can run it"), "\(text.stdout)")
    }
}

/// Whether `run --grid` can be tried end to end: PostgreSQL to record into, and the shard side.
let gridRunsPossible = testDatabaseServer != nil && shardSideExists

/// `run --grid slurm` on the local grid with results in PostgreSQL (TESTBED_TEST_DATABASE); needs the shard side.
extension GridHostsTests {
    @Test(.enabled(if: gridRunsPossible, "needs TESTBED_TEST_DATABASE and run --grid-node"))
    func aRunOverThreeNodesPutsEachTestOnASuitableNodeWithEveryResultInPostgreSQL() throws {
        defer { restoreFeatures() }
        let tree = try TemporaryTree(gridSuite)
        let database = try PostgresCommandsTests.database()
        try enrollGrid(tree, database: database)
        let run = try boundedTestbed(["run", "--grid", "slurm", ".", "--id", "/lab", "--id", "/gpu", "--id", "/any1", "--id", "/any2",
                                      "--id", "/any3", "--id", "/any4", "--json", "--database", database, "--results", tree["results"]],
                                     in: tree.path, deadline: 120).result
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let summary = try run.json()
        let shards = gridShardRuns(summary)
        #expect(Set(shards.keys) == ["node1", "node2", "node3"], "\(run.stdout)")
        var seen: [String: String] = [:]
        for (shard, info) in shards {
            let outcomes = try runOutcomes(try #require(info.run, "\(shard)"), database: database, in: tree)
            for (id, result) in outcomes {
                #expect(result.outcome == "pass", "\(id) on \(shard): \(result)")
                seen[id] = shard
            }
        }
        #expect(seen.count == 6, "\(seen)")
        #expect(seen["/lab"] == "node1" && seen["/gpu"] == "node2", "\(seen)")
        #expect((summary["counts"] as? [String: Int])?["pass"] == 6, "\(summary)")
        #expect(!FileManager.default.fileExists(atPath: tree["results"] + "/testbed.sqlite"), "every row went to PostgreSQL")
        #expect(run.stderr.contains("node1: running (job"), "\(run.stderr)")
        // Each node's latest run is its shard's (found by the node=NAME label: every node here has this host's name).
        let listed = try testbed(["hosts", "--grid", "slurm", "--json", "--database", database], in: tree.path)
        let nodes = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stdout)")
        for node in nodes {
            let name = node["name"] as? String ?? ""
            #expect(node["latest_run"] as? String == shards[name]?.run, "\(name): \(node)")
        }
    }

    @Test(.enabled(if: gridRunsPossible, "needs TESTBED_TEST_DATABASE and run --grid-node"))
    func noWaitPrintsTheGridAndItsJobs() throws {
        defer { restoreFeatures() }
        let tree = try TemporaryTree(gridSuite)
        let database = try PostgresCommandsTests.database()
        try enrollGrid(tree, database: database)
        let run = try testbed(["run", "--grid", "slurm", ".", "--id", "/lab", "--no-wait", "--json", "--database", database,
                               "--results", tree["results"]], in: tree.path)
        #expect(run.status == 0, "\(run.stderr)")
        let json = try run.json()
        #expect((json["grid"] as? String)?.hasPrefix("grid-") == true, "\(run.stdout)")
        let shards = try #require(json["shards"] as? [[String: Any]])
        #expect(shards.count == 1 && shards[0]["node"] as? String == "node1" && shards[0]["tests"] as? Int == 1, "\(run.stdout)")
        let ids = try String(contentsOfFile: tree["results"] + "/grid/\(json["grid"] as? String ?? "")/node1.ids", encoding: .utf8)
        #expect(ids == "/lab\n")
        // Let the job end before the features are set back.
        let job = shards[0]["job"] as? String ?? ""
        #expect(eventually(within: 60) { (try? runProgram("/usr/bin/env", ["squeue", "-h", "-j", job]))?.stdout.isEmpty ?? true })
    }

    @Test(.enabled(if: gridRunsPossible, "needs TESTBED_TEST_DATABASE and run --grid-node"))
    func aSetupFailingOnOneNodeDrainsExactlyThatNodeAndTheSameTestsPassElsewhere() throws {
        defer {
            _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node2", "State=RESUME"])
            restoreFeatures()
        }
        let tree = try TemporaryTree(gridBootSuite)
        let database = try PostgresCommandsTests.database()
        try enrollGrid(tree, database: database)
        let run = try boundedTestbed(["run", "--grid", "slurm", ".", "--json", "--database", database, "--results", tree["results"]],
                                     in: tree.path, deadline: 120).result
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let summary = try run.json()
        let shards = gridShardRuns(summary)
        let node2Run = try #require(shards["node2"]?.run, "\(run.stdout)")
        let nodes = try gridNodes()
        #expect(nodes["node2"]?["status"] as? String == "halted", "\(nodes)")
        #expect(nodes["node2"]?["reason"] as? String == "testbed: setup boot failed in run \(node2Run)", "\(nodes)")
        #expect(nodes["node1"]?["status"] as? String == "online" && nodes["node3"]?["status"] as? String == "online")
        let node2 = try runOutcomes(node2Run, database: database, in: tree)
        #expect(node2["/gpu-booted"]?.outcome == "blocked", "\(node2)")
        #expect(node2["/gpu-plain"]?.outcome == "pass", "\(node2)")
        var elsewhere: [String: String] = [:]
        for (shard, info) in shards where shard != "node2" {
            for (id, result) in try runOutcomes(try #require(info.run), database: database, in: tree) { elsewhere[id] = result.outcome }
        }
        #expect(!elsewhere.isEmpty && elsewhere.values.allSatisfy { $0 == "pass" }, "\(elsewhere)")
        #expect(run.stderr.contains("node2 halted: testbed: setup boot failed in run \(node2Run)"), "\(run.stderr)")

        let resumed = try testbed(["hosts", "resume", "node2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try waitForStatus("node2", "online"))
    }

    @Test(.enabled(if: gridRunsPossible, "needs TESTBED_TEST_DATABASE and run --grid-node"))
    func withReplaceOnHaltTheTestsANodeCouldNotStartRunElsewhere() throws {
        defer {
            _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node2", "State=RESUME"])
            restoreFeatures()
        }
        let tree = try TemporaryTree(gridBootSuite)
        let database = try PostgresCommandsTests.database()
        try enrollGrid(tree, database: database)
        let run = try boundedTestbed(["run", "--grid", "slurm", ".", "--replace-on-halt", "--json", "--database", database,
                                      "--results", tree["results"]], in: tree.path, deadline: 180).result
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let summary = try run.json()
        let shards = gridShardRuns(summary)
        let node2 = try runOutcomes(try #require(shards["node2"]?.run, "\(run.stdout)"), database: database, in: tree)
        let blocked = node2.filter { $0.value.outcome == "blocked" }.map { $0.key }.sorted()
        #expect(blocked.contains("/gpu-booted") && blocked.count >= 2, "node2 had booted tests: \(node2)")
        let replacements = shards.filter { $0.key.contains("~") }
        #expect(!replacements.isEmpty && replacements.allSatisfy { $0.value.node != "node2" }, "\(run.stdout)")
        var passedElsewhere: Set<String> = []
        for (_, info) in replacements {
            for (id, result) in try runOutcomes(try #require(info.run), database: database, in: tree) where result.outcome == "pass" {
                passedElsewhere.insert(id)
            }
        }
        #expect(Set(blocked.filter { $0 != "/gpu-booted" }) == passedElsewhere, "\(blocked) \(passedElsewhere)")
        #expect((summary["notRun"] as? [String: String])?["/gpu-booted"] != nil, "\(summary)")
        #expect(run.stderr.contains("/gpu-booted: no other node can run it"), "\(run.stderr)")
        // Each test counted once, by its final outcome: the replaced ones as their replacement's pass.
        let counts = summary["counts"] as? [String: Int] ?? [:]
        #expect(counts.values.reduce(0, +) == 8 && counts["blocked"] == 1, "\(summary)")
    }
}

/// The local grid's directory (scripts/local-grid exports it): what a test that kills a slurmd restarts it from.
let gridDirectory = ProcessInfo.processInfo.environment["TESTBED_GRID_DIR"].flatMap { $0.isEmpty ? nil : $0 }

/// A node lost mid-shard: its slurmd and its job's processes killed, as when the host dies.
extension GridHostsTests {
    /// Every process of a Slurm job: its environment holds SLURM_JOB_ID=JOB, or it is the job's slurmstepd.
    func jobProcesses(_ job: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data()
            let command = String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
            return environ.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "SLURM_JOB_ID=\(job)" }
                || command.hasPrefix("slurmstepd: [\(job).")
        }
    }

    @Test(.enabled(if: gridRunsPossible && gridDirectory != nil && getuid() == 0, "needs TESTBED_TEST_DATABASE, run --grid-node, TESTBED_GRID_DIR, root"))
    func killingANodesSlurmdMidShardKeepsItsFinishedResultsAndInterruptsTheRest() throws {
        let grid = try #require(gridDirectory)
        defer {
            // Bring node3's slurmd back (up is idempotent) and wait for it.
            _ = try? runProgram("/usr/bin/env", ["TESTBED_GRID_DIR=\(grid)", packageRoot.path + "/scripts/local-grid", "up"])
            _ = try? waitForStatus("node3", "online")
            restoreFeatures()
        }
        let tree = try TemporaryTree()
        try tree.write("testbed.yaml", """
            tests:
              n3-quick:
                run: 'true'
                requires: [host_node3]
              n3-slow:
                run: touch "\(tree.path)/slow-started"; sleep 300
                requires: [host_node3]
              elsewhere: 'true'
            """)
        let database = try PostgresCommandsTests.database()
        try enrollGrid(tree, database: database)
        let launched = try Launched(["run", "--grid", "slurm", ".", "--json", "--database", database, "--results", tree["results"]],
                                    in: tree.path)
        // The slow test runs (so the quick one had its chance): then the host dies.
        #expect(eventually(within: 60) { FileManager.default.fileExists(atPath: tree["slow-started"]) })
        Thread.sleep(forTimeInterval: 2)
        let queue = try runProgram("/usr/bin/env", ["squeue", "-h", "-o", "%i %j"])
        let job = try #require(queue.stdout.split(separator: "\n").first { $0.hasSuffix(":node3") }?.split(separator: " ").first.map(String.init),
                               "\(queue.stdout)")
        let slurmd = try #require(Int32((try String(contentsOfFile: grid + "/slurm/slurmd.node3.pid", encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(slurmd, SIGKILL)
        for pid in jobProcesses(job) { kill(pid, SIGKILL) }

        let (run, _, _) = launched.finish(deadline: 150)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(try gridNodes()["node3"]?["status"] as? String == "offline")
        let summary = try run.json()
        let shard = try #require((summary["shards"] as? [[String: Any]])?.first { $0["node"] as? String == "node3" }, "\(run.stdout)")
        #expect(shard["state"] as? String == "lost", "\(shard)")
        let outcomes = try runOutcomes(try #require(shard["run"] as? String), database: database, in: tree)
        #expect(outcomes["/n3-quick"]?.outcome == "pass", "\(outcomes)")
        #expect(outcomes["/n3-slow"]?.outcome == "interrupted", "\(outcomes)")
        #expect(outcomes["/n3-slow"]?.reason == "host lost: node node3 stopped answering", "\(outcomes)")
        #expect(run.stderr.contains("node3: host lost: node node3 stopped answering"), "\(run.stderr)")
    }
}


/// A suite with a test only node2 (gpu) can run, one any node can run (and one that fails), and one no node can run.
let gridHaltedSuite: [String: String] = [
    "testbed.yaml": """
    tests:
      gpu-passthrough:
        run: 'true'
        requires: [gpu]
      any1: 'true'
      fails: 'false'
      nowhere:
        run: 'true'
        requires: [fpga]
    """,
    "environments/broken.yaml": "tags: [unclosed\n",
]

/// Tests only halted nodes can run, and shards whose job ends without a run.
extension GridHostsTests {
    @Test(.enabled(if: gridRunsPossible, "needs TESTBED_TEST_DATABASE and run --grid-node"))
    func aTestOnlyAHaltedNodeCanRunIsNotRunAndAnInfrastructureFailureWhileOneNoNodeCanRunIsUnsupported() throws {
        defer {
            _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node2", "State=RESUME"])
            restoreFeatures()
        }
        let tree = try TemporaryTree(gridHaltedSuite)
        let database = try PostgresCommandsTests.database()
        try enrollGrid(tree, database: database)
        let drained = try testbed(["hosts", "drain", "node2", "--reason", "fan broken"])
        #expect(drained.status == 0, "\(drained.stderr)")
        let run = try boundedTestbed(["run", "--grid", "slurm", ".", "--id", "/gpu-passthrough", "--id", "/any1", "--id", "/nowhere", "--json",
                                      "--database", database, "--results", tree["results"]], in: tree.path, deadline: 120).result
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let summary = try run.json()
        let notRun = summary["notRun"] as? [String: String] ?? [:]
        #expect(Array(notRun.keys) == ["/gpu-passthrough"], "\(summary)")
        let why = notRun["/gpu-passthrough"] ?? ""
        #expect(why.hasPrefix("only node2 can run it, and node2 is halted (") && why.contains("fan broken"), "\(why)")
        #expect(run.stderr.contains("/gpu-passthrough: not run: only node2 can run it, and node2 is halted ("), "\(run.stderr)")
        #expect(!run.stderr.contains("/gpu-passthrough: unsupported"), "\(run.stderr)")
        #expect(run.stderr.contains("/nowhere: unsupported on every node (node1: needs fpga"), "\(run.stderr)")
        #expect((summary["counts"] as? [String: Int])?["pass"] == 1, "\(summary)")

        // A test no enrolled node can run does not change the exit code (1: only /fails), as a local run's unsupported test;
        // the text summary names the failed test.
        let unsupported = try boundedTestbed(["run", "--grid", "slurm", ".", "--id", "/any1", "--id", "/fails", "--id", "/nowhere",
                                              "--database", database, "--results", tree["results"]], in: tree.path, deadline: 120).result
        #expect(unsupported.status == 1, "\(unsupported.stdout)\(unsupported.stderr)")
        #expect(unsupported.stdout.contains("\n  fail: /fails\n") && !unsupported.stdout.contains(": /any1\n"), "\(unsupported.stdout)")
        #expect(unsupported.stdout.contains("/nowhere: unsupported on every node"), "\(unsupported.stdout)")
        #expect(!unsupported.stdout.contains("not run:"), "\(unsupported.stdout)")
        #expect(try testbed(["hosts", "resume", "node2"]).status == 0)
        #expect(try waitForStatus("node2", "online"))
    }

    @Test(.enabled(if: gridRunsPossible, "needs TESTBED_TEST_DATABASE and run --grid-node"))
    func aShardEndingWithoutARunListsItsTestsNotRunAndReplaceOnHaltPlacesThemElsewhere() throws {
        defer { restoreFeatures() }
        let tree = try TemporaryTree(gridHaltedSuite)
        let database = try PostgresCommandsTests.database()
        try enrollGrid(tree, database: database)
        // The shard's own run cannot read its environment: its job ends before recording a run.
        let run = try boundedTestbed(["run", "--grid", "slurm", ".", "--id", "/gpu-passthrough", "--environment", "broken", "--json",
                                      "--database", database, "--results", tree["results"]], in: tree.path, deadline: 120).result
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let summary = try run.json()
        let why = (summary["notRun"] as? [String: String])?["/gpu-passthrough"] ?? ""
        #expect(why.hasPrefix("its shard's job ") && why.contains(" without a run; see ") && why.hasSuffix(".log"), "\(summary)")

        let replaced = try boundedTestbed(["run", "--grid", "slurm", ".", "--id", "/any1", "--environment", "broken", "--replace-on-halt",
                                           "--json", "--database", database, "--results", tree["results"]], in: tree.path, deadline: 180).result
        #expect(replaced.status == 2, "\(replaced.stdout)\(replaced.stderr)")
        let again = try replaced.json()
        let nodes = (again["shards"] as? [[String: Any]] ?? []).compactMap { $0["node"] as? String }
        #expect(nodes.count == 3 && Set(nodes) == ["node1", "node2", "node3"], "each node had its turn: \(replaced.stdout)\(replaced.stderr)")
        let last = (again["notRun"] as? [String: String])?["/any1"] ?? ""
        #expect(last.contains("without a run; see ") && last.hasSuffix("; no other node can run it"), "\(again)")
        #expect(replaced.stderr.contains("(from "), "\(replaced.stderr)")
    }
}

@Suite struct GridRunOptionTests {
    @Test func replaceOnHaltWithNoWaitIsAUsageErrorSayingWhy() throws {
        let tree = try TemporaryTree(gridHaltedSuite)
        let run = try testbed(["run", "--grid", "slurm", ".", "--replace-on-halt", "--no-wait"], in: tree.path)
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("--replace-on-halt needs the run to be followed; leave out --no-wait"), "\(run.stderr)")
    }
}

extension GridRunOptionTests {
    /// A placement read as `check --grid --json` writes it.
    func placement(_ json: String) throws -> GridPlacement {
        try JSONDecoder().decode(GridPlacement.self, from: Data(json.utf8))
    }

    @Test func aTestOnlyOfflineOrHaltedNodesCanRunSaysEachNodesStatusAndOneNoNodeCanRunIsUnsupported() throws {
        let placed = try placement("""
        {"nodes": [{"name": "node1", "status": "online", "usable": true},
                   {"name": "node2", "status": "offline", "detail": "IDLE+NOT_RESPONDING", "usable": false},
                   {"name": "node3", "status": "halted", "detail": "testbed: fan broken", "usable": false}],
         "tests": [{"id": "/gpu", "candidates": [{"node": "node2", "setups": []}], "refusals": []},
                   {"id": "/two", "candidates": [{"node": "node2", "setups": []}, {"node": "node3", "setups": []}], "refusals": []},
                   {"id": "/none", "candidates": [], "refusals": [{"node": "node1", "unmet": []}]}]}
        """)
        #expect(RunCommand.unusableCandidates(placed.tests[0], placement: placed)
            == "only node2 can run it, and node2 is offline (IDLE+NOT_RESPONDING)")
        #expect(RunCommand.unusableCandidates(placed.tests[1], placement: placed)
            == "only node2 and node3 can run it, and node2 is offline (IDLE+NOT_RESPONDING), node3 is halted (testbed: fan broken)")
        #expect(RunCommand.unusableCandidates(placed.tests[2], placement: placed) == nil)
    }
}
