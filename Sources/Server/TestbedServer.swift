import Dashboard
import Foundation
import Hummingbird
import Logging
import PostgresStore
import Results
import Synchronization

/// `testbed serve`: the live dashboard at `/`, the results directory read-only under `/logs/`, and the JSON API under `/api/`.
///
/// Every request opens the store anew (SQLite in WAL mode: a reader never waits for `testbed run` writing, and sees its
/// last commit; PostgreSQL (`database`): a new connection, that sees the last commit of every host), so the server keeps
/// answering while runs are recorded. `/logs/` serves the local results directory: runs of other hosts have their
/// files there when every host writes its run directories into one shared directory mounted at the same path. GET and HEAD only; any other method is 405.
public struct TestbedServer: Sendable {
    /// The results directory.
    public let directory: String
    /// Where to listen.
    public let address: ListenAddress
    /// How many runs the dashboard shows.
    public let last: Int
    /// What answers `/api/`.
    public let api: any APIAnswering
    /// The PostgreSQL database that keeps the rows (`--database`); nil for the SQLite database of `directory`.
    public var database: DatabaseURL? = nil
    /// What `--grid slurm` adds (`POST /api/runs`, the dashboard's hosts); nil without it.
    public var grid: GridService? = nil

    /// A server of `directory`.
    ///
    /// - Parameters:
    ///   - directory: the results directory.
    ///   - address: where to listen.
    ///   - last: how many runs the dashboard shows.
    ///   - api: what answers `/api/`.
    public init(directory: String, address: ListenAddress, last: Int, api: any APIAnswering) {
        self.directory = directory
        self.address = address
        self.last = last
        self.api = api
    }

    /// Listens and serves until SIGTERM or SIGINT, then returns (requests under way are finished first).
    ///
    /// - Parameter listening: called once listening, with the address and the real port (the kernel's when 0 was asked).
    /// - Throws: `ServerError.inUse` when the address is taken, `.cannotListen` for another failure to listen.
    public func run(listening: @escaping @Sendable (ListenAddress) -> Void) async throws(ServerError) {
        var logger = Logger(label: "testbed-serve")
        logger.logLevel = .critical
        let address = self.address
        let app = Application(
            router: router(), configuration: .init(address: .hostname(address.host, port: address.port), serverName: "testbed"),
            onServerRunning: { channel in
                listening(ListenAddress(host: address.host, port: channel.localAddress?.port ?? address.port))
            }, logger: logger)
        do {
            try await app.runService()
        } catch {
            let text = String(describing: error)
            if text.contains("Address already in use") || text.contains("EADDRINUSE") || text.contains("errno: 98") {
                throw .inUse(address.description)
            }
            throw .cannotListen(address.description, text)
        }
    }

    /// The routes.
    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let grid = self.grid
        // `POST /api/runs` is the one write, and only with `--grid slurm`.
        let writable: Set<String> = grid == nil ? [] : [Self.runsPath]
        router.add(middleware: ReadOnlyMiddleware(writable: writable))
        let directory = self.directory
        let last = self.last
        let api = self.api
        let database = self.database
        let logs = LogFiles(directory: directory)
        // Each route answers GET and HEAD (the middleware drops HEAD's body); any other method is 405, but POST on
        // a writable path.
        func route(_ path: RouterPath, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
            for method in [HTTPRequest.Method.get, .head] { router.on(path, method: method, use: handler) }
            for method in [HTTPRequest.Method.post, .put, .delete, .patch, .options] {
                router.on(path, method: method) { request, _ in
                    if method == .post, let grid, request.uri.path == Self.runsPath {
                        return await Self.submit(request, grid: grid, directory: directory)
                    }
                    return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"])
                }
            }
        }
        // With a grid, the page shows Slurm's node states too: no cache keyed on the database alone.
        let cache = DashboardCache()
        let cached = database == nil && grid == nil ? cache : nil
        route("/") { _, _ in try Self.dashboard(directory: directory, database: database, last: last, cache: cached, grid: grid) }
        // `/logs` answers with a redirect: its listing's relative links need the trailing slash.
        route("/logs") { request, _ in
            request.uri.path == "/logs" ? Response(status: .movedPermanently, headers: [.location: "/logs/"]) : Self.log(logs, "")
        }
        route("/logs/**") { request, _ in
            Self.log(logs, String(request.uri.path.dropFirst("/logs/".count)).removingPercentEncoding ?? "/")
        }
        route("/api/**") { request, _ in
            let path = String(request.uri.path.dropFirst("/api/".count))
            let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { first, _ in first }
            return Self.api(api, directory: directory, database: database, path: path, query: query)
        }
        return router
    }

    /// The dashboard of the newest `last` runs, rendered now unless `cache` holds the page of the same database state
    /// (`DashboardCache`); links to run directories go to `/logs/`.
    static func dashboard(directory: String, database: DatabaseURL? = nil, last: Int, cache: DashboardCache? = nil,
                          grid: GridService? = nil) throws -> Response {
        let key = DashboardCache.Key(directory: directory)
        if let cache, let html = cache.page(for: key) {
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
        }
        let html: String
        do {
            let store = try openStore(directory: directory, database: database)
            var data = try DashboardData(store: store, last: last)
            if let grid {
                do { data.hosts = try grid.hosts.hosts(store: store) } catch { data.hostsProblem = error.message }
            }
            var page = ""
            DashboardPage(data: data, linkBase: "/logs/").write { page += $0 }
            html = page
        } catch {
            return text(status(of: error) == 500 ? .internalServerError : .notFound, "\(error)\n")
        }
        cache?.keep(html, for: key)
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// The path that takes a grid run (`POST`).
    static let runsPath = "/api/runs"

    /// `POST /api/runs`: the grid run of the body, started (202), or refused.
    static func submit(_ request: Request, grid: GridService, directory: String) async -> Response {
        let authorization = request.headers[.authorization]
        if let refusal = grid.refusal(authorization: authorization) { return response(refusal) }
        let body = try? await request.body.collect(upTo: GridRunRequest.maximumBody)
        return response(await grid.submit(authorization: authorization, body: body.map { Data(buffer: $0) }, results: directory))
    }

    /// An answer of the grid service as a response; a 401 says how to authenticate (`WWW-Authenticate`).
    static func response(_ answer: GridService.Answer) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if answer.status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"testbed\"" }
        return Response(status: HTTPResponse.Status(code: answer.status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// A file (as text/plain) or a directory listing (HTML) inside the results directory; 404 for anything else.
    static func log(_ logs: LogFiles, _ relative: String) -> Response {
        switch logs.entry(relative) {
        case .none:
            return text(.notFound, "no such file in the results directory\n")
        case let .file(path):
            guard let data = FileManager.default.contents(atPath: path) else { return text(.notFound, "cannot read the file\n") }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        case let .directory(path):
            let atRoot = path == logs.root
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
                .filter { !LogFiles.isHidden($0, atRoot: atRoot) && !logs.isBookkeeping(path + "/" + $0) }
            let base = relative.isEmpty || relative.hasSuffix("/") ? "" : (relative.split(separator: "/").last.map(String.init) ?? "") + "/"
            var html = "<!doctype html><meta charset=\"utf-8\"><title>\(escaped(relative))</title><ul>\n"
            for name in names {
                let encoded = name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#")))
                    ?? name
                html += "<li><a href=\"\(escaped(base + encoded))\">\(escaped(name))</a></li>\n"
            }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: html + "</ul>\n")))
        }
    }

    /// The HTTP status of a store error: 500 for a database that is there but cannot be read, 404 for no database or no run.
    ///
    /// - Parameter error: what the store threw.
    /// - Returns: 500 or 404.
    public static func status(of error: StoreError) -> Int {
        switch error {
        case .cannotOpen, .notADatabase, .linkedDatabase, .full, .unreachable: 500
        default: 404
        }
    }

    /// The store a request reads, opened anew: the SQLite database of the results directory, or PostgreSQL.
    ///
    /// - Parameters:
    ///   - directory: the results directory.
    ///   - database: the PostgreSQL database; nil for SQLite.
    /// - Returns: the store.
    /// - Throws: `StoreError` when it cannot be opened (or, for SQLite, holds no runs yet).
    public static func openStore(directory: String, database: DatabaseURL?) throws(StoreError) -> any RunStore {
        guard let database else { return try SQLiteRunStore(directory: directory, create: false) }
        return try PostgresRunStore(url: database, directory: directory, create: false)
    }

    /// The answer of `/api/PATH?QUERY`.
    static func api(_ api: any APIAnswering, directory: String, database: DatabaseURL? = nil, path: String, query: [String: String]) -> Response {
        let request: APIRequest
        switch parse(path: path, query: query) {
        case let .success(parsed): request = parsed
        case let .failure(failure): return json(failure)
        }
        do {
            let store: any RunStore
            do { store = try openStore(directory: directory, database: database) } catch {
                throw APIFailure(status: Self.status(of: error), message: error.description)
            }
            let body = try api.answer(request, store: store)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        } catch let failure as APIFailure {
            return json(failure)
        } catch {
            return json(APIFailure(status: 500, message: "\(error)"))
        }
    }

    /// The request a path below `/api/` and its query ask.
    ///
    /// - Parameters:
    ///   - path: the path after `/api/`, percent-encoded as received.
    ///   - query: the query's parameters, decoded.
    /// - Returns: the request, or a 404 (unknown path) or 400 (a missing or bad parameter).
    public static func parse(path: String, query: [String: String]) -> Result<APIRequest, APIFailure> {
        func number(_ name: String, default value: Int) -> Result<Int, APIFailure> {
            guard let text = query[name] else { return .success(value) }
            guard let number = Int(text) else {
                return .failure(APIFailure(status: 400, message: "\(name) must be a whole number, not '\(text)'; e.g. \(name)=20"))
            }
            guard number >= 0 else { return .failure(APIFailure(status: 400, message: "\(name) must be 0 or more (0: all), not \(number)")) }
            return .success(number)
        }
        let filter = RunFilter(host: query["host"], environment: query["environment"])
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        switch trimmed {
        case "runs":
            return number("limit", default: 20).map { .runs(filter, limit: $0) }
        case "hosts":
            return .success(.hosts)
        case "diff":
            return .success(.diff(a: query["a"], b: query["b"]))
        case "why":
            guard let test = query["test"], !test.isEmpty else { return .failure(APIFailure(status: 400, message: "give the test: why?test=TEST")) }
            return .success(.why(test: test, filter: filter))
        case "tests/history":
            guard let test = query["id"], !test.isEmpty else {
                return .failure(APIFailure(status: 400, message: "give the test: tests/history?id=TEST"))
            }
            return number("limit", default: 20).map { .history(test: test, filter: filter, limit: $0) }
        default:
            // The path forms: `tests/{TEST}/history` and `why/{TEST}`, TEST percent-encoded (`%2Fnet%2Fvirtio`) or
            // written out (`tests/net/virtio/history`), with or without its leading `/`.
            func testID(_ text: Substring) -> String? {
                guard let id = String(text).removingPercentEncoding, !id.isEmpty, id != "/" else { return nil }
                return id.hasPrefix("/") ? id : "/" + id
            }
            if trimmed.hasPrefix("tests/"), trimmed.hasSuffix("/history"),
               let test = testID(trimmed.dropFirst("tests/".count).dropLast("/history".count)) {
                return number("limit", default: 20).map { .history(test: test, filter: filter, limit: $0) }
            }
            if trimmed.hasPrefix("why/"), let test = testID(trimmed.dropFirst("why/".count)) {
                return .success(.why(test: test, filter: filter))
            }
            if trimmed.hasPrefix("runs/"), let id = String(trimmed.dropFirst("runs/".count)).removingPercentEncoding, !id.isEmpty,
               !id.contains("/") {
                return .success(.run(id))
            }
            return .failure(APIFailure(status: 404, message: "no such API path /api/\(path); docs/openapi.yaml lists them"))
        }
    }

    static func json(_ failure: APIFailure) -> Response {
        struct Body: Encodable { var error: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Body(error: failure.message))) ?? Data("{}".utf8)
        return Response(status: HTTPResponse.Status(code: failure.status), headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// On a matched route: refuses every method but GET and HEAD (405 with `Allow: GET, HEAD`), and POST on a `writable`
/// path; HEAD answers as GET without the body.
struct ReadOnlyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The paths that take POST.
    var writable: Set<String> = []

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .get:
            return try await next(request, context)
        case .post where writable.contains(request.uri.path):
            return try await next(request, context)
        case .head:
            var head = request.head
            head.method = .get
            let response = try await next(Request(head: head, body: request.body), context)
            return Response(status: response.status, headers: response.headers)
        default:
            return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"])
        }
    }
}

/// The last dashboard page served, and the state of the database it was rendered from: `GET /` renders anew only when
/// the database or its write-ahead log changed (size or modification time, to the nanosecond), or after `lifetime`
/// (5 seconds: a running run's elapsed time moves on without a write).
final class DashboardCache: Sendable {
    /// What the page depends on: the stat of `testbed.sqlite` and `testbed.sqlite-wal`.
    struct Key: Equatable, Sendable {
        var files: [Int64]

        init(directory: String) {
            files = ["testbed.sqlite", "testbed.sqlite-wal"].flatMap { name -> [Int64] in
                var info = stat()
                guard stat(directory + "/" + name, &info) == 0 else { return [-1, -1, -1] }
                return [Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec)]
            }
        }
    }

    let lifetime: Duration
    private let kept = Mutex<(key: Key, html: String, at: ContinuousClock.Instant)?>(nil)

    init(lifetime: Duration = .seconds(5)) { self.lifetime = lifetime }

    /// The page kept for `key`, if it is still fresh.
    func page(for key: Key) -> String? {
        kept.withLock { kept in
            guard let kept, kept.key == key, ContinuousClock.now - kept.at < lifetime else { return nil }
            return kept.html
        }
    }

    /// Keeps `html` as the page of `key`.
    func keep(_ html: String, for key: Key) {
        kept.withLock { $0 = (key, html, ContinuousClock.now) }
    }
}
