import ArgumentParser
import Catalog
import Declarations
import Execution
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Reporting
import Requirements
import Results

/// The `testbed` command: its subcommands, and how it starts and exits.
public struct Testbed: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "testbed",
        abstract: "A test scheduler for Linux, KVM, QEMU and libvirt suites.",
        discussion: """
        Tests declare what they need from the host (root, kernel >= 5.10, qemu >= 8.2, \
        kvm, cmd:gdb, DELL_R420); Testbed tells which tests suit this host and why the \
        others do not, and plans the setups they need.

          testbed probe                         the facts of this host
          testbed check examples                which tests of a suite can run here, and why not
          testbed plan examples --dot | dot -Tsvg > plan.svg
          testbed check --environment environments/lab-r420.yaml examples

        Exit codes: 0 fine, 2 testbed cannot work here (a file descriptor limit under 64, \
        ulimit -n), 4 nothing selected, 64 bad command line, 65 invalid declarations.
        """,
        subcommands: [ProbeCommand.self, CheckCommand.self, PlanCommand.self, RunCommand.self, ReportCommand.self, GuardCommand.self]
    )

    public init() {}

    /// As ArgumentParser's, but under `--exit-codes bisect` a bad command
    /// line exits 128, which stops `git bisect run` (64 would mark every
    /// commit bad, 125 skip every one).
    public static func start() async {
        do {
            var command = try parseAsRoot(RepeatedSelections.take(from: Array(CommandLine.arguments.dropFirst())))
            // A closed stdout or stderr (`testbed run … | head`) loses text, never
            // the run: from the first write on (RunCommand.run says so again).
            if command is RunCommand { signal(SIGPIPE, SIG_IGN) }
            if !(command is GuardCommand) { ensureDescriptors(for: command) }
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure, bisecting(CommandLine.arguments) {
                writeText(fullMessage(for: error) + "\n", to: STDERR_FILENO)
                Foundation.exit(128)
            }
            exit(withError: error)
        }
    }

    /// Raises the soft descriptor limit for Testbed's own work (`run` raises
    /// it further for its steps), or, where the hard limit leaves fewer than
    /// `DescriptorBudget.minimum`, refuses to start: the lab's limit, never
    /// blamed on the suite nor a crash later. Exit 2; 125 for `run
    /// --exit-codes bisect` (this commit cannot be tested here).
    static func ensureDescriptors(for command: ParsableCommand) {
        let budget = DescriptorBudget.apply(requested: ProcessInfo.processInfo.activeProcessorCount)
        guard let shortage = budget.shortage else { return }
        fail(shortage, status: (command as? RunCommand)?.exitCodes == .bisect ? 125 : ExitStatus.cannotWork)
    }

    /// Whether the arguments ask for `--exit-codes bisect`.
    static func bisecting(_ arguments: [String]) -> Bool {
        arguments.contains("--exit-codes=bisect")
            || zip(arguments, arguments.dropFirst()).contains { $0 == "--exit-codes" && $1 == "bisect" }
    }
}
