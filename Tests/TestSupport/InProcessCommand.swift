import ArgumentParser
import TestbedCommands

/// What a testbed command run in this process ended with.
public struct InProcessOutcome: Sendable, Equatable {
    /// The status the `testbed` process would exit with.
    public let status: Int32
    /// What it would print on stderr as it exits (`testbed: error: …`, or
    /// ArgumentParser's usage message); empty when it ends without an error
    /// or with a bare `ExitCode`. What the command itself writes while it runs
    /// goes to this process's stdout and stderr, not here.
    public let message: String
}

/// Runs a testbed command in this process, as `Testbed.start()` would but
/// without exiting: parses `arguments` with `Testbed.parseAsRoot`, runs the
/// command, and turns what it throws into the status the process would exit
/// with (`Testbed.exitStatus(for:arguments:)`) and the message it would print.
///
/// The command does not own this process (`Testbed.ownsProcess` is false):
/// it neither becomes the subreaper of its probes' orphans (which would kill
/// every other test's child process when a probe ends) nor handles signals.
/// Reliable for `check`, `plan` and `report` (their tests compare it with the
/// built program); `run` is refused. Calls are serialized (the commands keep
/// process-wide state such as the repeated `--tag` options); paths in
/// `arguments` must be absolute, since the working directory is this process's.
///
/// - Parameter arguments: the command line without the program's name (`["check", "/tmp/suite"]`).
/// - Returns: the exit status and the final message.
public func testbedInProcess(_ arguments: [String]) async -> InProcessOutcome {
    await inProcessGate.enter()
    let outcome: InProcessOutcome
    do {
        try await Testbed.execute(arguments, ownsProcess: false)
        outcome = InProcessOutcome(status: 0, message: "")
    } catch let failure as CommandFailure {
        outcome = InProcessOutcome(status: failure.status, message: failure.description)
    } catch {
        // As `Testbed.start()`: a subcommand's validation error with its usage.
        let text = Testbed.usageMessage(for: error, arguments: arguments) ?? Testbed.fullMessage(for: error)
        outcome = InProcessOutcome(status: Testbed.exitStatus(for: error, arguments: arguments),
                                   message: text.isEmpty || text.hasSuffix("\n") ? text : text + "\n")
    }
    await inProcessGate.leave()
    return outcome
}

/// One in-process command at a time.
private let inProcessGate = SerialGate()

/// An asynchronous mutex: `enter` waits until no one else is in.
actor SerialGate {
    var busy = false
    var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
