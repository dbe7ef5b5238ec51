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
    /// The command's name, its help, and its subcommands.
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

        Exit codes: 0 fine, 1 a test failed (run), 2 an infrastructure failure (run) or \
        testbed cannot work here (a file descriptor limit under 64, ulimit -n), 3 both 1 and 2 \
        (run), 4 nothing selected, 64 bad command line, 65 invalid declarations, 130 \
        interrupted; `testbed run --help` has run's own, and --exit-codes bisect.
        """,
        version: Testbed.version,
        subcommands: [ProbeCommand.self, CheckCommand.self, PlanCommand.self, RunCommand.self, ReportCommand.self, RunsCommand.self,
                      HistoryCommand.self, DiffCommand.self, WhyCommand.self, HostsCommand.self, ServeCommand.self, GuardCommand.self]
    )

    /// The version `testbed --version` prints. Only the version: SwiftPM has
    /// no way to embed the commit at build time without a build plugin (and
    /// `git` at run time would describe whatever tree the binary sits in).
    public static let version = "0.17.0"

    /// The root command, as ArgumentParser makes it (it has no options of its own).
    public init() {}

    /// Runs the command line of this process and exits: the only place
    /// where an error becomes a process exit (besides a signal's re-raise in
    /// `stopHelpersOnSignals`). As ArgumentParser's, but a `CommandFailure`
    /// prints `testbed: error: …` and exits with its status, and under
    /// `--exit-codes bisect` a bad command line exits 128, which stops
    /// `git bisect run` (64 would mark every commit bad, 125 skip every one).
    public static func start() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            try await execute(arguments)
            dieOfCaughtSignal()
        } catch let failure as CommandFailure {
            dieOfCaughtSignal()
            writeText(failure.description, to: STDERR_FILENO)
            Foundation.exit(failure.status)
        } catch {
            dieOfCaughtSignal()
            let status = exitStatus(for: error, arguments: arguments)
            if let message = usageMessage(for: error, arguments: arguments) {
                writeText(message, to: STDERR_FILENO)
                Foundation.exit(status)
            }
            if status == ExitPolicy(.bisect).badCommandLine {
                writeText(fullMessage(for: error) + "\n", to: STDERR_FILENO)
                Foundation.exit(status)
            }
            exit(withError: error)
        }
    }

    /// Whether the command running owns this process, as the `testbed`
    /// program does: then it makes the process the child subreaper of its
    /// probes' orphans (and kills every child that is not a probe when a
    /// probe ends) and handles SIGINT, SIGTERM and SIGHUP. False for a
    /// command run inside another program (a test process), where those
    /// would reach the host program's own children and signals.
    @TaskLocal public static var ownsProcess = true

    /// Parses `arguments` and runs the command they name, in this process.
    ///
    /// - Parameters:
    ///   - arguments: the command line without the program's name (`["check", "examples"]`).
    ///   - ownsProcess: false to leave the process's children and signals
    ///     alone (`ownsProcess`); `run` needs the process and is refused then.
    /// - Throws: what the command throws: `CommandFailure`, ArgumentParser's
    ///   `ExitCode`, `ValidationError` and parse errors (`exitStatus(for:arguments:)`
    ///   gives the status of each).
    public static func execute(_ arguments: [String], ownsProcess: Bool = true) async throws {
        try await $ownsProcess.withValue(ownsProcess) { try await execute(parsing: arguments) }
    }

    static func execute(parsing arguments: [String]) async throws {
        try CommandLineTypos.check(arguments)
        var command: ParsableCommand
        do {
            command = try parseAsRoot(RepeatedSelections.take(from: arguments))
        } catch {
            // A test id given as a path (`testbed run /wrong-token`): say how to select it.
            if !bisecting(arguments), let path = SelectionOptions.missingPath.withLock({ $0 }), let hint = await CommandLineTypos.testIDHint(for: path) {
                throw ValidationError(hint)
            }
            throw error
        }
        // A closed stdout or stderr (`testbed run … | head`) loses text, never
        // the run: from the first write on (RunCommand.run says so again).
        if command is RunCommand {
            // A run supervises this process's children and signals: only as the whole program.
            guard ownsProcess else { throw CommandFailure("testbed run cannot run inside another program; start the testbed program",
                                                          status: ExitPolicy.usage) }
            signal(SIGPIPE, SIG_IGN)
        }
        if !(command is GuardCommand) { try ensureDescriptors(for: command) }
        if var asynchronous = command as? AsyncParsableCommand {
            try await asynchronous.run()
        } else {
            try command.run()
        }
    }

    /// The message for a `ValidationError` that a subcommand threw outside
    /// ArgumentParser's parse (from `run()`, or `CommandLineTypos` before
    /// it), with that subcommand's usage: ArgumentParser would print the
    /// usage of `testbed` itself.
    ///
    /// - Parameters:
    ///   - error: the error `execute` threw.
    ///   - arguments: the command line it came from; its first word names the subcommand.
    /// - Returns: `Error: MESSAGE`, the usage and where to find help, each
    ///   line ended; nil for another error or a command line without a subcommand.
    public static func usageMessage(for error: any Error, arguments: [String]) -> String? {
        guard let error = error as? ValidationError, let name = arguments.first,
              let command = configuration.subcommands.first(where: { $0._commandName == name }) else { return nil }
        return "Error: \(error.message)\nUsage: \(usageString(for: command))\n  See 'testbed \(name) --help' for more information.\n"
    }

    /// The status the process exits with for an error `execute` threw.
    ///
    /// - Parameters:
    ///   - error: the error.
    ///   - arguments: the command line it came from (`--exit-codes bisect` changes a usage error's status).
    /// - Returns: `CommandFailure.status`, ArgumentParser's code, or 128 for
    ///   a usage error under bisect.
    public static func exitStatus(for error: any Error, arguments: [String]) -> Int32 {
        if let failure = error as? CommandFailure { return failure.status }
        let code = exitCode(for: error).rawValue
        guard code == ExitPolicy.usage, bisecting(arguments) else { return code }
        return ExitPolicy(.bisect).badCommandLine
    }

    /// Raises the soft descriptor limit for Testbed's own work (`run` raises
    /// it further for its steps), or, where the hard limit leaves fewer than
    /// `DescriptorBudget.minimum`, refuses to start: the lab's limit, never
    /// blamed on the suite nor a crash later.
    ///
    /// - Throws: `CommandFailure` with `cannotWork`: 2; 125 for `run
    ///   --exit-codes bisect` (this commit cannot be tested here).
    static func ensureDescriptors(for command: ParsableCommand) throws(CommandFailure) {
        let budget = DescriptorBudget.apply(requested: ProcessInfo.processInfo.activeProcessorCount)
        guard let shortage = budget.shortage else { return }
        throw CommandFailure(shortage, status: ((command as? RunCommand)?.policy ?? .standard).cannotWork)
    }

    /// Whether the arguments ask for `--exit-codes bisect`.
    static func bisecting(_ arguments: [String]) -> Bool {
        arguments.contains("--exit-codes=bisect")
            || zip(arguments, arguments.dropFirst()).contains { $0 == "--exit-codes" && $1 == "bisect" }
    }
}
