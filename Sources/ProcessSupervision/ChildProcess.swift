import CShim
import Declarations
import Dispatch
import Foundation
import HostFacts
import Synchronization

/// An environment built once as C strings and shared by every process of a
/// run: per process only the few variables that differ are allocated.
public final class EnvironmentBlock: @unchecked Sendable {
    // Immutable after init; the C strings live as long as the block.
    let keys: [String]
    let entries: [UnsafeMutablePointer<CChar>?]
    let variables: [String: String]

    /// Builds the block: one `KEY=VALUE` C string per variable, sorted by key.
    /// - Parameter variables: The run's shared variables.
    public init(_ variables: [String: String]) {
        let sorted = variables.sorted { $0.key < $1.key }
        keys = sorted.map(\.key)
        entries = sorted.map { strdup("\($0.key)=\($0.value)") }
        self.variables = variables
        byteCount = variables.reduce(0) { $0 + Self.cost(key: $1.key, value: $1.value) }
    }

    /// What the block takes of a new process' argument space, in bytes (Linux
    /// counts each `KEY=VALUE` with its NUL, and its pointer).
    public let byteCount: Int

    /// What one variable takes of a new process' argument space, in bytes.
    /// - Parameters:
    ///   - key: The variable's name.
    ///   - value: Its value.
    /// - Returns: The UTF-8 bytes of `KEY=VALUE` with its NUL, plus a pointer.
    public static func cost(key: String, value: String) -> Int {
        key.utf8.count + 1 + value.utf8.count + 1 + MemoryLayout<UnsafeRawPointer>.size
    }

    /// What the variable `name` takes of `byteCount` (0 when it is not set).
    /// - Parameter name: A variable's name.
    /// - Returns: Its cost in bytes (`cost(key:value:)`), or 0.
    public func cost(of name: String) -> Int {
        variables[name].map { Self.cost(key: name, value: $0) } ?? 0
    }

    /// The value of one variable (`PATH`, to look a command up as the process would).
    /// - Parameter name: A variable's name.
    /// - Returns: Its value, or nil when the block does not set it.
    public func value(of name: String) -> String? { variables[name] }

    deinit {
        for entry in entries { free(entry) }
    }
}

/// What to start: a program, its argument vector, environment and directory,
/// and where its output (stdout and stderr together) goes.
public struct ProcessSpec: Sendable {
    /// What is started.
    public enum Program: Sendable, Hashable {
        /// A file started as it stands with this argument vector (`argv[0]` included).
        case file(String, arguments: [String])
        /// A command line from a declaration (`run:`, `check:`, `teardown:`,
        /// `restore:`). Its program is looked for when it starts, not before
        /// (a setup may build it): a simple command (words only, no shell
        /// syntax) is started directly; any other line by `/bin/sh -c`, once
        /// its first command is known to exist. See `CommandLaunch`.
        case commandLine(String)
    }

    /// Where stdout and stderr go (a file, so memory stays flat however much
    /// a process prints).
    public enum Output: Sendable {
        /// This file, opened (appending, created if missing) when the process starts.
        case path(String)
        /// A log Testbed created and holds (a step's log in the run directory).
        case log(LogFile)
        /// Nowhere (`/dev/null`): the step's log could not be made.
        case discarded
    }

    /// What is started.
    public var program: Program
    /// Variables of this process; they win over `base`.
    public var environment: [String: String]
    /// The run's shared environment, if any.
    public var base: EnvironmentBlock?
    /// The working directory it starts in.
    public var directory: String
    /// Where its stdout and stderr go.
    public var output: Output

    /// The output's name in messages.
    public var outputPath: String {
        switch output {
        case .path(let path): path
        case .log(let log): log.relative
        case .discarded: "/dev/null"
        }
    }

    /// What to start, and where its output goes.
    /// - Parameters:
    ///   - program: A file with its argument vector, or a declared command line.
    ///   - environment: Its own variables; they win over `base`.
    ///   - base: The run's shared environment, if any.
    ///   - directory: The working directory.
    ///   - output: Where stdout and stderr go.
    public init(program: Program, environment: [String: String], base: EnvironmentBlock? = nil,
                directory: String, output: Output) {
        self.program = program
        self.environment = environment
        self.base = base
        self.directory = directory
        self.output = output
    }

    /// What to start, its output appended to a file.
    /// - Parameters:
    ///   - program: A file with its argument vector, or a declared command line.
    ///   - environment: Its own variables; they win over `base`.
    ///   - base: The run's shared environment, if any.
    ///   - directory: The working directory.
    ///   - outputPath: The file stdout and stderr are appended to (created if missing).
    public init(program: Program, environment: [String: String], base: EnvironmentBlock? = nil,
                directory: String, outputPath: String) {
        self.init(program: program, environment: environment, base: base, directory: directory, output: .path(outputPath))
    }

    /// A file started as it stands.
    /// - Parameters:
    ///   - executable: The file's path, also `argv[0]`.
    ///   - arguments: The arguments after `argv[0]`.
    ///   - environment: Its own variables; they win over `base`.
    ///   - base: The run's shared environment, if any.
    ///   - directory: The working directory.
    ///   - output: Where stdout and stderr go.
    public init(executable: String, arguments: [String], environment: [String: String], base: EnvironmentBlock? = nil,
                directory: String, output: Output) {
        self.init(program: .file(executable, arguments: arguments), environment: environment, base: base,
                  directory: directory, output: output)
    }

    /// A file started as it stands, its output appended to a file.
    /// - Parameters:
    ///   - executable: The file's path, also `argv[0]`.
    ///   - arguments: The arguments after `argv[0]`.
    ///   - environment: Its own variables; they win over `base`.
    ///   - base: The run's shared environment, if any.
    ///   - directory: The working directory.
    ///   - outputPath: The file stdout and stderr are appended to (created if missing).
    public init(executable: String, arguments: [String], environment: [String: String], base: EnvironmentBlock? = nil,
                directory: String, outputPath: String) {
        self.init(executable: executable, arguments: arguments, environment: environment, base: base,
                  directory: directory, output: .path(outputPath))
    }

    /// A command line from a declaration (see `Program.commandLine`).
    /// - Parameters:
    ///   - command: The line as declared.
    ///   - environment: Its own variables; they win over `base`.
    ///   - base: The run's shared environment, if any.
    ///   - directory: The working directory.
    ///   - output: Where stdout and stderr go.
    /// - Returns: The spec of a `.commandLine` program.
    public static func shell(_ command: String, environment: [String: String], base: EnvironmentBlock? = nil,
                             directory: String, output: Output) -> ProcessSpec {
        ProcessSpec(program: .commandLine(command), environment: environment, base: base,
                    directory: directory, output: output)
    }

    /// A command line from a declaration, its output appended to a file.
    /// - Parameters:
    ///   - command: The line as declared.
    ///   - environment: Its own variables; they win over `base`.
    ///   - base: The run's shared environment, if any.
    ///   - directory: The working directory.
    ///   - outputPath: The file stdout and stderr are appended to (created if missing).
    /// - Returns: The spec of a `.commandLine` program.
    public static func shell(_ command: String, environment: [String: String], base: EnvironmentBlock? = nil,
                             directory: String, outputPath: String) -> ProcessSpec {
        shell(command, environment: environment, base: base, directory: directory, output: .path(outputPath))
    }

    /// The value of a variable in the process' environment.
    func variable(_ name: String) -> String? {
        environment[name] ?? base?.value(of: name)
    }
}

/// How a process ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this status (0…255).
    case exited(Int32)
    /// A signal ended it: the signal's number.
    case signaled(Int32)

    init(waitStatus status: Int32) {
        if testbed_signaled(status) != 0 {
            self = .signaled(testbed_term_signal(status))
        } else {
            self = .exited(testbed_exit_status(status))
        }
    }

    /// `exit 3`, or `killed by signal 9 (SIGKILL)`.
    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(signalName(signal)))"
        }
    }
}

/// SIGKILL, SIGTERM… for a signal number.
/// - Parameter signal: A signal number.
/// - Returns: Its name for the common signals, `signal N` for the others.
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
    /// Why the program could not be started: known from the failed `exec`
    /// (or the lookup before it), never guessed from an exit status.
    public var launchFailure: LaunchFailure?
    /// It ran past its timeout and was killed.
    public var timedOut: Bool
    /// It was stopped because the run was interrupted.
    public var interrupted: Bool
    /// When it was started (wall clock).
    public var started: Date
    /// Seconds from the first attempt to start it to its end (monotonic clock).
    public var duration: Double
    /// What the process left running when it exited on its own, for a
    /// process started with `keepsLeftovers` (a setup's services); nil
    /// otherwise, and when nothing of it may outlive it (a timeout, an interrupt).
    public var leftRunning: LeftRunning?
    /// It timed out and could not be killed: still there a grace period after
    /// SIGKILL, in uninterruptible sleep (`D` in `/proc/PID/stat`); the kernel
    /// function it sleeps in (`/proc/PID/wchan`, `unknown` when unreadable).
    /// Nil otherwise. Nobody waits for it any more.
    public var unkillable: String?

    /// How a run ended (a launcher other than the supervisor, such as a test's fake, makes its own).
    /// - Parameters:
    ///   - termination: How it ended; nil when it could not be started.
    ///   - launchFailure: Why it could not be started, if it could not.
    ///   - timedOut: It ran past its timeout and was killed.
    ///   - interrupted: It was stopped because the run was interrupted.
    ///   - started: When it was started (wall clock).
    ///   - duration: Seconds from the first attempt to start it to its end.
    ///   - leftRunning: What it left running, when that is handed over.
    public init(termination: Termination?, launchFailure: LaunchFailure? = nil, timedOut: Bool = false,
                interrupted: Bool = false, started: Date, duration: Double, leftRunning: LeftRunning? = nil) {
        self.termination = termination
        self.launchFailure = launchFailure
        self.timedOut = timedOut
        self.interrupted = interrupted
        self.started = started
        self.duration = duration
        self.leftRunning = leftRunning
    }
}

/// What a process left running when it ended: its process group and every
/// process carrying its tag (a daemon that left the group with `setsid`,
/// `qemu -daemonize`). `ProcessSupervisor.release` stops them.
public struct LeftRunning: Sendable, Hashable {
    /// The process group (the pid of the process that ended).
    public let group: pid_t
    /// The tag in their environment (`TESTBED_PROCESS_TAG`).
    public let tag: String

    /// What a process left running.
    /// - Parameters:
    ///   - group: Its process group (the pid of the process that ended).
    ///   - tag: The tag in their environment.
    public init(group: pid_t, tag: String) {
        self.group = group
        self.tag = tag
    }
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

    /// stdout and stderr of a child whose log could not be made, opened once.
    static let devNullOutput = open("/dev/null", O_WRONLY | O_CLOEXEC)

    /// The name of the variable that carries the tag.
    static let tagVariable = "TESTBED_PROCESS_TAG"

    /// Starts the spec; returns the process, or why it could not start.
    static func spawn(_ spec: ProcessSpec, tag: String) -> Result<ChildProcess, LaunchFailure> {
        let launch = CommandLaunch.prepare(spec)
        let (executable, arguments): (String, [String])
        switch launch {
        case .failed(let failure): return .failure(failure)
        case let .direct(path, argv, _): (executable, arguments) = (path, argv)
        case .shell(let line): (executable, arguments) = ("/bin/sh", ["sh", "-c", line])
        }
        let output: Int32
        switch spec.output {
        case .path(let path):
            output = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard output >= 0 else { return .failure(LaunchFailure(program: path, errno: errno, cause: .output)) }
        case .log(let log): output = log.descriptor
        case .discarded: output = devNullOutput
        }
        defer { if case .path = spec.output { close(output) } }
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
        var (rc, pid) = spawnProgram(executable, arguments: arguments, environment: envp, directory: spec.directory,
                                     stdin: input, stdout: output, stderr: output)
        if rc == ENOEXEC, case let .direct(path, argv, fromCommandLine: true) = launch {
            // A file without `#!` named in a command line: POSIX shells run it
            // as a shell script, and so did `/bin/sh -c` before us.
            (rc, pid) = spawnProgram("/bin/sh", arguments: ["sh", path] + argv.dropFirst(), environment: envp,
                                     directory: spec.directory, stdin: input, stdout: output, stderr: output)
        }
        guard rc == 0 else { return .failure(CommandLaunch.diagnose(rc, executable: executable, spec: spec)) }
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
