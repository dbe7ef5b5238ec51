import CShim
import Dispatch
import Foundation
import Synchronization

/// An environment built once as C strings and shared by every process of a
/// run: per process only the few variables that differ are allocated.
public final class EnvironmentBlock: @unchecked Sendable {
    // Immutable after init; the C strings live as long as the block.
    let keys: [String]
    let entries: [UnsafeMutablePointer<CChar>?]

    public init(_ variables: [String: String]) {
        let sorted = variables.sorted { $0.key < $1.key }
        keys = sorted.map(\.key)
        entries = sorted.map { strdup("\($0.key)=\($0.value)") }
    }

    deinit {
        for entry in entries { free(entry) }
    }
}

/// What to start: a program, its argument vector, environment and directory,
/// and the file its output (stdout and stderr together) is appended to.
public struct ProcessSpec: Sendable {
    public var executable: String
    /// The argument vector, `argv[0]` included.
    public var arguments: [String]
    /// Variables of this process; they win over `base`.
    public var environment: [String: String]
    /// The run's shared environment, if any.
    public var base: EnvironmentBlock?
    public var directory: String
    /// stdout and stderr go to this file (appended), so memory stays flat
    /// however much a process prints.
    public var outputPath: String

    public init(executable: String, arguments: [String], environment: [String: String], base: EnvironmentBlock? = nil,
                directory: String, outputPath: String) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.base = base
        self.directory = directory
        self.outputPath = outputPath
    }

    /// A command line run by `/bin/sh -c`.
    public static func shell(_ command: String, environment: [String: String], base: EnvironmentBlock? = nil,
                             directory: String, outputPath: String) -> ProcessSpec {
        ProcessSpec(executable: "/bin/sh", arguments: ["sh", "-c", command], environment: environment, base: base,
                    directory: directory, outputPath: outputPath)
    }
}

/// How a process ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        if testbed_signaled(status) != 0 {
            self = .signaled(testbed_term_signal(status))
        } else {
            self = .exited(testbed_exit_status(status))
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(signalName(signal)))"
        }
    }
}

/// SIGKILL, SIGTERM… for a signal number.
public func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGABRT: "SIGABRT",
        SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE",
        SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2",
    ]
    return names[signal] ?? "signal \(signal)"
}

/// How a supervised process run ended.
public struct ProcessOutcome: Sendable {
    /// nil when the program could not be started.
    public var termination: Termination?
    /// The errno of a failed start (ENOENT, EACCES, ENOEXEC…).
    public var spawnError: Int32?
    /// It ran past its timeout and was killed.
    public var timedOut: Bool
    /// It was stopped because the run was interrupted.
    public var interrupted: Bool
    public var started: Date
    public var duration: Double
}

/// A process started in its own process group.
final class ChildProcess: Sendable {
    let pid: pid_t
    /// The tag in its environment that marks every descendant, even one that
    /// left the process group.
    let tag: String

    init(pid: pid_t, tag: String) {
        self.pid = pid
        self.tag = tag
    }

    /// stdin of every child, opened once.
    static let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)

    /// The name of the variable that carries the tag.
    static let tagVariable = "TESTBED_PROCESS_TAG"

    /// Starts the spec; returns the process or the errno of a failed start.
    static func spawn(_ spec: ProcessSpec, tag: String) -> Result<ChildProcess, SpawnFailure> {
        let output = open(spec.outputPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard output >= 0 else { return .failure(SpawnFailure(errno: errno, what: "cannot open \(spec.outputPath)")) }
        defer { close(output) }
        let input = devNull

        var environment = spec.environment
        environment[tagVariable] = tag
        let own = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { for pointer in own { free(pointer) } }
        var envp = own
        if let base = spec.base {
            envp.reserveCapacity(own.count + base.entries.count + 1)
            for (key, entry) in zip(base.keys, base.entries) where environment[key] == nil { envp.append(entry) }
        }
        let (rc, pid) = spawnProgram(spec.executable, arguments: spec.arguments, environment: envp, directory: spec.directory,
                                     stdin: input, stdout: output, stderr: output)
        guard rc == 0 else { return .failure(SpawnFailure(errno: rc, what: spec.executable)) }
        return .success(ChildProcess(pid: pid, tag: tag))
    }

    /// Sends a signal to the whole process group.
    func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }
}

/// Starts `executable` with `arguments` (`argv[0]` included) and the
/// `environment` entries (`KEY=VALUE` C strings, which the caller owns) in a
/// new process group: `testbed_spawn`'s return code (0 or an errno) and the pid.
func spawnProgram(_ executable: String, arguments: [String], environment: [UnsafeMutablePointer<CChar>?], directory: String?,
                  stdin: Int32, stdout: Int32, stderr: Int32) -> (Int32, pid_t) {
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    let envp = environment + [nil]
    var pid: pid_t = 0
    let rc = argv.withUnsafeBufferPointer { argvBuffer in
        envp.withUnsafeBufferPointer { envpBuffer in
            testbed_spawn(executable, argvBuffer.baseAddress, envpBuffer.baseAddress, directory, stdin, stdout, stderr, &pid)
        }
    }
    return (rc, pid)
}

/// A start that failed: the errno and what was started.
struct SpawnFailure: Error, Sendable {
    let errno: Int32
    let what: String
}
