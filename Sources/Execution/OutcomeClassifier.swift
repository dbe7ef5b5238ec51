import Catalog
import Declarations
import Foundation
import ProcessSupervision

/// How a process ended, in the terms a step's result is decided in: the one
/// reading of a `ProcessOutcome` that tests, setups, teardowns and restores share.
enum ProcessEnding: Equatable {
    /// It could not be started.
    case notStarted(LaunchFailure)
    /// It ran past its timeout and was killed (by this signal, if a signal ended it).
    case timedOut(signal: Int32?)
    /// An interrupt stopped it.
    case interrupted
    /// It exited with this status.
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)
    /// Neither an exit nor a launch failure (never expected).
    case lost

    /// The ending of `outcome`: a launch failure first, then a timeout, an interrupt, how it terminated.
    init(_ outcome: ProcessOutcome) {
        if let failure = outcome.launchFailure {
            self = .notStarted(failure)
        } else if outcome.timedOut {
            self = .timedOut(signal: outcome.termination.flatMap { if case .signaled(let signal) = $0 { signal } else { nil } })
        } else if outcome.interrupted {
            self = .interrupted
        } else {
            switch outcome.termination {
            case .exited(let code)?: self = .exited(code)
            case .signaled(let signal)?: self = .signaled(signal)
            case nil: self = .lost
            }
        }
    }
}

/// Maps how a step's process ended to the step's outcome and reason: one
/// place for tests, setups, teardowns and restores.
enum OutcomeClassifier {
    /// "ran past its timeout of 30s and was killed".
    static func timedOut(_ timeout: Duration) -> String {
        "ran past its timeout of \(formatTimeout(timeout)) and was killed"
    }

    /// The reason of a step an interrupt stopped.
    static let interrupted = "stopped by an interrupt"

    /// "killed by signal 9 (SIGKILL)".
    static func killed(by signal: Int32) -> String {
        "killed by signal \(signal) (\(signalName(signal)))"
    }

    /// A test's verdict from how its process ended. `error` only when it
    /// never started; any exit status of a started test (126 and 127
    /// included: kvm-unit-tests exits 127 after the guest's `abort()`) is
    /// its own verdict. `log`: its output, read back for a failure's reason.
    static func test(id: String, test: TestDefinition, timeout: Duration, outcome: ProcessOutcome,
                     directory: String, log: LogFile?) -> TestResult {
        var result = TestResult(id: id, outcome: .pass, started: outcome.started, duration: outcome.duration, logDirectory: directory)
        switch ProcessEnding(outcome) {
        case .notStarted(let failure):
            notStarted(&result, failure, test: test)
        case .timedOut(let signal):
            result.outcome = .timeout
            result.reason = timedOut(timeout)
            result.signal = signal
            if let wchan = outcome.unkillable { unkillable(&result, wchan: wchan) }
        case .interrupted:
            result.outcome = .interrupted
            result.reason = interrupted
        case .exited(0):
            result.outcome = .pass
            result.exitStatus = 0
        case .exited(let code) where code == test.skipCode:
            result.outcome = .skip
            result.exitStatus = code
            result.reason = log?.lastLine().map { "skipped itself (exit \(code)): \($0)" } ?? "skipped itself (exit \(code))"
        case .exited(let code):
            result.outcome = .fail
            result.exitStatus = code
            result.reason = "exit \(code)" + (log?.lastLine().map { ": \($0)" } ?? "")
        case .signaled(let signal):
            result.outcome = .fail
            result.signal = signal
            result.reason = killed(by: signal)
        case .lost:
            result.outcome = .error
        }
        return result
    }

    /// A test that could not start: `error`, unless the cause is the lab's
    /// (Testbed's descriptors, the environment it was given): then `blocked`.
    static func notStarted(_ result: inout TestResult, _ failure: LaunchFailure, test: TestDefinition) {
        if failure.cause == .descriptors {
            // Testbed's own limit: not the test's verdict.
            result.outcome = .blocked
            result.blockedBy = "testbed"
            result.reason = failure.description
        } else if failure.errno == E2BIG, failure.cause == .system {
            // "Argument list too long": the test's own command line, or what it was given.
            if case .shell(let command) = test.command, command.utf8.count + 1 > Exports.maxVariableBytes {
                result.outcome = .error
                result.reason = "cannot start: its command at \(test.location) is \(command.utf8.count) bytes, over the "
                    + "\(Exports.maxVariableBytes) bytes Linux passes in one argument (MAX_ARG_STRLEN); move it into a script"
            } else {
                // The lab's, not the test's: the environment Testbed was started with (and its setups' exports).
                result.outcome = .blocked
                result.blockedBy = "environment"
                result.reason = "not started: the environment it would get (the one testbed was started with, and its setups' exports) "
                    + "and its command line are more than Linux lets a program be given (Argument list too long); "
                    + "unset large variables before running testbed"
            }
        } else {
            result.outcome = .error
            result.reason = failure.description
        }
    }

    /// A setup's, teardown's or restore's result from how its process ended:
    /// `ok` when it exited 0, otherwise `failed`, `timeout` or `interrupted`.
    static func setup(_ outcome: ProcessOutcome, name: String, test: String?, phase: SetupPhase, log: String,
                      timeout: Duration) -> SetupResult {
        var result = SetupResult(name: name, test: test, phase: phase, outcome: .ok, started: outcome.started,
                                 duration: outcome.duration, logPath: log)
        switch ProcessEnding(outcome) {
        case .notStarted(let failure):
            result.outcome = .failed
            result.reason = failure.description
        case .timedOut:
            result.outcome = .timeout
            result.reason = timedOut(timeout)
        case .interrupted:
            result.outcome = .interrupted
            result.reason = interrupted
        case .exited(0):
            result.exitStatus = 0
        case .exited(let code):
            result.outcome = .failed
            result.exitStatus = code
            result.reason = "exit \(code)"
        case .signaled(let signal):
            result.outcome = .failed
            result.signal = signal
            result.reason = killed(by: signal)
        case .lost:
            result.outcome = .failed
        }
        return result
    }

    /// The results directory, when the disk it is on was full as a step that
    /// did not pass ended (`RunLayout.resultsDiskFull`), or Testbed's own
    /// writes to the step's log found it full; nil otherwise.
    static func fullResultsDisk(_ layout: RunLayout, log: LogFile?) -> String? {
        log?.sawFullDisk == true || layout.resultsDiskFull() ? layout.resultsDirectory : nil
    }

    /// A test that failed while the results disk was full: its output (its
    /// stdout and stderr are its log, on that disk) could not be written, so
    /// a `fail` may be the disk's, not the code's. It is `blocked` by the
    /// results disk (an infrastructure failure, exit code bit 2), its exit
    /// status or signal kept.
    static func blockOnFullDisk(_ result: inout TestResult, disk: String) {
        let how = result.signal.map { killed(by: $0) } ?? "exit \(result.exitStatus ?? 1)"
        result.outcome = .blocked
        result.blockedBy = Executor.fullDiskBlocker
        result.reason = "\(how) while the results disk (\(disk)) was full: its output could not be written, "
            + "so its verdict cannot be trusted; free space and run it again"
    }

    /// A setup, teardown or restore that failed while the results disk was
    /// full: still `failed` (infrastructure), its reason saying so. Only when
    /// its process ran and failed (not when it could not start).
    static func noteFullDisk(_ result: inout SetupResult, layout: RunLayout, log: LogFile?) {
        guard result.outcome == .failed, result.exitStatus != nil || result.signal != nil,
              let disk = fullResultsDisk(layout, log: log) else { return }
        let full = "the results disk (\(disk)) was full: its output could not be written; free space and run it again"
        if let signal = result.signal {
            result.reason = "\(killed(by: signal)) while \(full)"
        } else if let code = result.exitStatus, code != 0 {
            result.reason = "exit \(code) while \(full)"
        } else {
            result.reason = adding(full, to: result.reason)
        }
    }

    /// Why a step's output went nowhere, for its reason.
    static func notKept(_ failure: String) -> String {
        "its output was not kept: \(failure) (a step removed or replaced part of the results directory?)"
    }

    /// `note` after `reason` (separated by "; "), or `note` alone.
    static func adding(_ note: String, to reason: String?) -> String {
        reason.map { "\($0); \(note)" } ?? note
    }
}
