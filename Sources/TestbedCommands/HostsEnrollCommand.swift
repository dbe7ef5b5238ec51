import ArgumentParser
import Execution
import Foundation
import Grid
import HostFacts
import Results

/// `testbed hosts enroll`: probes this grid node, records it in the results database and sets its Slurm features;
/// `--all` does so on every node, one Slurm job each.
struct HostsEnrollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Probe this node of the Slurm grid, record its facts and snapshot, and set its Slurm features.",
        discussion: """
        Probes the host (as `testbed run` does: its facts and its snapshot), \
        records it in the results database (one row per node, replaced at \
        each enrolment) and sets the node's Slurm features: what slurm.conf \
        gave it, and those its facts give (docs/grid.md has the table: the \
        environment's provides tags, kvm, arch_ARCH, kernel_MAJOR_MINOR, \
        qemu_MAJOR_MINOR). Features set so are lost when slurmctld restarts \
        from its slurm.conf: enrol again then.

        The node is --node, else $SLURMD_NODENAME (set inside a Slurm job), \
        else this host's short name. --all submits one job per online node \
        (`sbatch -w NODE`) that runs `testbed hosts enroll --node NODE` with the \
        same --environment, --results and --database (given to the job as \
        $TESTBED_DATABASE, out of its arguments), waits for them, and prints each \
        node's result (with the job's output file when it failed); halted and \
        offline nodes are skipped. The results directory must be on a file \
        system every node sees.

          testbed hosts enroll -e lab
          testbed hosts enroll --all

        Exit codes: 0 enrolled, 1 some node failed (--all), 2 Slurm cannot be asked, 64 bad command line or no such node.
        """)

    @OptionGroup var environmentOptions: EnvironmentOptions

    @Option(help: ArgumentHelp("The node's name (default: $SLURMD_NODENAME, else this host's short name).", valueName: "name"))
    var node: String?

    @Flag(help: "Enrol every online node: one Slurm job each, followed until it ends.")
    var all = false

    @Option(help: ArgumentHelp("The results directory the host is recorded in (default: ./testbed-results if it exists, "
        + "else testbed-results at the suite root; made when missing).", valueName: "dir"))
    var results: String?

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Seconds --all waits for the jobs to end.", valueName: "seconds"))
    var timeout: Double = 600

    @Option(help: ArgumentHelp("The grid (only `slurm`, the default).", valueName: "grid"))
    var grid: GridKind = .slurm

    func validate() throws {
        if all, node != nil { throw ValidationError("--all enrols every node; leave out --node NAME, or --all") }
        guard timeout > 0 else { throw ValidationError("--timeout \(timeout) is not a number of seconds above 0; give one, e.g. 600") }
    }

    func run() throws {
        let results = URL(fileURLWithPath: self.results ?? ReportCommand.defaultResults()).standardizedFileURL.path
        if all {
            try enrollAll(results: results)
        } else {
            try enrollHere(node ?? Self.defaultNode(), results: results)
        }
    }

    /// `$SLURMD_NODENAME`, else the short host name.
    static func defaultNode() -> String {
        if let name = ProcessInfo.processInfo.environment["SLURMD_NODENAME"], !name.isEmpty { return name }
        let host = SnapshotProbe.hostname() ?? ProcessInfo.processInfo.hostName
        return String(host.split(separator: ".").first ?? Substring(host))
    }

    /// Enrols this host as `name`: probe, features, row.
    func enrollHere(_ name: String, results: String) throws {
        let slurm = Slurm()
        let node: GridNode
        do { node = try slurm.node(name) } catch { throw gridFailure(error) }
        progress("probing \(name)")
        let environment = try environmentOptions.load()
        let derived = NodeFeatures(environment: environment)
        for left in derived.leftOut { writeText("testbed: warning: \(name): left out of the features: \(left.escapingControls)\n", to: STDERR_FILENO) }
        let collected = SnapshotProbe(environment: environment, suiteRoot: nil, resultsDirectory: results).collect()
        let store: any RunStore
        let previous: [String]
        do {
            store = try openStore(results, database: database.url, create: true)
            previous = try store.enrolledHosts().first { $0.name == name }?.derivedFeatures ?? []
        } catch { throw historyFailure(error) }
        // The node's own feature (`host_NODE`) comes with the derived ones: a grid run's shard asks for it.
        let derivedFeatures = derived.features + [NodeFeatures.host(name)].filter { !derived.features.contains($0) }
        let features = NodeFeatures.merged(current: node.availableFeatures, previous: previous, derived: derivedFeatures)
        do { try slurm.setFeatures(name, features) } catch { throw gridFailure(error) }
        let host = EnrolledHost(name: name, enrolled: Date(), environment: environment.environmentName, facts: environment.allFacts(),
                                snapshot: collected.provenance.snapshot, derivedFeatures: derivedFeatures, features: features)
        do { try store.enrol(host) } catch { throw historyFailure(error) }
        emit("enrolled \(name.escapingControls): \(features.joined(separator: ",").escapingControls)\n")
    }

    /// Submits one enrolment job per online node, follows them to their end, prints each node's result.
    func enrollAll(results: String) throws {
        let slurm = Slurm()
        let nodes: [GridNode]
        do { nodes = try slurm.nodes() } catch { throw gridFailure(error) }
        let logs = results + "/enroll"
        do {
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("cannot create \(logs.escapingControls): \(error.localizedDescription); choose another --results DIR",
                                 status: ExitPolicy.cannotCreate)
        }
        let program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var jobs: [(node: String, id: String)] = []
        var failed = 0
        for node in nodes {
            guard node.status == .online else {
                emit("\(node.name.escapingControls) skipped: \(node.status.word)\(node.reason.map { " (\($0.escapingControls))" } ?? "")\n")
                continue
            }
            var command = [program, "hosts", "enroll", "--node", node.name, "--results", results]
            if let environment = environmentOptions.environment { command += ["--environment", environment] }
            do {
                // The database URL goes to the job in its environment: a password in its arguments could be listed by anyone.
                let id = try slurm.submit(name: "testbed-enroll-\(node.name)", node: node.name, output: logs + "/\(node.name)-%j.log",
                                          command: command, environment: database.url.map { ["TESTBED_DATABASE": $0] } ?? [:])
                progress("submitted job \(id) on \(node.name)")
                jobs.append((node.name, id))
            } catch {
                emit("\(node.name.escapingControls) failed: \(error.description.escapingControls)\n")
                failed += 1
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        var ended: [String: SlurmJob] = [:]
        while ended.count < jobs.count {
            let found: [String: SlurmJob]
            do { found = try slurm.jobs(jobs.map(\.id).filter { ended[$0] == nil }) } catch { throw gridFailure(error) }
            for (id, job) in found where job.hasEnded { ended[id] = job }
            if ended.count == jobs.count { break }
            guard Date() < deadline else { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        for (node, id) in jobs {
            let log = logs + "/\(node)-\(id).log"
            guard let job = ended[id] else {
                emit("\(node.escapingControls) failed: job \(id) still \(timeoutState(id, slurm)) after \(Int(timeout)) s; see \(log.escapingControls)\n")
                failed += 1
                continue
            }
            if job.succeeded {
                emit("\(node.escapingControls) ok (job \(id))\n")
            } else {
                emit("\(node.escapingControls) failed: job \(id) \(job.state) (\(job.reason.escapingControls)); see \(log.escapingControls)\n")
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(ExitPolicy.testFailure) }
    }

    /// A job's state in words, for the timeout message.
    func timeoutState(_ id: String, _ slurm: Slurm) -> String {
        ((try? slurm.jobs([id]))?[id]?.state ?? "unknown").lowercased()
    }

    /// A progress line on stderr.
    func progress(_ text: String) {
        writeText("testbed: \(text.escapingControls)\n", to: STDERR_FILENO)
    }
}
