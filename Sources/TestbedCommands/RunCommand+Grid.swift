import ArgumentParser
import Execution
import Foundation
import Grid
import HostFacts
import Results

/// `run --grid slurm`'s options.
struct GridRunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Run over the grid (only `slurm`: the grid SLURM_CONF names): one shard per node, each "
        + "an ordinary `testbed run` of its tests in one Slurm job on its node, writing to the shared database.",
        valueName: "grid"))
    var grid: GridKind?

    @Flag(name: .customLong("no-wait"), help: "With --grid: submit the shards, print their jobs and return (exit 0).")
    var noWait = false

    @Flag(name: .customLong("replace-on-halt"), help: ArgumentHelp("With --grid: when a shard's node halts (a setup failed there) or "
        + "cannot take its shard, run its tests that had not started on other nodes that suit them."))
    var replaceOnHalt = false

    @Option(name: .customLong("timeout"), help: ArgumentHelp("With --grid: seconds to follow the shards before giving up "
        + "on them (they keep running; default: no limit).", valueName: "seconds"))
    var timeout: Double?

    /// Refuses grid options without --grid, and a timeout that is no number of seconds above 0.
    func validate() throws {
        if grid == nil {
            if noWait { throw ValidationError("--no-wait is for a grid run; add --grid slurm, or leave --no-wait out") }
            if replaceOnHalt { throw ValidationError("--replace-on-halt is for a grid run; add --grid slurm, or leave it out") }
            if timeout != nil { throw ValidationError("--timeout is for a grid run; add --grid slurm, or leave --timeout out") }
        }
        if replaceOnHalt && noWait {
            throw ValidationError("--replace-on-halt needs the run to be followed; leave out --no-wait")
        }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout \(timeout) is not a number of seconds above 0; give one, e.g. 3600") }
    }
}

/// One shard as a grid run submitted it.
struct SubmittedShard: Encodable {
    /// The node.
    let node: String
    /// Its Slurm job id.
    let job: String
    /// How many tests.
    let tests: Int
    /// The shard's name (`node1`, `node3~2` for a replacement): its ids file, log and `grid-shard` label.
    let shard: String
}

extension RunCommand {
    /// The grid run's id: `grid-` + UTC `yyyyMMdd-HHmmss` + `-` + 4 random hex digits.
    static func newGridID(_ now: Date = Date()) -> String {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyyMMdd-HHmmss"
        return "grid-" + format.string(from: now) + "-" + String(format: "%04x", UInt16.random(in: .min ... .max))
    }

    /// `run --grid slurm`: place, shard, submit, follow, summarise.
    func runGrid() async throws {
        let catalog = try await selection.loadCatalog(policy: policy)
        let testSelection = try selection.selection()
        try selection.checkVariants(catalog, selection: testSelection, policy: policy)
        let results = URL(fileURLWithPath: self.results ?? selection.suitePaths.defaultResults).standardizedFileURL.path
        let store: any RunStore
        do { store = try openStore(results, database: database.url, create: true) } catch {
            throw CommandFailure(error.description, status: policy.cannotWork)
        }
        let slurm = Slurm()
        let (placement, _) = try GridPlacementLoader(slurm: slurm, store: store).place(catalog, selection: testSelection, policy: policy)
        guard !placement.tests.isEmpty else {
            writeText("testbed: \(selection.nothingSelectedMessage(catalog, command: "run"))\n", to: STDERR_FILENO)
            throw ExitCode(policy.nothingSelected)
        }
        let durations = store.history().mapValues(\.duration)
        let plan = ShardPlan.make(placement, durations: durations)
        let grid = Self.newGridID()
        let directory = results + "/grid/" + grid
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CommandFailure("cannot create \(directory.escapingControls): \(error.localizedDescription); choose another --results DIR",
                                 status: ExitPolicy.cannotCreate)
        }
        var follow = GridFollow(command: self, slurm: slurm, store: store, placement: placement, durations: durations,
                                grid: grid, directory: directory, results: results)
        follow.say(grid)
        for id in plan.unplaced {
            guard let test = placement.tests.first(where: { $0.id == id }) else { continue }
            if let why = Self.unusableCandidates(test, placement: placement) {
                follow.say("\(id): not run: \(why)")
                follow.notRun.append((id, why))
                continue
            }
            let reasons = test.refusals.map { "\($0.node): \($0.unmet.map { $0.reason }.joined(separator: "; "))" }
            follow.say("\(id): unsupported on every node (\(reasons.joined(separator: " | ")))")
        }
        for shard in plan.shards { try follow.submit(shard.tests, on: shard.node) }
        if gridOptions.noWait {
            if json { emit(encodeJSON(NoWaitOutput(grid: grid, shards: follow.submitted)) + "\n") }
            return
        }
        let code = try await follow.run()
        if code != ExitPolicy.success { throw ExitCode(code) }
    }

    /// Why a test that enrolled nodes can run gets no shard: each of those nodes is halted or offline (nil when no
    /// enrolled node can run it: then it is unsupported).
    ///
    /// - Parameters:
    ///   - test: the test, as placed.
    ///   - placement: the placement (for each node's status and detail).
    /// - Returns: `only node2 can run it, and node2 is halted (REASON)`, or nil.
    static func unusableCandidates(_ test: GridPlacement.Test, placement: GridPlacement) -> String? {
        let names = test.candidates.map(\.node)
        guard !names.isEmpty else { return nil }
        let states = names.map { name -> String in
            guard let node = placement.nodes.first(where: { $0.name == name }) else { return "\(name) is unknown" }
            return "\(name) is \(node.status)" + (node.detail.map { " (\($0))" } ?? "")
        }
        let who = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " and " + names[names.count - 1]
        return "only \(who) can run it, and " + states.joined(separator: ", ")
    }

    /// What `run --grid slurm --no-wait --json` prints.
    struct NoWaitOutput: Encodable {
        let grid: String
        let shards: [SubmittedShard]
    }

    /// The command line of one shard: this testbed's `run` of the suite with the shard's ids file, and the options
    /// passed through (the database URL is not among them: it goes to the job's environment).
    ///
    /// - Parameters:
    ///   - idsFile: the shard's ids file.
    ///   - node: its node.
    ///   - grid: the grid run's id.
    ///   - shard: the shard's name (its `grid-shard` label).
    ///   - results: the results directory, absolute.
    /// - Returns: the argument vector.
    func shardCommand(idsFile: String, node: String, grid: String, shard: String, results: String) -> [String] {
        let program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let here = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: here)).standardizedFileURL.path }
        var command = [program, "run"] + selection.paths.map(absolute)
        command += ["--ids-from", idsFile, "--grid-node", node, "--label", "grid-run=\(grid)", "--label", "grid-shard=\(shard)",
                    "--results", results]
        if let environment = environmentOptions.environment {
            command += ["--environment", FileManager.default.fileExists(atPath: environment) ? absolute(environment) : environment]
        }
        if let jobs { command += ["-j", String(jobs)] }
        if haltOnInfra { command.append("--halt-on-infra") }
        if exitCodes != .standard { command += ["--exit-codes", exitCodes.rawValue] }
        if timeoutMultiplierText != "1" { command += ["--timeout-multiplier", timeoutMultiplierText] }
        if killGrace != "5s" { command += ["--kill-grace", killGrace] }
        if rerunFailures > 0 { command += ["--rerun-failures", String(rerunFailures)] }
        for label in labelTexts { command += ["--label", label] }
        for letters in taintIgnore { command += ["--taint-ignore", letters] }
        if planOrder { command.append("--plan-order") }
        if selection.allowDirty { command.append("--allow-dirty") }
        return command
    }
}

extension GridShardOptions {
    /// The environment of a grid shard with its node's Slurm features as tags (what placement counted on); the
    /// environment as it is for a run that is no shard, or when Slurm cannot be asked (`checkNode` says so).
    ///
    /// - Parameter environment: the run's environment.
    /// - Returns: the environment to plan and run with.
    func withNodeFeatures(_ environment: Environment) -> Environment {
        guard let gridNode, let node = try? Slurm().node(gridNode) else { return environment }
        return environment.addingTags(node.availableFeatures, origin: "slurm feature of \(gridNode)")
    }
}
