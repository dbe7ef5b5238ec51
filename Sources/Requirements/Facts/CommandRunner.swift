import Foundation

/// Runs a short command for a probe (`qemu-system-x86_64 --version`,
/// an environment's `probes:`) and returns what it printed.
public struct CommandRunner: Sendable {
    /// How long a probe command may take before it is killed.
    public var timeout: Duration

    public init(timeout: Duration = .seconds(10)) {
        self.timeout = timeout
    }

    /// The result of one command.
    public struct Output: Sendable {
        public var status: Int32
        public var text: String
        public var timedOut: Bool
    }

    /// Runs `executable` with `arguments`; stdout and stderr are read together.
    /// Returns nil when the program cannot be started.
    public func run(_ executable: String, _ arguments: [String], in directory: String? = nil) -> Output? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        // Output goes to a file, not a pipe: a probe that leaves a child holding
        // the pipe open cannot make us wait.
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("testbed-probe-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: outputPath) else { return nil }
        defer {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch { return nil }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        var timedOut = false
        if done.wait(timeout: .now() + seconds) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            done.wait()
        }
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        let text = String(decoding: data.prefix(64 * 1024), as: UTF8.self)
        return Output(status: process.terminationStatus, text: text, timedOut: timedOut)
    }

    /// Runs a command line through `/bin/sh -c`.
    public func shell(_ command: String, in directory: String? = nil) -> Output? {
        run("/bin/sh", ["-c", command], in: directory)
    }
}
