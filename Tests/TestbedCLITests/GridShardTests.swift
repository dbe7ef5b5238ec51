import Foundation
import Testing
import TestSupport

/// `run --grid-node NODE` outside a grid: what is checked before Slurm is asked.
@Suite struct GridNodeOptionTests {
    @Test func aNodeNameSlurmCouldNotHaveIsRefused() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        let ran = try testbed(["run", "--grid-node", "node 1"], in: tree.path)
        #expect(ran.status == 64, "\(ran.stderr)")
        #expect(ran.stderr.contains("--grid-node node 1 is not a Slurm node name"), "\(ran.stderr)")
    }

    @Test func aNodeLabelThatSaysAnotherNodeIsRefused() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        let ran = try testbed(["run", "--grid-node", "node1", "--label", "node=node2"], in: tree.path)
        #expect(ran.status == 64, "\(ran.stderr)")
        #expect(ran.stderr.contains("--label node=node2 contradicts --grid-node node1"), "\(ran.stderr)")
    }

    @Test func runsWithTheGridWithoutSlurmSaysHowToGetOne() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n"])
        #expect(try testbed(["run", "--results", tree["results"]], in: tree.path).status == 0)
        let listed = try testbed(["runs", "--grid", "slurm", "--results", tree["results"]], in: tree.path, with: ["SLURM_CONF": ""])
        #expect(listed.status == 2, "\(listed.stderr)")
        #expect(listed.stderr.contains("SLURM_CONF is not set") && listed.stderr.contains("scripts/local-grid up"), "\(listed.stderr)")
        // Without --grid, the same listing works and its JSON stays an array.
        let plain = try testbed(["runs", "--json", "--results", tree["results"]], in: tree.path, with: ["SLURM_CONF": ""])
        #expect(plain.status == 0 && plain.stdout.hasPrefix("["), "\(plain.stdout)")
    }

    @Test func withoutSlurmTheShardRunsLabelledWithItsNodeAndWarns() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              broken:
                run: 'exit 3'
            tests:
              a: 'true'
              b:
                run: 'true'
                setup: [broken]
            """])
        let ran = try testbed(["run", "--grid-node", "node1", "--label", "grid-run=grid-20261130-101500-3fa2", "--results", tree["results"]],
                              in: tree.path, with: ["SLURM_CONF": ""])
        #expect(ran.status == 2, "\(ran.stderr)")
        #expect(ran.stderr.contains("testbed: warning: --grid-node node1: SLURM_CONF is not set"), "\(ran.stderr)")
        #expect(ran.stderr.contains("setup broken failed but node node1 could not be drained: SLURM_CONF is not set"), "\(ran.stderr)")
        let runs = try testbed(["runs", "--json", "--results", tree["results"]], in: tree.path)
        let rows = try #require(JSONSerialization.jsonObject(with: Data(runs.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first?["labels"] as? [String: String] == ["grid-run": "grid-20261130-101500-3fa2", "node": "node1"])
        let reported = try report(tree.path, ["--results", tree["results"]])
        #expect(reported.outcome("/a") == "pass" && reported.outcome("/b") == "blocked")
    }
}

/// A shard on the grid SLURM_CONF names, submitted as `run --grid slurm` does (a batch job running `testbed run
/// --ids-from … --grid-node NODE`, the database in its environment only): in the serialized suite of the grid's tests,
/// leaving every node online.
extension GridHostsTests {
    /// The shard job's command line (as `run --grid slurm` writes it), run by sbatch on `node` (`-w`: the per-node
    /// feature is enrolment's); waits for the job to end.
    ///
    /// - Returns: the job's id and its final state.
    func runShard(_ tree: TemporaryTree, grid: String, node: String, database: String?) throws -> (job: String, state: String) {
        let job = try submitShard(tree, grid: grid, node: node, database: database)
        var state = ""
        let ended = try eventually(within: 90) {
            state = try jobState(job)
            return !["", "PENDING", "CONFIGURING", "RUNNING", "COMPLETING"].contains(state)
        }
        #expect(ended, "job \(job) still \(state)")
        return (job, state)
    }

    /// Submits a shard job; returns its id.
    func submitShard(_ tree: TemporaryTree, grid: String, node: String, database: String?) throws -> String {
        let command = [testbedBinary, "run", tree["suite"], "--ids-from", tree["\(node).ids"], "--grid-node", node,
                       "--label", "grid-run=\(grid)", "--results", tree["results"]]
        var environment = ProcessInfo.processInfo.environment
        environment["TESTBED_DATABASE"] = database
        let wrapped = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let submitted = try runProgram("/usr/bin/env", ["sbatch", "--parsable", "--no-requeue", "-J", "testbed-shard:\(grid):\(node)",
                                                        "-w", node, "-o", tree["\(node)-%j.log"], "--wrap", wrapped],
                                       in: tree.path, environment: environment)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        return submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A job's state (`squeue -t all`), empty when the controller forgot it.
    func jobState(_ job: String) throws -> String {
        try runProgram("/usr/bin/env", ["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `testbed runs --json` of the shards' store (the database when given).
    func shardRuns(_ tree: TemporaryTree, database: String?) throws -> [[String: Any]] {
        let store = database.map { ["--database", $0] } ?? []
        let listed = try testbed(["runs", "--json", "--results", tree["results"]] + store, in: tree.path)
        #expect(listed.status == 0, "\(listed.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stdout)")
    }

    static let quarantineSuite: [String: String] = [
        "suite/testbed.yaml": """
        setups:
          boot:
            run: 'test "$SLURMD_NODENAME" != node2'
        tests:
          independent: 'true'
          needs-boot:
            run: 'true'
            setup: [boot]
        """,
        "node1.ids": "/independent\n/needs-boot\n",
        "node2.ids": "/independent\n/needs-boot\n",
    ]

    @Test func aShardWhoseSetupFailsDrainsItsNodeWithTheReasonAndTheSameTestsPassElsewhere() throws {
        for node in ["node1", "node2"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        defer { _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node2", "State=RESUME"]) }
        let tree = try TemporaryTree(Self.quarantineSuite)
        let database = try testDatabaseServer.map { _ in try PostgresCommandsTests.database() }
        let grid = "grid-20261130-101500-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"

        let (job, state) = try runShard(tree, grid: grid, node: "node2", database: database)
        // Exit 2 (a setup failed): Slurm's FAILED.
        #expect(state == "FAILED", "\(state)")
        let log = (try? String(contentsOfFile: tree["node2-\(job).log"], encoding: .utf8)) ?? ""
        let runs = try shardRuns(tree, database: database)
        let run = try #require(runs.first { ($0["labels"] as? [String: String])?["node"] == "node2" }, "\(runs)\n\(log)")
        #expect(run["labels"] as? [String: String] == ["grid-run": grid, "node": "node2"])
        let runID = try #require(run["id"] as? String)
        let reason = "testbed: setup boot failed in run \(runID)"
        #expect(log.contains("setup boot failed: node node2 drained (\(reason))"), "\(log)")

        let node2 = try #require(try gridNodes()["node2"])
        #expect(node2["status"] as? String == "halted" && node2["reason"] as? String == reason, "\(node2)")
        #expect(node2["run"] as? String == runID)
        let store = database.map { ["--database", $0] } ?? []
        let there = try report(tree.path, ["--results", tree["results"], runID] + store)
        #expect(there.outcome("/independent") == "pass" && there.outcome("/needs-boot") == "blocked", "\(there.outcomes)")

        // The same tests on node1 pass (the setup fails on node2 alone), into the same store.
        let (_, elsewhere) = try runShard(tree, grid: grid, node: "node1", database: database)
        #expect(elsewhere == "COMPLETED")
        let both = try shardRuns(tree, database: database).filter { ($0["labels"] as? [String: String])?["grid-run"] == grid }
        #expect(both.count == 2)
        let node1Run = try #require(both.first { ($0["labels"] as? [String: String])?["node"] == "node1" }?["id"] as? String)
        let passed = try report(tree.path, ["--results", tree["results"], node1Run] + store)
        #expect(passed.outcomes == ["/independent": "pass", "/needs-boot": "pass"])
        #expect(try gridNodes()["node1"]?["status"] as? String == "online")

        let resumed = try testbed(["hosts", "resume", "node2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try waitForStatus("node2", "online"))
    }
}

extension GridHostsTests {
    /// `testbed runs --grid slurm --json`'s shards of one grid run, by node.
    func listedShards(_ tree: TemporaryTree, grid: String) throws -> [String: [String: Any]] {
        let listed = try testbed(["runs", "--grid", "slurm", "--json", "--results", tree["results"]], in: tree.path)
        #expect(listed.status == 0, "\(listed.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any], "\(listed.stdout)")
        var byNode: [String: [String: Any]] = [:]
        for shard in (json["shards"] as? [[String: Any]]) ?? [] where shard["grid"] as? String == grid {
            if let node = shard["node"] as? String { byNode[node] = shard }
        }
        return byNode
    }

    @Test func runsListsQueuedAndRunningShardsWithTheRunningOnesRun() throws {
        for node in ["node1", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        let tree = try TemporaryTree(["suite/.keep": "", "node1.ids": "/waits\n", "node3.ids": "/waits\n"])
        try "tests:\n  waits:\n    run: 'while [ ! -e \(tree["release"]) ]; do sleep 0.1; done'\n    timeout: 60s\n"
            .write(toFile: tree["suite/testbed.yaml"], atomically: true, encoding: .utf8)
        let grid = "grid-20261130-101500-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
        // Before any run is recorded: no results directory yet, a warning, and the list all the same.
        let empty = try testbed(["runs", "--grid", "slurm", "--results", tree["results"]], in: tree.path)
        #expect(empty.status == 0 && empty.stderr.contains("testbed: warning: results directory"), "\(empty.stderr)")
        #expect(empty.stdout.hasPrefix("no runs\n\n"), "\(empty.stdout)")

        // node3 drained: its shard is accepted and waits (ReqNodeNotAvail).
        let drained = try runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node3", "State=DRAIN", "Reason=testbed: fan broken"])
        #expect(drained.status == 0, "\(drained.stderr)")
        defer { _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node3", "State=RESUME"]) }
        let pending = try submitShard(tree, grid: grid, node: "node3", database: nil)
        let running = try submitShard(tree, grid: grid, node: "node1", database: nil)
        defer { _ = try? runProgram("/usr/bin/env", ["scancel", pending, running]) }

        var shards: [String: [String: Any]] = [:]
        let both = try eventually(within: 60) {
            shards = try listedShards(tree, grid: grid)
            return shards["node1"]?["run"] is String && shards["node3"] != nil
        }
        #expect(both, "\(shards)")
        let node1 = try #require(shards["node1"])
        #expect(node1["job"] as? String == running && node1["state"] as? String == "running" && node1["nodes"] as? String == "node1",
                "\(node1)")
        let runs = try shardRuns(tree, database: nil)
        #expect(runs.first?["id"] as? String == node1["run"] as? String && runs.first?["state"] as? String == "running", "\(runs)")
        let node3 = try #require(shards["node3"])
        #expect(node3["job"] as? String == pending && node3["state"] as? String == "pending" && node3["run"] is NSNull, "\(node3)")
        #expect((node3["reason"] as? String)?.hasPrefix("ReqNodeNotAvail") == true, "\(node3)")

        let text = try testbed(["runs", "--grid", "slurm", "--results", tree["results"]], in: tree.path)
        #expect(text.stdout.contains("grid shards queued or running on Slurm:\nGRID"), "\(text.stdout)")
        let row = text.stdout.split(separator: "\n").first { $0.contains(grid) && $0.contains(" node3 ") }.map(String.init) ?? ""
        #expect(row.contains(" \(pending) ") && row.contains("pending (ReqNodeNotAvail"), "\(text.stdout)")

        // Released, the running shard ends and leaves the list; the pending one is cancelled.
        FileManager.default.createFile(atPath: tree["release"], contents: Data())
        _ = try runProgram("/usr/bin/env", ["scancel", pending])
        #expect(try eventually(within: 60) { try listedShards(tree, grid: grid).isEmpty })
        #expect(try shardRuns(tree, database: nil).first?["state"] as? String == "complete")
    }
}

extension GridHostsTests {
    /// The node check of `--grid-node` asks Slurm before the run's snapshot starts: while the snapshot's probes run,
    /// a child that is not one of their helpers is swept as an orphan (scontrol was killed: "exited with status 9").
    @Test func aShardsNodeCheckIsNeverSweptAsAnOrphan() throws {
        #expect(try waitForStatus("node1", "online"))
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  one: 'true'\n  two: 'true'\n"])
        for attempt in 1...6 {
            let run = try testbed(["run", ".", "-q", "--grid-node", "node1", "--results", tree["results"]], in: tree.path)
            #expect(run.status == 0, "attempt \(attempt): \(run.stderr)")
            #expect(!run.stderr.contains("--grid-node"), "attempt \(attempt): \(run.stderr)")
        }
    }
}
