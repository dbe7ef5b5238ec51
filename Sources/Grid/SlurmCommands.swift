import Foundation

/// The seam every Slurm command goes through: `Slurm` asks it to run `sinfo`, `scontrol`, `sbatch`, `squeue`,
/// `scancel` with an argument vector (never a shell); unit tests answer with a fake.
public protocol SlurmCommands: Sendable {
    /// Runs a Slurm command and waits for it.
    ///
    /// - Parameter arguments: the program's name (looked up on PATH) and its arguments.
    /// - Returns: its standard output.
    /// - Throws: `GridError.notInstalled`, `.noConfiguration`, or `.commandFailed` (with the first line of its
    ///   standard error) when it exits with another status than 0.
    func run(_ arguments: [String]) throws(GridError) -> String
}

/// The real Slurm commands, run as child processes with this process's environment (`SLURM_CONF` among it).
public struct SystemSlurmCommands: SlurmCommands {
    /// The environment the commands run with.
    public let environment: [String: String]

    /// The commands with an environment.
    /// - Parameter environment: the environment (this process's by default); it must hold `SLURM_CONF`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Runs a Slurm command (see `SlurmCommands.run(_:)`).
    ///
    /// - Parameter arguments: the program's name and its arguments.
    /// - Returns: its standard output.
    /// - Throws: `GridError.notInstalled`, `.noConfiguration`, `.missingConfiguration` (SLURM_CONF names no file), `.commandFailed`.
    public func run(_ arguments: [String]) throws(GridError) -> String {
        guard let configuration = environment["SLURM_CONF"], !configuration.isEmpty else { throw .noConfiguration }
        guard let program = arguments.first, let path = lookUp(program) else { throw .notInstalled(arguments.first ?? "") }
        guard FileManager.default.fileExists(atPath: configuration) else { throw .missingConfiguration(configuration) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw .commandFailed(arguments, -1, "\(error)") }
        // Both pipes read at once: a command that fills one while the other is read would wait forever.
        nonisolated(unsafe) var errorData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorData = errors.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let status = process.terminationStatus
        guard status == 0, process.terminationReason == .exit else {
            let line = String(decoding: errorData, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            throw .commandFailed(arguments, status, line)
        }
        return String(decoding: outputData, as: UTF8.self)
    }

    /// The program's path: itself when it holds a `/`, else the first executable of that name on PATH.
    func lookUp(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
