import Results

/// One question to the JSON API, parsed from the request's path and query.
public enum APIRequest: Sendable, Equatable {
    /// `GET /api/runs[?host=&environment=&limit=]`: as `testbed runs --json` (limit 0: all; default 20).
    case runs(RunFilter, limit: Int)
    /// `GET /api/runs/{id}`: as `testbed report RUN --json`.
    case run(String)
    /// `GET /api/tests/history?id=TEST[&host=&environment=&limit=]`: as `testbed history TEST --json`.
    case history(test: String, filter: RunFilter, limit: Int)
    /// `GET /api/diff[?a=&b=]`: as `testbed diff [A] [B] --json`.
    case diff(a: String?, b: String?)
    /// `GET /api/why?test=TEST[&host=&environment=]`: as `testbed why TEST --json`.
    case why(test: String, filter: RunFilter)
    /// `GET /api/hosts`: each host with its runs count and latest run.
    case hosts
}

/// What answers the API: a JSON text for a request, read from a store opened for that request.
///
/// The command line provides it (`testbed serve`), so that the CLI's `--json` and the API share one function per shape.
public protocol APIAnswering: Sendable {
    /// The JSON text answering `request`.
    ///
    /// - Parameters:
    ///   - request: the question.
    ///   - store: the results store, opened for this request.
    /// - Returns: the JSON text, as the CLI's `--json` prints it.
    /// - Throws: `APIFailure` (400 or 404) with the CLI's message.
    func answer(_ request: APIRequest, store: any RunStore) throws(APIFailure) -> String
}
