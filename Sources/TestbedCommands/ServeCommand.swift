import ArgumentParser
import Execution
import Foundation
import Grid
import PostgresStore
import History
import Reporting
import Results
import Server

/// `testbed serve`: the live dashboard and the read-only JSON API over HTTP.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the dashboard live, the results directory read-only and a JSON API of the history over HTTP.",
        discussion: """
        `/` is the dashboard of `report --html`, rendered anew for every request; \
        `/logs/PATH` serves the results directory read-only (never a path outside it); \
        `/api/` answers JSON with the shapes of the CLI's --json: runs, runs/ID, \
        tests/history?id=TEST, diff?a=RUN_A&b=RUN_B, why?test=TEST, hosts \
        (docs/openapi.yaml describes them). GET and HEAD only; no authentication.

        With --grid slurm: the dashboard shows the grid's hosts with their \
        status, GET /api/hosts answers as `testbed hosts --grid slurm --json`, \
        and POST /api/runs starts a grid run (`testbed run --grid slurm \
        --no-wait`) of suites on storage every node shares; it needs the header \
        `Authorization: Bearer TOKEN` with the token of --token-file (a file of \
        mode 0600, at least 16 characters): 401 without it or with another, \
        403 when serve has no --token-file (docs/grid.md, "Grid runs over the API").

        It listens on 127.0.0.1:8080 unless --listen says otherwise; an address \
        other than loopback prints a warning. The first line on stdout is the \
        URL it listens on (with the real port when --listen asks for port 0). \
        It reads the database per request, so it keeps answering while \
        `testbed run` records into the same results directory. SIGTERM or \
        SIGINT stops it (exit 0).

          testbed serve
          testbed serve --results lab/testbed-results --listen 127.0.0.1:0
          curl -s localhost:8080/api/runs | jq '.[0].counts'
          testbed serve --grid slurm --token-file /etc/testbed/token

        Exit codes: 0 stopped by SIGTERM or SIGINT, 2 Slurm cannot be asked (--grid), \
        64 bad command line or token file, 66 no results directory or no runs yet, \
        69 the address is in use or cannot be listened on.
        """)

    /// Exit status when the address is taken or cannot be listened on (EX_UNAVAILABLE).
    static let unavailable: Int32 = 69

    @Option(help: ArgumentHelp("The results directory (default: ./testbed-results if it exists, else "
        + "testbed-results at the root of the suite around the current directory).", valueName: "dir"))
    var results: String?

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Where to listen (default: 127.0.0.1:8080; port 0: any free port, printed on stdout).",
                               valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("How many runs the dashboard shows (default: 20).", valueName: "n"))
    var last = 20

    @Option(help: ArgumentHelp("Serve a grid (only `slurm`: the one SLURM_CONF names): its hosts on the dashboard and "
        + "GET /api/hosts, grid runs by POST /api/runs.", valueName: "grid"))
    var grid: GridKind?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("With --grid: the file holding the token POST /api/runs needs "
        + "(Authorization: Bearer TOKEN; mode 0600, at least 16 characters); without it every POST is refused (403).",
        valueName: "file"))
    var tokenFile: String?

    func validate() throws {
        if tokenFile != nil, grid == nil { throw ValidationError("--token-file takes effect with --grid slurm only; add --grid slurm") }
        if let listen { do { _ = try ListenAddress(parsing: listen) } catch { throw ValidationError(error.description) } }
        if last < 1 { throw ValidationError("--last must be 1 or more, not \(last)") }
    }

    func run() async throws {
        let address = try listen.map { try ListenAddress(parsing: $0) } ?? .standard
        let store = try openStoreToRead(results, database: database.url)
        for note in store.notes { writeText("testbed: warning: \(note)\n", to: STDERR_FILENO) }
        let directory = store.directory
        var server = TestbedServer(directory: directory, address: address, last: last, api: ServeAPI(grid: grid != nil))
        server.database = try database.url.map { url throws(StoreError) in try DatabaseURL(url) }
        if grid != nil {
            let token: BearerToken?
            do { token = try tokenFile.map { path throws(ServerError) in try BearerToken(file: path) } } catch {
                throw CommandFailure(error.description, status: ExitPolicy.usage)
            }
            do { _ = try Slurm().nodes() } catch { throw gridFailure(error) }
            if token == nil {
                writeText("testbed: warning: no --token-file: POST /api/runs refuses every run (403); give --token-file FILE to take runs\n",
                          to: STDERR_FILENO)
            }
            server.grid = GridService(launcher: ChildTestbedLauncher(database: database.url), token: token, hosts: SlurmHostSource())
        }
        let writes = server.grid?.token != nil
        let serving = (server.database.map { "\($0.shown) and " } ?? "") + directory
        do {
            try await server.run { real in
                emit("http://\(real)/\n")
                if !real.isLoopback {
                    let api = writes ? "anyone who reaches it reads the whole history, and anyone who also has the token starts grid runs"
                        : "the API is read-only and unauthenticated, anyone who reaches it reads the whole history"
                    writeText("testbed: warning: listening on \(real), reachable from other machines: \(api); "
                        + "use --listen 127.0.0.1:PORT to keep it local\n", to: STDERR_FILENO)
                }
                writeText("testbed: serving \(serving) on http://\(real)/ (SIGINT or SIGTERM stops)\n", to: STDERR_FILENO)
            }
        } catch {
            throw CommandFailure(error.description, status: Self.unavailable)
        }
    }
}

/// The API's answers: each built by the function that builds the CLI's `--json` of the same question.
struct ServeAPI: APIAnswering {
    /// With `--grid slurm`: `GET /api/hosts` lists the grid's nodes (as `hosts --grid slurm --json`).
    var grid = false

    func answer(_ request: APIRequest, store: any RunStore) throws(APIFailure) -> String {
        do {
            return try text(request, store: store)
        } catch let failure as APIFailure {
            throw failure
        } catch let failure as CommandFailure {
            throw APIFailure(status: failure.status == ExitPolicy.usage ? 400 : 404, message: failure.message)
        } catch let error as StoreError {
            if TestbedServer.status(of: error) == 500 { throw APIFailure(status: 500, message: error.description) }
            let failure = historyFailure(error)
            throw APIFailure(status: failure.status == ExitPolicy.usage ? 400 : 404, message: failure.message)
        } catch {
            throw APIFailure(status: 500, message: "\(error)")
        }
    }

    func text(_ request: APIRequest, store: any RunStore) throws -> String {
        switch request {
        case let .runs(filter, limit):
            var filter = filter
            filter.limit = limit == 0 ? nil : limit
            return encodeJSON(RunsCommand.json(try store.runs(filter)))
        case let .run(id):
            return ReportFormat.json.render(try store.report(id))
        case let .history(test, filter, limit):
            let test = try knownTest(test, in: store)
            return encodeJSON(HistoryCommand.json(test: test, entries: try store.testHistory(test, filter: filter), limit: limit))
        case let .diff(a, b):
            if a != nil, b == nil { throw CommandFailure("give b (RUN_B) with a (RUN_A), or b alone", status: ExitPolicy.usage) }
            return encodeJSON(DiffCommand.json(try DiffCommand.compare([a, b].compactMap { $0 }, store: store)))
        case let .why(test, filter):
            let test = try knownTest(test, in: store)
            let (why, place) = try WhyCommand.answer(test, store: store, filter: filter)
            return encodeJSON(WhyCommand.json(why, place: place))
        case .hosts where grid:
            do { return encodeJSON(try HostsListCommand.gridRows(store: store)) } catch {
                throw APIFailure(status: 502, message: "the grid cannot be asked: \(error.description)")
            }
        case .hosts:
            return encodeJSON(HostJSON.all(try store.runs(RunFilter())))
        }
    }
}
