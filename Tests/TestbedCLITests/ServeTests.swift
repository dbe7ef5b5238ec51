import Foundation
import Testing
import TestSupport

/// A started `testbed serve`: its process, its port (read from stdout's first line) and its output files.
struct Served {
    let process: Process
    let port: Int
    let scratch: TemporaryTree

    /// Starts `testbed serve ARGUMENTS --listen LISTEN` and waits for the URL on stdout (nil port when it exited instead).
    static func start(_ arguments: [String], listen: String = "127.0.0.1:0", in directory: String) throws -> (Served?, Process, TemporaryTree) {
        let scratch = try TemporaryTree()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: testbedBinary)
        process.arguments = ["serve"] + arguments + ["--listen", listen]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        for name in ["out", "err"] { _ = FileManager.default.createFile(atPath: scratch[name], contents: nil) }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["out"]))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["err"]))
        process.standardInput = FileHandle.nullDevice
        // A developer's grid (`scripts/local-grid up` exports it) must not make serve read PostgreSQL.
        process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "TESTBED_DATABASE" }
        try process.run()
        var port: Int?
        _ = eventually(within: 30) {
            let out = (try? String(contentsOfFile: scratch["out"], encoding: .utf8)) ?? ""
            if let line = out.split(separator: "\n").first, line.hasPrefix("http://127.0.0.1:"), line.hasSuffix("/") {
                port = Int(line.dropFirst("http://127.0.0.1:".count).dropLast())
            }
            return port != nil || !process.isRunning
        }
        return (port.map { Served(process: process, port: $0, scratch: scratch) }, process, scratch)
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// One HTTP/1.1 request over a plain socket, the path sent as it is (no client-side `..` folding).
func http(_ port: Int, _ path: String, method: String = "GET") throws -> (status: Int, body: String, head: String) {
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
    let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
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
    let body = split.map { String(text[$0.upperBound...]) } ?? ""
    return (status, body, split.map { String(text[..<$0.lowerBound]) } ?? text)
}

/// Parsed JSON, for comparing two answers whatever their layout.
func parsedJSON(_ text: String) -> NSObject? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) as? NSObject
}

/// `testbed serve` end to end: on a real three-run history, each API answer is the CLI's `--json`; it answers while a run writes;
/// a taken port is a clear error; `/logs/` never leaves the results directory; SIGTERM and SIGINT stop it with 0.
@Suite("testbed serve: the live dashboard and the JSON API", .serialized, .timeLimit(.minutes(5)))
struct ServeTests {
    @Test("every API answer equals the CLI's --json of the same question; / is the dashboard; other methods are 405")
    func sameAsCLI() throws {
        let (tree, ids, _) = try HistoryCommandsTests.threeRuns()
        let (served, process, scratch) = try Served.start([], in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = try #require(served, "serve did not print its URL: \((try? String(contentsOfFile: scratch["err"], encoding: .utf8)) ?? "")")
        let pairs: [(String, [String])] = [
            ("/api/runs", ["runs", "--json"]),
            ("/api/runs?limit=2", ["runs", "--json", "--limit", "2"]),
            ("/api/runs/\(ids[1])", ["report", ids[1], "--json"]),
            ("/api/tests/history?id=/flip", ["history", "/flip", "--json"]),
            ("/api/tests/history?id=%2Fflip&limit=1", ["history", "/flip", "--json", "--limit", "1"]),
            ("/api/diff", ["diff", "--json"]),
            ("/api/diff?a=\(ids[2])&b=\(ids[0])", ["diff", ids[2], ids[0], "--json"]),
            ("/api/why?test=/flip", ["why", "/flip", "--json"]),
            ("/api/hosts", ["hosts", "--json"]),
        ]
        for (path, arguments) in pairs {
            let answer = try http(server.port, path)
            let cli = try testbed(arguments, in: tree["suite"])
            #expect(answer.status == 200, "\(path): \(answer.body)")
            #expect(cli.status == 0, "\(arguments): \(cli.stderr)")
            let api = parsedJSON(answer.body)
            #expect(api != nil && api == parsedJSON(cli.stdout), "\(path)\n\(answer.body)\n---\n\(cli.stdout)")
        }
        let hosts = try #require(parsedJSON(try http(server.port, "/api/hosts").body) as? [[String: Any]])
        #expect(hosts.count == 1)
        #expect(hosts.first?["runs"] as? Int == 3)
        #expect((hosts.first?["latest"] as? [String: Any])?["id"] as? String == ids[0])
        let table = try testbed(["hosts"], in: tree["suite"])
        let row = table.stdout.split(separator: "\n").dropFirst().first.map(String.init) ?? ""
        #expect(table.status == 0 && table.stdout.hasPrefix("HOST  RUNS  LATEST RUN"), "\(table.stdout)\(table.stderr)")
        #expect(row.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "3" && row.contains(ids[0]), "\(row)")
        let missing = try http(server.port, "/api/tests/history?id=/nothing")
        #expect(missing.status == 404 && missing.body.contains("no run has a result for test /nothing"), "\(missing)")
        #expect(try http(server.port, "/api/nowhere").status == 404)
        #expect(try http(server.port, "/api/why").status == 400)
        let page = try http(server.port, "/")
        #expect(page.status == 200 && page.body.contains("<html") && page.body.contains("/flip"), "\(page.body.prefix(300))")
        #expect(try http(server.port, "/api/runs", method: "POST").status == 405)
        #expect(try http(server.port, "/", method: "DELETE").status == 405)
        let head = try http(server.port, "/api/runs", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty, "\(head)")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }

    @Test("/logs/ serves the run's files read-only, and nothing outside the results directory whatever the path says")
    func logs() throws {
        let (tree, ids, _) = try HistoryCommandsTests.threeRuns()
        try FileManager.default.createSymbolicLink(atPath: tree["suite/testbed-results/out"], withDestinationPath: "/etc")
        let (served, process, _) = try Served.start(["--results", "testbed-results"], in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = try #require(served)
        let run = try #require(parsedJSON(try http(server.port, "/api/runs?limit=1").body) as? [[String: Any]])
        let directory = try #require(run.first?["directory"] as? String)
        #expect(run.first?["id"] as? String == ids[0])
        let relative = directory.hasPrefix("/") ? String(directory.dropFirst((tree["suite/testbed-results"] + "/").count)) : directory
        let listing = try http(server.port, "/logs/\(relative)/")
        #expect(listing.status == 200, "\(relative): \(listing)")
        for path in ["/logs/../../etc/passwd", "/logs/..%2F..%2Fetc%2Fpasswd", "/logs//etc/passwd", "/logs/%2Fetc%2Fpasswd",
                     "/logs/out/passwd", "/logs/\(relative)/../../../../etc/passwd"] {
            let answer = try http(server.port, path)
            #expect(answer.status == 404 || answer.status == 400, "\(path): \(answer.status)")
            #expect(!answer.body.contains("root:"), "\(path): \(answer.body)")
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }

    @Test("/logs redirects to /logs/; the listing and /logs/ hide the lock files and the database")
    func logsListing() throws {
        let (tree, ids, _) = try HistoryCommandsTests.threeRuns()
        // The database under another name, as a test could leave it in its output: opening it in the server would drop
        // the server's SQLite locks, and a writing run could then delete the WAL under it.
        try FileManager.default.createSymbolicLink(atPath: tree["suite/testbed-results/db.txt"], withDestinationPath: "testbed.sqlite")
        let (served, process, _) = try Served.start(["--results", "testbed-results"], in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = try #require(served)
        #expect(try http(server.port, "/").status == 200)
        #expect(try http(server.port, "/logs/db.txt").status == 404)
        try HistoryCommandsTests.run(tree, expecting: 1)
        let after = try http(server.port, "/api/runs?limit=0")
        #expect(after.status == 200 && (parsedJSON(after.body) as? [Any])?.count == 4, "\(after.body)")
        let redirect = try http(server.port, "/logs")
        #expect(redirect.status == 301 && redirect.head.lowercased().contains("location: /logs/"), "\(redirect.head)")
        let listing = try http(server.port, "/logs/")
        #expect(listing.status == 200)
        for id in ids { #expect(listing.body.contains("href=\"\(id)\""), "\(id): \(listing.body)") }
        for hidden in [".lock", "testbed.sqlite", "db.txt"] {
            #expect(!listing.body.contains(hidden), "\(hidden) listed: \(listing.body)")
            #expect(try http(server.port, "/logs/\(hidden)").status == 404, "\(hidden) served")
        }
        #expect(try http(server.port, "/logs/\(ids[0])/report.json").status == 200)
    }

    @Test("a run in /api/runs and in /api/runs/ID: every key of the first is in the second with the same value")
    func runShapes() throws {
        let (tree, ids, _) = try HistoryCommandsTests.threeRuns()
        let (served, process, _) = try Served.start([], in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = try #require(served)
        let runs = try #require(parsedJSON(try http(server.port, "/api/runs").body) as? [[String: NSObject]])
        #expect(runs.count == 3)
        for listed in runs {
            let id = try #require(listed["id"] as? String)
            let report = try #require(parsedJSON(try http(server.port, "/api/runs/\(id)").body) as? [String: Any])
            let run = try #require(report["run"] as? [String: NSObject])
            for (key, value) in listed { #expect(run[key] == value, "\(id) \(key): \(value) vs \(String(describing: run[key]))") }
            #expect((listed["started"] as? String)?.contains(".") == true, "milliseconds: \(listed)")
        }
        #expect(Set(runs.compactMap { $0["id"] as? String }) == Set(ids))
    }

    @Test("--listen 0.0.0.0:0 warns with the port it really listens on")
    func anyAddress() throws {
        let (tree, _, _) = try HistoryCommandsTests.threeRuns()
        let (_, process, scratch) = try Served.start([], listen: "0.0.0.0:0", in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var out = ""
        var err = ""
        _ = eventually(within: 30) {
            out = (try? String(contentsOfFile: scratch["out"], encoding: .utf8)) ?? ""
            err = (try? String(contentsOfFile: scratch["err"], encoding: .utf8)) ?? ""
            return err.contains("warning: listening on") || !process.isRunning
        }
        let line = try #require(out.split(separator: "\n").first.map(String.init), "\(err)")
        let port = try #require(Int(line.dropFirst("http://0.0.0.0:".count).dropLast()), "\(line)")
        #expect(port > 0)
        #expect(err.contains("warning: listening on 0.0.0.0:\(port), reachable from other machines"), "\(err)")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test("/ is the same page while nothing is written, and shows a new run once `testbed run` has recorded it")
    func dashboardFollowsWrites() throws {
        let (tree, ids, _) = try HistoryCommandsTests.threeRuns()
        let (served, process, _) = try Served.start([], in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = try #require(served)
        let first = try http(server.port, "/")
        let again = try http(server.port, "/")
        #expect(first.status == 200 && first.body.contains(ids[0]))
        #expect(again.body == first.body)
        try HistoryCommandsTests.run(tree, expecting: 1)
        let runs = try #require(parsedJSON(try testbed(["runs", "--json", "--limit", "1"], in: tree["suite"]).stdout) as? [[String: Any]])
        let newest = try #require(runs.first?["id"] as? String)
        #expect(!ids.contains(newest))
        let after = try http(server.port, "/")
        #expect(after.status == 200 && after.body.contains(newest), "the page does not show run \(newest)")
    }

    @Test("a taken port: 69 and `127.0.0.1:PORT is in use; choose another with --listen HOST:PORT`")
    func portTaken() throws {
        let (tree, _, _) = try HistoryCommandsTests.threeRuns()
        let (served, process, _) = try Served.start([], in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = try #require(served)
        let second = try testbed(["serve", "--listen", "127.0.0.1:\(server.port)"], in: tree["suite"])
        #expect(second.status == 69)
        #expect(second.stderr.contains("127.0.0.1:\(server.port) is in use; choose another with --listen HOST:PORT"), "\(second.stderr)")
        let bad = try testbed(["serve", "--listen", "nowhere"], in: tree["suite"])
        #expect(bad.status == 64 && bad.stderr.contains("--listen nowhere is not HOST:PORT"), "\(bad.stderr)")
    }

    @Test("it answers while `testbed run` writes: the running run is listed, then complete")
    func duringRun() throws {
        let tree = try RunLookupTests.waitingSuite()
        let first = try testbed(["run", ".", "--id", "/quick"], in: tree["suite"])
        #expect(first.status == 0, "\(first.stderr)")
        let (served, serving, _) = try Served.start([], in: tree["suite"])
        defer { if serving.isRunning { kill(serving.processIdentifier, SIGKILL) } }
        let server = try #require(served)
        let run = try RunLookupTests.startRun(in: tree)
        defer { if run.isRunning { kill(run.processIdentifier, SIGKILL) } }
        var states: [String] = []
        for _ in 0..<20 {
            let answer = try http(server.port, "/api/runs")
            #expect(answer.status == 200, "\(answer.body)")
            let runs = parsedJSON(answer.body) as? [[String: Any]] ?? []
            states.append(runs.first?["state"] as? String ?? "-")
        }
        #expect(states.allSatisfy { $0 == "running" }, "\(states)")
        _ = FileManager.default.createFile(atPath: tree["release"], contents: nil)
        run.waitUntilExit()
        let after = parsedJSON(try http(server.port, "/api/runs").body) as? [[String: Any]] ?? []
        #expect(after.count == 2 && after.first?["state"] as? String == "complete", "\(after)")
    }
}
