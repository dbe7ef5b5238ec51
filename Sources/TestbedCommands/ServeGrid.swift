import Dashboard
import Execution
import Foundation
import Grid
import Results
import Server

/// `POST /api/runs` of `testbed serve --grid slurm`: this `testbed` binary run as a child process with the argument
/// vector the request was checked into (never a shell), the database passed in its environment.
struct ChildTestbedLauncher: GridRunLauncher {
    /// The program: this process's own executable.
    let program: String
    /// The child's environment: this process's, with `TESTBED_DATABASE` set to serve's database (or removed).
    let environment: [String: String]
    /// How long the child may take (`--no-wait` returns once its jobs are submitted), in seconds.
    let timeout: Double

    /// A launcher of this binary.
    ///
    /// - Parameters:
    ///   - database: the database URL serve reads (given to the child as `TESTBED_DATABASE`); nil for SQLite.
    ///   - timeout: how long the child may take, in seconds.
    init(database: String?, timeout: Double = 120) {
        program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var environment = ProcessInfo.processInfo.environment
        environment["TESTBED_DATABASE"] = database
        environment["NO_COLOR"] = "1"
        self.environment = environment
        self.timeout = timeout
    }

    func launch(_ arguments: [String]) async throws(APIFailure) -> String {
        let program = program
        let environment = environment
        let timeout = timeout
        let result: Result<String, APIFailure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.runChild(program, arguments, environment: environment, timeout: timeout))
            }
        }
        return try result.get()
    }

    /// Where the child runs: the first suite's directory (after `--`; the request checked it is absolute and exists), so that
    /// its messages name paths as the suite's own; `/` when there is none.
    static func workingDirectory(_ arguments: [String]) -> String {
        guard let dash = arguments.firstIndex(of: "--"), dash + 1 < arguments.count else { return "/" }
        let suite = arguments[dash + 1]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: suite, isDirectory: &isDirectory) else { return "/" }
        return isDirectory.boolValue ? suite : (suite as NSString).deletingLastPathComponent
    }

    /// Runs the child, both pipes read at once, and kills it after `timeout` seconds.
    static func runChild(_ program: String, _ arguments: [String], environment: [String: String], timeout: Double) -> Result<String, APIFailure> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory(arguments))
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            return .failure(APIFailure(status: 502, message: "cannot start \(program): \(error); check the server's installation"))
        }
        let timer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
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
        timer.cancel()
        let stderr = String(decoding: errorData, as: UTF8.self)
        guard process.terminationReason == .exit else {
            return .failure(APIFailure(status: 502, message: "testbed run --grid slurm did not finish within \(Int(timeout)) s (killed); "
                + "see whether Slurm answers: testbed hosts --grid slurm"))
        }
        let status = process.terminationStatus
        guard status == 0 else { return .failure(failure(status: status, stderr: stderr)) }
        return .success(String(decoding: outputData, as: UTF8.self))
    }

    /// A failed child as an answer: its error message (the first `testbed: error:` or `Error:` line, else the first
    /// line of its standard error); 400 for what the request asked wrong (exit 4 nothing selected, 64, 65, 66), 502 for the rest.
    static func failure(status: Int32, stderr: String) -> APIFailure {
        let lines = stderr.split(separator: "\n").map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
        // Testbed's own `testbed: error: …`, or ArgumentParser's `Error: …` (its usage lines follow it).
        let prefixes = ["testbed: error: ", "Error: "]
        let error = lines.lazy.compactMap { line in prefixes.first { line.hasPrefix($0) }.map { String(line.dropFirst($0.count)) } }.first
        let line = error ?? lines.first ?? "no message"
        // 66: a suite or file it names is missing (EX_NOINPUT).
        let request = [ExitPolicy.standard.nothingSelected, ExitPolicy.usage, ExitPolicy.standard.invalidDeclarations, 66].contains(status)
        return APIFailure(status: request ? 400 : 502, message: "testbed run --grid slurm exited with \(status): \(line)")
    }
}

/// The dashboard's hosts on a Slurm grid: `testbed hosts --grid slurm --json`'s rows as the page shows them.
struct SlurmHostSource: GridHostSource {
    func hosts(store: (any RunStore)?) throws(APIFailure) -> [DashboardData.HostRow] {
        let rows: [GridNodeJSON]
        do { rows = try HostsListCommand.gridRows(store: store) } catch {
            throw APIFailure(status: 502, message: "the grid cannot be asked: \(error.description)")
        }
        return rows.map { row in
            DashboardData.HostRow(name: row.name, status: row.status, reason: row.reason, since: row.sinceDate, haltedBy: row.run,
                                  features: row.features, enrolled: row.enrolledDate, latestRun: row.latestRun)
        }
    }
}
