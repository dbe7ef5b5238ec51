import Synchronization
import Testing

@testable import Grid

/// Slurm's commands answered from a table; remembers what ran.
final class FakeSlurmCommands: SlurmCommands {
    let answers: [String: Result<String, GridError>]
    let ran = Mutex<[[String]]>([])

    init(_ answers: [String: Result<String, GridError>]) { self.answers = answers }

    func run(_ arguments: [String]) throws(GridError) -> String {
        ran.withLock { $0.append(arguments) }
        let key = arguments.joined(separator: " ")
        guard let answer = answers[key] ?? answers.first(where: { key.hasPrefix($0.key) })?.value else { return "" }
        return try answer.get()
    }
}

@Suite struct SlurmTests {
    func slurm(nodes fixtureName: String, more: [String: Result<String, GridError>] = [:]) throws -> (Slurm, FakeSlurmCommands) {
        var answers = more
        answers["scontrol show node -o"] = .success(try fixture(fixtureName))
        let fake = FakeSlurmCommands(answers)
        return (Slurm(commands: fake), fake)
    }

    @Test func resumeOfAHaltedNodeRunsScontrolResume() throws {
        let (slurm, fake) = try slurm(nodes: "scontrol-show-node-running-drained.txt")
        let before = try slurm.resume("node2")
        #expect(before.status.word == "halted")
        #expect(fake.ran.withLock { $0.last } == ["scontrol", "update", "NodeName=node2", "State=RESUME"])
    }

    @Test func resumeOfAnOnlineNodeSaysItsStatus() throws {
        let (slurm, fake) = try slurm(nodes: "scontrol-show-node-idle.txt")
        #expect(throws: GridError.notHalted("node1", "online (IDLE)")) { try slurm.resume("node1") }
        #expect(fake.ran.withLock { $0.count } == 1)
    }

    @Test func anUnknownNodeSuggestsTheNearest() throws {
        let (slurm, _) = try slurm(nodes: "scontrol-show-node-idle.txt")
        #expect(throws: GridError.noSuchNode("nod2", ["node2"])) { try slurm.resume("nod2") }
        #expect(throws: GridError.noSuchNode("elsewhere", [])) { try slurm.node("elsewhere") }
    }

    @Test func drainPutsTestbedsPrefixBeforeTheReason() throws {
        let (slurm, fake) = try slurm(nodes: "scontrol-show-node-idle.txt")
        try slurm.drain("node3", reason: " fan broken ")
        #expect(fake.ran.withLock { $0.last } == ["scontrol", "update", "NodeName=node3", "State=DRAIN", "Reason=testbed: fan broken"])
        #expect(throws: GridError.emptyReason) { try slurm.drain("node3", reason: "  ") }
    }

    @Test func setFeaturesSetsAvailableAndActive() throws {
        let (slurm, fake) = try slurm(nodes: "scontrol-show-node-idle.txt")
        try slurm.setFeatures("node1", ["lab_a", "kvm"])
        #expect(fake.ran.withLock { $0.last }
            == ["scontrol", "update", "NodeName=node1", "AvailableFeatures=lab_a,kvm", "ActiveFeatures=lab_a,kvm"])
    }

    @Test func submitQuotesTheCommandAndReadsTheJobID() throws {
        let (slurm, fake) = try slurm(nodes: "scontrol-show-node-idle.txt", more: ["sbatch": .success("17\n")])
        let id = try slurm.submit(name: "enroll", node: "node1", output: "/tmp/o-%j", command: ["/usr/bin/testbed", "hosts", "it's"])
        #expect(id == "17")
        #expect(fake.ran.withLock { $0.last }
            == ["sbatch", "--parsable", "-J", "enroll", "-w", "node1", "-o", "/tmp/o-%j", "--wrap", "/usr/bin/testbed hosts 'it'\\''s'"])
    }

    @Test func submitSetsTheEnvironmentBeforeTheCommandNotInItsArguments() throws {
        let (slurm, fake) = try slurm(nodes: "scontrol-show-node-idle.txt", more: ["sbatch": .success("18;grid\n")])
        let id = try slurm.submit(name: "enroll", node: "node2", output: "/tmp/o-%j", command: ["/usr/bin/testbed", "hosts", "enroll"],
                                  environment: ["TESTBED_DATABASE": "postgresql://u:p w@h/db", "A": "1"])
        #expect(id == "18")
        #expect(fake.ran.withLock { $0.last?.last }
            == "A=1 TESTBED_DATABASE='postgresql://u:p w@h/db' /usr/bin/testbed hosts enroll")
    }

    @Test func jobsAreReadByID() throws {
        let (slurm, fake) = try slurm(nodes: "scontrol-show-node-idle.txt", more: ["squeue": .success(try fixture("squeue-all.txt"))])
        let jobs = try slurm.jobs(["2", "3"])
        #expect(jobs["2"]?.state == "FAILED")
        #expect(fake.ran.withLock { $0.last } == ["squeue", "-h", "-t", "all", "-j", "2,3", "-o", "%i|%j|%T|%r|%N"])
    }

    @Test func aFailingCommandsErrorNamesItAndItsLine() {
        let error = GridError.commandFailed(["sinfo"], 1, "sinfo: error: Unable to contact slurm controller")
        #expect(error.description.hasPrefix("`sinfo` exited with status 1: sinfo: error: Unable to contact slurm controller; "))
        #expect(error.description.contains("scripts/local-grid up"))
    }

    @Test func withoutSlurmConfTheRealCommandsSaySo() {
        let commands = SystemSlurmCommands(environment: ["PATH": "/usr/bin:/bin"])
        #expect(throws: GridError.noConfiguration) { try commands.run(["sinfo"]) }
        let missing = SystemSlurmCommands(environment: ["PATH": "/nonexistent", "SLURM_CONF": "/dev/null"])
        #expect(throws: GridError.notInstalled("sinfo")) { try missing.run(["sinfo"]) }
        // A SLURM_CONF that names no file: at once, not after Slurm's minute of retries.
        let nowhere = SystemSlurmCommands(environment: ["PATH": "/usr/bin:/bin", "SLURM_CONF": "/nonexistent/slurm.conf"])
        let error = #expect(throws: GridError.self) { try nowhere.run(["/bin/true"]) }
        #expect(error == .missingConfiguration("/nonexistent/slurm.conf"))
        #expect(error?.description.contains("SLURM_CONF names /nonexistent/slurm.conf, which does not exist") == true)
    }

    @Test func theRealCommandsRunAProgramAndReportItsFailure() {
        let commands = SystemSlurmCommands(environment: ["PATH": "/usr/bin:/bin", "SLURM_CONF": "/dev/null"])
        #expect((try? commands.run(["echo", "hi"])) == "hi\n")
        #expect(throws: GridError.commandFailed(["sh", "-c", "echo oops >&2; exit 4"], 4, "oops")) {
            try commands.run(["sh", "-c", "echo oops >&2; exit 4"])
        }
    }
}

@Suite struct SlurmShardTests {
    @Test func aShardIsSubmittedByConstraintNeverRequeuedWithItsEnvironmentOutOfItsArguments() throws {
        let fake = FakeSlurmCommands(["sbatch": .success("42\n")])
        let id = try Slurm(commands: fake).submit(name: "testbed-shard:g:node1", constraint: "host_node1", output: "/r/node1-%j.log",
                                                  command: ["/bin/testbed", "run", "/s t"], environment: ["TESTBED_DATABASE": "postgresql://u:p@h/d"])
        #expect(id == "42")
        #expect(fake.ran.withLock { $0.last } == ["sbatch", "--parsable", "--no-requeue", "-J", "testbed-shard:g:node1", "--constraint=host_node1",
                                                  "-o", "/r/node1-%j.log", "--wrap",
                                                  "TESTBED_DATABASE=postgresql://u:p@h/d /bin/testbed run '/s t'"])
    }

    @Test func cancelRunsScancel() throws {
        let fake = FakeSlurmCommands([:])
        try Slurm(commands: fake).cancel("42")
        #expect(fake.ran.withLock { $0.last } == ["scancel", "42"])
    }

    @Test func aNodesOwnFeature() {
        #expect(NodeFeatures.host("node1") == "host_node1")
        #expect(NodeFeatures.host("lab-7.example") == "host_lab_7_example")
    }
}
