import Execution
import Foundation
import Grid
import Results

/// A grid run after its plan: submits shards, follows them with `squeue` (every 0.5 s) until each has ended,
/// cancels and deals with those whose node halts or is lost, and sums the shards' runs up.
struct GridFollow {
    /// The `run` command (its options go to each shard).
    let command: RunCommand
    /// The grid.
    let slurm: Slurm
    /// The shared store.
    let store: any RunStore
    /// Which nodes can run which test.
    let placement: GridPlacement
    /// Recorded durations by test id, in seconds.
    let durations: [String: Double]
    /// The grid run's id.
    let grid: String
    /// `RESULTS/grid/GRID`.
    let directory: String
    /// The results directory, absolute.
    let results: String

    /// Every shard submitted, in order.
    var submitted: [SubmittedShard] = []
    /// The follower's view of each submitted shard (same order).
    var watches: [ShardWatch] = []
    /// Tests that did not run, with why (a shard that could not be submitted or was stranded).
    var notRun: [(test: String, why: String)] = []
    /// Shards submitted per node so far (a replacement is `NODE~2`).
    var perNode: [String: Int] = [:]
    /// Nodes that halted, were lost or stranded a shard: no replacement goes there.
    var excluded: Set<String> = []
    /// Whether `--timeout` ran out.
    var timedOut = false

    init(command: RunCommand, slurm: Slurm, store: any RunStore, placement: GridPlacement, durations: [String: Double],
         grid: String, directory: String, results: String) {
        self.command = command
        self.slurm = slurm
        self.store = store
        self.placement = placement
        self.durations = durations
        self.grid = grid
        self.directory = directory
        self.results = results
    }

    /// A line of progress: stdout, or stderr when the output is JSON.
    func say(_ text: String) {
        writeText(text.escapingControls + "\n", to: command.json ? STDERR_FILENO : STDOUT_FILENO)
    }

    /// Writes a shard's ids file and submits its job (`sbatch --constraint=host_NODE --no-requeue`); a submission
    /// Slurm refuses leaves its tests not run.
    ///
    /// - Parameters:
    ///   - tests: the test ids.
    ///   - node: the node.
    ///   - replacing: the shard whose tests these are, for a replacement.
    /// - Throws: `CommandFailure` when the ids file cannot be written.
    mutating func submit(_ tests: [String], on node: String, replacing: String? = nil) throws {
        let count = (perNode[node] ?? 0) + 1
        perNode[node] = count
        let shard = count == 1 ? node : "\(node)~\(count)"
        let idsFile = directory + "/\(shard).ids"
        do {
            try Data((tests.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: idsFile))
        } catch {
            throw CommandFailure("cannot write \(idsFile.escapingControls): \(error.localizedDescription); choose another --results DIR",
                                 status: ExitPolicy.cannotCreate)
        }
        let arguments = command.shardCommand(idsFile: idsFile, node: node, grid: grid, shard: shard, results: results)
        do {
            // The database URL goes to the job in its environment: a password in its arguments could be listed by anyone.
            let job = try slurm.submit(name: "testbed-shard:\(grid):\(shard)", constraint: NodeFeatures.host(node),
                                       output: directory + "/\(shard)-%j.log", command: arguments,
                                       environment: command.database.url.map { ["TESTBED_DATABASE": $0] } ?? [:])
            say("\(shard): job \(job), \(tests.count) test\(tests.count == 1 ? "" : "s")" + (replacing.map { " (from \($0))" } ?? ""))
            submitted.append(SubmittedShard(node: node, job: job, tests: tests.count, shard: shard))
            watches.append(ShardWatch(node: node, job: job, tests: tests))
        } catch {
            say("\(shard): not submitted: \(error.description)")
            notRun += tests.map { ($0, "its shard on \(node) could not be submitted") }
        }
    }

    /// The shard's name of a watch.
    func name(_ index: Int) -> String { submitted[index].shard }

    /// Follows every shard until each has ended (or `--timeout` runs out), then sums up.
    ///
    /// - Returns: the exit code over all shards.
    mutating func run() async throws -> Int32 {
        let deadline = command.gridOptions.timeout.map { Date().addingTimeInterval($0) }
        var complained = false
        while watches.contains(where: { !$0.isOver }) {
            if let deadline, Date() > deadline {
                timedOut = true
                say("gave up following after \(Int(command.gridOptions.timeout ?? 0)) s: "
                    + watches.indices.filter { !watches[$0].isOver }.map { "\(name($0)) (job \(watches[$0].job))" }.joined(separator: ", ")
                    + " still queued or running")
                break
            }
            do {
                let jobs = try slurm.jobs(watches.filter { !$0.isOver }.map(\.job))
                let nodes = Dictionary(try slurm.nodes().map { ($0.name, $0) }) { first, _ in first }
                for event in ShardFollower.look(&watches, jobs: jobs, nodes: nodes) { try handle(event, nodes: nodes) }
                complained = false
            } catch let error as GridError {
                // slurmctld may be restarting: keep asking, say so once.
                if !complained { say("cannot ask Slurm (\(error.description)); asking again") }
                complained = true
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return try summary()
    }

    /// Acts on one event.
    mutating func handle(_ event: ShardEvent, nodes: [String: GridNode]) throws {
        switch event {
        case let .started(index):
            say("\(name(index)): running (job \(watches[index].job))")
        case let .ended(index, state, reason, nodeHalted):
            let watch = watches[index]
            say("\(name(index)): ended, \(state.lowercased())" + (state == "COMPLETED" || reason == "None" ? "" : " (\(reason))"))
            if try shardRun(name(index)) == nil {
                // No run: none of its tests ran. Not run, or placed elsewhere as a halted node's unstarted tests.
                let why = "its shard's job \(watch.job) ended \(state.lowercased()) without a run; see \(directory)/\(name(index))-\(watch.job).log"
                if nodeHalted, case let .halted(halt, _, _)? = nodes[watch.node]?.status { say("\(watch.node) halted: \(halt)") }
                if command.gridOptions.replaceOnHalt {
                    excluded.insert(watch.node)
                    try replace(watch.tests, from: name(index), why: why)
                } else {
                    if nodeHalted { excluded.insert(watch.node) }
                    notRun += watch.tests.map { ($0, why) }
                }
                return
            }
            guard nodeHalted else { return }
            excluded.insert(watch.node)
            if case let .halted(why, _, _)? = nodes[watch.node]?.status { say("\(watch.node) halted: \(why)") }
            guard command.gridOptions.replaceOnHalt else { return }
            let unstarted = try unstartedTests(of: index)
            if !unstarted.isEmpty { try replace(unstarted, from: name(index)) }
        case let .lost(index):
            let watch = watches[index]
            excluded.insert(watch.node)
            try? slurm.cancel(watch.job)
            let reason = "host lost: node \(watch.node) stopped answering"
            if let run = try shardRun(name(index)) {
                do {
                    try store.interruptUnfinished(run: run.id, tests: watch.tests, reason: reason, at: Date())
                } catch {
                    say("\(name(index)): cannot mark its unfinished tests interrupted: \(error.description)")
                }
                say("\(name(index)): \(reason); job \(watch.job) cancelled, run \(run.id) keeps its finished results, the rest interrupted")
            } else {
                say("\(name(index)): \(reason); job \(watch.job) cancelled before its run was recorded: its \(watch.tests.count) tests did not run")
                notRun += watch.tests.map { ($0, reason) }
            }
        case let .stranded(index, status):
            let watch = watches[index]
            excluded.insert(watch.node)
            try? slurm.cancel(watch.job)
            let detail: String = if case let .halted(why, _, _)? = nodes[watch.node]?.status { " (\(why))" } else { "" }
            say("\(name(index)): \(watch.node) is \(status)\(detail) and would keep job \(watch.job) waiting; cancelled")
            if command.gridOptions.replaceOnHalt {
                try replace(watch.tests, from: name(index))
            } else {
                notRun += watch.tests.map { ($0, "node \(watch.node) is \(status)") }
            }
        }
    }

    /// The tests of a shard that never started: no result, still pending, or blocked.
    func unstartedTests(of index: Int) throws -> [String] {
        guard let run = try shardRun(name(index)) else { return watches[index].tests }
        let outcomes: [TestResult]
        do { outcomes = try store.outcomes(ofRun: run.id).tests } catch {
            throw CommandFailure(error.description, status: ExitPolicy.infrastructureFailure)
        }
        let byID = Dictionary(outcomes.map { ($0.id, $0.outcome) }) { first, _ in first }
        return watches[index].tests.filter { id in
            guard let outcome = byID[id] else { return true }
            return outcome == .blocked || outcome == .interrupted
        }
    }

    /// Places tests again on other usable nodes (not those halted, lost or stranded) and submits them.
    ///
    /// - Parameters:
    ///   - tests: the test ids.
    ///   - shard: the shard they were in.
    ///   - why: why they left it, for a test no other node can run (nil: its node halted).
    /// - Throws: `CommandFailure` when an ids file cannot be written.
    mutating func replace(_ tests: [String], from shard: String, why: String? = nil) throws {
        let plan = ShardPlan.make(placement, durations: durations, tests: Set(tests), excluding: excluded)
        for id in plan.unplaced {
            say("\(id): no other node can run it")
            notRun.append((id, (why.map { $0 + "; " } ?? "its node halted and ") + "no other node can run it"))
        }
        for part in plan.shards { try submit(part.tests, on: part.node, replacing: shard) }
    }

    /// The run of one shard (labelled `grid-shard=SHARD`); nil before it is recorded.
    func shardRun(_ shard: String) throws -> RunReport.Run? {
        do { return try store.shardRuns(grid: grid).first { $0.labels["grid-shard"] == shard } } catch {
            throw CommandFailure(error.description, status: ExitPolicy.infrastructureFailure)
        }
    }

    /// What the JSON summary says of one shard.
    struct ShardOutput: Encodable {
        let shard: String
        let node: String
        let job: String
        let tests: Int
        let state: String
        let run: String?
        let exitCode: Int32?
    }

    /// What `run --grid --json` prints at the end.
    struct Output: Encodable {
        let grid: String
        let shards: [ShardOutput]
        let counts: [String: Int]
        let notRun: [String: String]
        let exitCode: Int32
    }

    /// Prints the summary over all shards and returns the exit code: the bits of each shard run's code (a run the
    /// grid interrupted, a shard without a run, tests not run and a timeout are infrastructure).
    func summary() throws -> Int32 {
        let runs: [RunReport.Run]
        do { runs = try store.shardRuns(grid: grid) } catch {
            throw CommandFailure(error.description, status: ExitPolicy.infrastructureFailure)
        }
        let byShard = Dictionary(runs.compactMap { run in run.labels["grid-shard"].map { ($0, run) } }) { first, _ in first }
        var final: [String: TestOutcome] = [:]
        var order: [String] = []
        var testFailure = false
        var infrastructure = !notRun.isEmpty || timedOut
        var shards: [ShardOutput] = []
        var lines: [String] = []
        for (index, watch) in watches.enumerated() {
            let shard = name(index)
            let state: String = switch watch.phase {
            case .pending: "pending"
            case .running: "running"
            case let .ended(state): state.lowercased()
            case .lost: "lost"
            case let .stranded(status): "cancelled (node \(status))"
            }
            let run = byShard[shard]
            shards.append(ShardOutput(shard: shard, node: watch.node, job: watch.job, tests: watch.tests.count, state: state,
                                      run: run?.id, exitCode: run?.exitCode))
            guard let run else {
                if case .stranded = watch.phase {} else {
                    infrastructure = true
                    lines.append("\(shard): job \(watch.job) \(state) without a run; see \(directory)/\(shard)-\(watch.job).log")
                }
                continue
            }
            do {
                // Each test once, by its last shard's outcome (a replacement's over the blocked one it replaced).
                for result in try store.outcomes(ofRun: run.id).tests where watch.tests.contains(result.id) {
                    if final[result.id] == nil { order.append(result.id) }
                    final[result.id] = result.outcome
                }
            } catch {
                throw CommandFailure(error.description, status: ExitPolicy.infrastructureFailure)
            }
            let code = run.exitCode ?? ExitPolicy.infrastructureFailure
            if code == ExitPolicy.testFailure || code == 3 { testFailure = true }
            if code != ExitPolicy.success && code != ExitPolicy.testFailure { infrastructure = true }
            let shown = (run.counts ?? [:]).sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }
            lines.append("\(shard): run \(run.id), \(shown.isEmpty ? "no results" : shown.joined(separator: ", "))")
        }
        let code = (testFailure ? ExitPolicy.testFailure : 0) | (infrastructure ? ExitPolicy.infrastructureFailure : 0)
        var counts: [String: Int] = [:]
        for outcome in final.values { counts[outcome.rawValue, default: 0] += 1 }
        let troubled = order.filter { [.fail, .blocked, .error, .timeout, .interrupted].contains(final[$0]) }
        if command.json {
            emit(encodeJSON(Output(grid: grid, shards: shards, counts: counts,
                                   notRun: Dictionary(notRun.map { ($0.test, $0.why) }) { first, _ in first }, exitCode: code)) + "\n")
        } else {
            var text = "\n\(grid): \(watches.count) shard\(watches.count == 1 ? "" : "s")\n"
            for line in lines { text += "  \(line.escapingControls)\n" }
            for item in notRun { text += "  not run: \(item.test.escapingControls) (\(item.why.escapingControls))\n" }
            for id in troubled.prefix(10) { text += "  \(final[id]?.rawValue ?? ""): \(id.escapingControls)\n" }
            if troubled.count > 10 { text += "  and \(troubled.count - 10) more\n" }
            let total = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            text += "total: " + (total.isEmpty ? "no results" : total.joined(separator: ", ")) + "\n"
            emit(text)
        }
        return code
    }
}
