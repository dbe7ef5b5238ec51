import Foundation
import Testing
import TestSupport

/// One HTTP/1.1 request with headers and a body over a plain socket: the status, the body, the head.
func httpRequest(_ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String = "") throws
    -> (status: Int, body: String, head: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request += "\(name): \(value)\r\n" }
    request += "\r\n" + body
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        data.append(contentsOf: buffer[0..<count])
    }
    let text = String(decoding: data, as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    let split = text.range(of: "\r\n\r\n")
    return (status, split.map { String(text[$0.upperBound...]) } ?? "", split.map { String(text[..<$0.lowerBound]) } ?? text)
}

/// Whether this build's `testbed run` knows `--grid` (the grid orchestrator): the end-to-end grid run needs it.
let runKnowsGrid: Bool = {
    guard let help = try? testbed(["run", "--help"]) else { return false }
    return help.stdout.contains("--grid")
}()

extension GridHostsTests {
/// `testbed serve --grid slurm` on the grid SLURM_CONF names (scripts/local-grid): the hosts on the dashboard and
/// `/api/hosts`, the token rules of `POST /api/runs`, and a grid run taken over the API. Nested in the serialized
/// `GridHostsTests`: it drains node3 and enrols the nodes, which the other grid tests must not meet half-way.
@Suite("testbed serve --grid slurm", .serialized, .timeLimit(.minutes(5)),
       .enabled(if: slurmGridIsUp, "needs a Slurm grid: eval \"$(scripts/local-grid up)\""))
struct ServeGridTests {
    /// A results directory with one local run (serve needs a run to show), and a token file of mode 0600.
    static func tree() throws -> TemporaryTree {
        let tree = try TemporaryTree()
        try tree.write("suite/testbed.yaml", "tests:\n  one: 'true'\n  two: 'true'\n")
        let run = try testbed(["run", ".", "-q"], in: tree["suite"])
        #expect(run.status == 0, "\(run.stderr)")
        try tree.write("token", "grid-token-0123456789abcdef\n")
        chmod(tree["token"], 0o600)
        return tree
    }

    static let bearer = ["Authorization": "Bearer grid-token-0123456789abcdef"]

    static func start(_ arguments: [String], in tree: TemporaryTree) throws -> Served {
        let (served, process, scratch) = try Served.start(arguments, in: tree["suite"])
        if served == nil, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        return try #require(served, "serve did not start: \((try? String(contentsOfFile: scratch["err"], encoding: .utf8)) ?? "")")
    }

    @Test("without --token-file: every POST is 403 saying how to enable it; /api/hosts is the grid's nodes as hosts --grid slurm --json")
    func withoutToken() throws {
        for node in ["node1", "node2", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        let tree = try Self.tree()
        let server = try Self.start(["--grid", "slurm"], in: tree)
        defer { server.stop() }
        let refused = try httpRequest(server.port, "POST", "/api/runs", headers: Self.bearer, body: #"{"suite": ["\#(tree["suite"])"]}"#)
        #expect(refused.status == 403 && refused.body.contains("--token-file FILE"), "\(refused)")
        let warning = (try? String(contentsOfFile: server.scratch["err"], encoding: .utf8)) ?? ""
        #expect(warning.contains("no --token-file: POST /api/runs refuses every run (403)"), "\(warning)")
        let hosts = try httpRequest(server.port, "GET", "/api/hosts")
        let cli = try testbed(["hosts", "--grid", "slurm", "--json"], in: tree["suite"])
        #expect(hosts.status == 200 && cli.status == 0, "\(hosts.body)\(cli.stderr)")
        let nodes = try #require(parsedJSON(hosts.body) as? [[String: Any]], "\(hosts.body)")
        #expect(nodes.compactMap { $0["name"] as? String } == ["node1", "node2", "node3"], "\(hosts.body)")
        #expect(parsedJSON(hosts.body) == parsedJSON(cli.stdout), "\(hosts.body)\n---\n\(cli.stdout)")
        let page = try httpRequest(server.port, "GET", "/")
        #expect(page.status == 200 && page.body.contains("id=\"hosts-table\"") && page.body.contains("data-host=\"node2\""), "\(page.body.prefix(300))")
    }

    @Test("with --token-file: no or a wrong token is 401 (WWW-Authenticate: Bearer), a bad body 400, other methods 405")
    func tokenRules() throws {
        let tree = try Self.tree()
        let server = try Self.start(["--grid", "slurm", "--token-file", tree["token"]], in: tree)
        defer { server.stop() }
        let body = #"{"suite": ["\#(tree["suite"])"]}"#
        let none = try httpRequest(server.port, "POST", "/api/runs", body: body)
        #expect(none.status == 401 && none.head.lowercased().contains("www-authenticate: bearer"), "\(none)")
        #expect(none.body.contains("no token; send the header Authorization: Bearer TOKEN"), "\(none.body)")
        let wrong = try httpRequest(server.port, "POST", "/api/runs", headers: ["Authorization": "Bearer grid-token-0123456789abcdeX"], body: body)
        #expect(wrong.status == 401 && wrong.body.contains("wrong token"), "\(wrong)")
        let relative = try httpRequest(server.port, "POST", "/api/runs", headers: Self.bearer, body: #"{"suite": ["suite"]}"#)
        #expect(relative.status == 400 && relative.body.contains("is not an absolute path"), "\(relative)")
        let option = try httpRequest(server.port, "POST", "/api/runs", headers: Self.bearer,
                                     body: #"{"suite": ["\#(tree["suite"])"], "selection": {"ids": ["--help"]}}"#)
        #expect(option.status == 400 && option.body.contains("starts with -"), "\(option)")
        #expect(try httpRequest(server.port, "PUT", "/api/runs", headers: Self.bearer, body: body).status == 405)
        #expect(try httpRequest(server.port, "POST", "/api/hosts", headers: Self.bearer, body: body).status == 405)
        #expect(try httpRequest(server.port, "POST", "/", headers: Self.bearer, body: body).status == 405)
        #expect(try httpRequest(server.port, "GET", "/api/runs").status == 200)
        // The token and a good body start the real child, `testbed run --grid slurm --no-wait --json`: before the grid
        // orchestrator exists, its refusal of --grid comes back as 400 with its message.
        if !runKnowsGrid {
            let started = try httpRequest(server.port, "POST", "/api/runs", headers: Self.bearer, body: body)
            #expect(started.status == 400 && started.body.contains("testbed run --grid slurm exited with 64: "), "\(started)")
            #expect(started.body.contains("unknown option '--grid'"), "\(started)")
        }
    }

    @Test("a token file others may read, or --token-file without --grid, is a usage error (64)")
    func badTokenFiles() throws {
        let tree = try Self.tree()
        chmod(tree["token"], 0o644)
        let open = try testbed(["serve", "--grid", "slurm", "--token-file", tree["token"], "--listen", "127.0.0.1:0"], in: tree["suite"])
        #expect(open.status == 64 && open.stderr.contains("can be read or written by others (mode 644); chmod 600"), "\(open.stderr)")
        let alone = try testbed(["serve", "--token-file", tree["token"], "--listen", "127.0.0.1:0"], in: tree["suite"])
        #expect(alone.status == 64 && alone.stderr.contains("--token-file takes effect with --grid slurm only"), "\(alone.stderr)")
    }

    @Test("the dashboard's Hosts section in headless Chromium: each node's status; a node halted by a run shows the reason and the run",
          .enabled(if: chromiumPath != nil, "chromium is not installed (apt-get install chromium): the browser test is skipped"))
    func hostsInBrowser() throws {
        for node in ["node1", "node2", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        let tree = try Self.tree()
        let server = try Self.start(["--grid", "slurm"], in: tree)
        defer { server.stop() }
        let run = "20261130-101500-c0de"
        let drained = try runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node3", "State=DRAIN",
                                                      "Reason=testbed: setup boot failed in run \(run)"])
        #expect(drained.status == 0, "\(drained.stderr)")
        defer { _ = try? runProgram("/usr/bin/env", ["scontrol", "update", "NodeName=node3", "State=RESUME"]) }
        // Every name resolves to nothing and every request but loopback goes to a proxy nobody listens on.
        let dom = try runProgram(chromiumPath ?? "chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(tree["chromium-profile"])", "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
            "--dump-dom", "http://127.0.0.1:\(server.port)/",
        ])
        #expect(dom.status == 0, "\(dom.stderr)")
        let rows = dom.stdout.components(separatedBy: "<tr data-host=\"").dropFirst().map { $0.components(separatedBy: "</tr>")[0] }
        #expect(rows.count == 3, "\(dom.stdout.prefix(2000))")
        let byNode = Dictionary(rows.map { (String($0.prefix { $0 != "\"" }), $0) }) { first, _ in first }
        for node in ["node1", "node2"] { #expect(byNode[node]?.contains("class=\"h-online\">online<") == true, "\(byNode[node] ?? "")") }
        let node3 = byNode["node3"] ?? ""
        #expect(node3.contains("class=\"h-halted\">halted<") && node3.contains("testbed: setup boot failed in run \(run)"), "\(node3)")
        #expect(node3.contains("href=\"/logs/\(run)/\""), "\(node3)")
        #expect((byNode["node2"] ?? "").contains("lab_b, gpu"), "\(byNode["node2"] ?? "")")
    }

    @Test("a grid run taken over the API with the token: 202, the grid id and its jobs; every shard's run lands in the database",
          .enabled(if: runKnowsGrid, "testbed run has no --grid yet (helper A's orchestrator): the API's grid run is not tested"),
          .enabled(if: testDatabaseServer != nil, "needs TESTBED_TEST_DATABASE"))
    func gridRunOverTheAPI() throws {
        // Its enrolment gives the nodes features a later test must not find.
        defer { GridHostsTests.restoreFeatures() }
        for node in ["node1", "node2", "node3"] { #expect(try waitForStatus(node, "online"), "\(node)") }
        let database = try PostgresCommandsTests.database()
        let tree = try TemporaryTree()
        try tree.write("suite/testbed.yaml", "tests:\n" + (1...6).map { "  t\($0): 'true'\n" }.joined())
        let local = try testbed(["run", ".", "-q", "--database", database], in: tree["suite"])
        #expect(local.status == 0, "\(local.stderr)")
        let enrolled = try testbed(["hosts", "enroll", "--all", "--database", database, "--results", tree["suite/testbed-results"]], in: tree.path)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        try tree.write("token", "grid-token-0123456789abcdef\n")
        chmod(tree["token"], 0o600)
        let server = try Self.start(["--grid", "slurm", "--token-file", tree["token"], "--database", database], in: tree)
        defer { server.stop() }
        let accepted = try httpRequest(server.port, "POST", "/api/runs", headers: Self.bearer,
                                       body: #"{"suite": ["\#(tree["suite"])"], "labels": {"via": "api"}}"#)
        #expect(accepted.status == 202, "\(accepted)\n\((try? String(contentsOfFile: server.scratch["err"], encoding: .utf8)) ?? "")")
        let answer = try #require(parsedJSON(accepted.body) as? [String: Any], "\(accepted.body)")
        let grid = try #require(answer["grid"] as? String)
        #expect(grid.wholeMatch(of: /grid-\d{8}-\d{6}-[0-9a-f]{4}/) != nil, "\(grid)")
        let jobs = try #require(answer["jobs"] as? [[String: Any]])
        #expect(!jobs.isEmpty && jobs.allSatisfy { $0["job"] is String && $0["node"] is String }, "\(accepted.body)")
        #expect(jobs.compactMap { $0["tests"] as? Int }.reduce(0, +) == 6, "\(accepted.body)")
        // Every shard's run, labelled grid-run=GRID (and via=api), lands in the database and passes.
        var shards: [[String: Any]] = []
        let landed = try eventually(within: 120) {
            let listed = try testbed(["runs", "--json", "--limit", "0", "--database", database], in: tree["suite"])
            let runs = (parsedJSON(listed.stdout) as? [[String: Any]]) ?? []
            shards = runs.filter { (($0["labels"] as? [String: String])?["grid-run"]) == grid }
            return shards.count == jobs.count && shards.allSatisfy { $0["exit_code"] as? Int == 0 }
        }
        #expect(landed, "\(shards)")
        #expect(shards.allSatisfy { ($0["labels"] as? [String: String])?["via"] == "api" }, "\(shards)")
    }
}
}
