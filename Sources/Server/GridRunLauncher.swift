import Foundation

/// The seam `POST /api/runs` starts a grid run through: the `testbed` arguments (built by
/// `GridRunRequest.arguments(results:)`) in, the child's standard output out. `testbed serve` runs its own binary
/// as a child process; unit tests answer with a fake.
public protocol GridRunLauncher: Sendable {
    /// Runs `testbed ARGUMENTS` (an argument vector, never a shell) and waits for it to exit.
    ///
    /// - Parameter arguments: the arguments after the program.
    /// - Returns: its standard output (the JSON of `run --grid slurm --no-wait --json`).
    /// - Throws: `APIFailure`: 400 when the run refused the request (a usage or suite error, exit 64 or 65, with its
    ///   message), 502 when it failed otherwise or could not be started.
    func launch(_ arguments: [String]) async throws(APIFailure) -> String
}

/// A grid run as `POST /api/runs` answers it (202): its id and each shard's job, from the output of
/// `testbed run --grid slurm --no-wait --json` (`{"grid": G, "shards": [{"node", "job", "tests"}]}`).
public struct GridRunAccepted: Sendable, Equatable, Codable {
    /// One shard's batch job.
    public struct Job: Sendable, Equatable, Codable {
        /// The node it is pinned to.
        public var node: String
        /// The Slurm job id.
        public var job: String
        /// How many tests the shard runs.
        public var tests: Int

        /// A job.
        ///
        /// - Parameters:
        ///   - node: the node.
        ///   - job: the Slurm job id.
        ///   - tests: how many tests.
        public init(node: String, job: String, tests: Int) {
            self.node = node
            self.job = job
            self.tests = tests
        }

        enum CodingKeys: String, CodingKey { case node, job, tests }

        /// Decodes a shard: `job` a string or a number, `tests` a count or the list of ids.
        ///
        /// - Parameter decoder: the decoder.
        /// - Throws: `DecodingError` for a missing or mistyped field.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            node = try container.decode(String.self, forKey: .node)
            if let number = try? container.decode(Int.self, forKey: .job) { job = String(number) } else {
                job = try container.decode(String.self, forKey: .job)
            }
            if let count = try? container.decode(Int.self, forKey: .tests) { tests = count } else {
                tests = try container.decode([String].self, forKey: .tests).count
            }
        }
    }

    /// The grid run's id (`grid-YYYYMMDD-HHMMSS-XXXX`).
    public var grid: String
    /// The shards' jobs, as submitted.
    public var jobs: [Job]

    /// An answer.
    ///
    /// - Parameters:
    ///   - grid: the grid run's id.
    ///   - jobs: the jobs.
    public init(grid: String, jobs: [Job]) {
        self.grid = grid
        self.jobs = jobs
    }

    /// Reads the output of `testbed run --grid slurm --no-wait --json`.
    ///
    /// - Parameter output: the child's standard output.
    /// - Returns: the grid run's id and jobs.
    /// - Throws: `APIFailure` (502) when it is not that JSON.
    public static func parse(runOutput output: String) throws(APIFailure) -> GridRunAccepted {
        struct Output: Decodable {
            var grid: String
            var shards: [Job]
        }
        do {
            let decoded = try JSONDecoder().decode(Output.self, from: Data(output.utf8))
            return GridRunAccepted(grid: decoded.grid, jobs: decoded.shards)
        } catch {
            let start = output.prefix(200)
            throw APIFailure(status: 502, message: "testbed run --grid slurm --no-wait --json printed no grid run: \(start.debugDescription); "
                + "see the server's standard error")
        }
    }
}
