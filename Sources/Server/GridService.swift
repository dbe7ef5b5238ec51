import Dashboard
import Foundation
import Results

/// Where the dashboard's Hosts section comes from (`testbed serve --grid slurm`): the grid's nodes with their status,
/// joined with the enrolled hosts and latest runs of the store. The command line provides it (it asks Slurm).
public protocol GridHostSource: Sendable {
    /// Every node of the grid, by name.
    ///
    /// - Parameter store: the results store opened for this request; nil when it cannot be opened.
    /// - Returns: the rows.
    /// - Throws: `APIFailure` (502) when the grid cannot be asked.
    func hosts(store: (any RunStore)?) throws(APIFailure) -> [DashboardData.HostRow]
}

/// What `testbed serve --grid slurm` adds to the server: `POST /api/runs` (a grid run started through `launcher`, for a
/// request that carries `token`) and the hosts on the dashboard.
public struct GridService: Sendable {
    /// What starts a grid run.
    public var launcher: any GridRunLauncher
    /// The token a write needs; nil when serve was given no `--token-file` (then every write is refused with 403).
    public var token: BearerToken?
    /// The grid's hosts.
    public var hosts: any GridHostSource
    /// Whether a path exists on the server (the file system; a fake in tests).
    var fileExists: @Sendable (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }

    /// A grid service.
    ///
    /// - Parameters:
    ///   - launcher: what starts a grid run.
    ///   - token: the token writes need; nil refuses every write.
    ///   - hosts: the grid's hosts.
    public init(launcher: any GridRunLauncher, token: BearerToken?, hosts: any GridHostSource) {
        self.launcher = launcher
        self.token = token
        self.hosts = hosts
    }

    /// A grid service whose `fileExists` is given (for tests).
    ///
    /// - Parameters:
    ///   - launcher: what starts a grid run.
    ///   - token: the token writes need.
    ///   - hosts: the grid's hosts.
    ///   - fileExists: whether a path exists.
    public init(launcher: any GridRunLauncher, token: BearerToken?, hosts: any GridHostSource,
                fileExists: @escaping @Sendable (String) -> Bool) {
        self.init(launcher: launcher, token: token, hosts: hosts)
        self.fileExists = fileExists
    }

    /// An answer of `POST /api/runs`: its status and JSON body.
    public struct Answer: Sendable, Equatable {
        /// The HTTP status: 202, 400, 401, 403, 413, 502.
        public var status: Int
        /// The JSON body: `{"grid", "jobs"}` for 202, else `{"error"}`.
        public var body: String
    }

    /// Whether a request's `Authorization` header may write: nil when it may, else the refusal (403 without a token
    /// file, 401 for a missing or wrong token).
    ///
    /// - Parameter authorization: the header's value.
    /// - Returns: nil, or the answer refusing it.
    public func refusal(authorization: String?) -> Answer? {
        guard let token else {
            return Self.failure(APIFailure(status: 403, message: "this server takes no runs: it was started without a token; "
                + "start it with testbed serve --grid slurm --token-file FILE (a file of mode 0600 holding the token)"))
        }
        guard token.accepts(authorization) else {
            return Self.failure(APIFailure(status: 401, message: authorization == nil
                ? "no token; send the header Authorization: Bearer TOKEN with the token of serve's --token-file"
                : "wrong token; send the header Authorization: Bearer TOKEN with the token of serve's --token-file"))
        }
        return nil
    }

    /// Answers `POST /api/runs`: the token first, then the body checked, then the grid run started.
    ///
    /// - Parameters:
    ///   - authorization: the `Authorization` header's value.
    ///   - body: the request body (JSON); nil when it was larger than `GridRunRequest.maximumBody`.
    ///   - results: the results directory the grid run records into.
    /// - Returns: 202 with `{"grid": G, "jobs": [{"node", "job", "tests"}]}`, or the refusal.
    public func submit(authorization: String?, body: Data?, results: String) async -> Answer {
        if let refusal = refusal(authorization: authorization) { return refusal }
        do throws(APIFailure) {
            guard let body else {
                throw APIFailure(status: 413, message: "the body is too large; send at most \(GridRunRequest.maximumBody) bytes")
            }
            let request = try GridRunRequest.parse(body, fileExists: fileExists)
            let output = try await launcher.launch(request.arguments(results: results))
            let accepted = try GridRunAccepted.parse(runOutput: output)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(accepted)) ?? Data("{}".utf8)
            return Answer(status: 202, body: String(decoding: data, as: UTF8.self))
        } catch {
            return Self.failure(error)
        }
    }

    static func failure(_ failure: APIFailure) -> Answer {
        struct Body: Encodable { var error: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Body(error: failure.message))) ?? Data("{}".utf8)
        return Answer(status: failure.status, body: String(decoding: data, as: UTF8.self))
    }
}
