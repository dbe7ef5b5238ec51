import Foundation
import Testing
import TestSupport

/// `TESTBED_TEST_DATABASE`: a PostgreSQL server the tests may make databases on; nil when unset.
var testDatabaseServer: String? {
    ProcessInfo.processInfo.environment["TESTBED_TEST_DATABASE"].flatMap { $0.isEmpty ? nil : $0 }
}

/// `--database postgresql://…` end to end: the same three runs recorded in PostgreSQL and in SQLite give the same
/// answers to `report`, `runs`, `history`, `diff` and `why` (their JSON, run ids and times set aside). Needs
/// `TESTBED_TEST_DATABASE` (a URL to a database whose role may CREATE DATABASE): each test makes its own database.
@Suite("PostgreSQL store: the history commands on --database", .serialized, .timeLimit(.minutes(3)), .enabled(if: testDatabaseServer != nil))
struct PostgresCommandsTests {
    static var server: String? { testDatabaseServer }

    /// A new empty database on the test server (`createdb` through `testbed`'s own client is not offered: `psql`).
    static func database() throws -> String {
        let server = try #require(Self.server)
        let name = "testbed_cli_\(Int(Date().timeIntervalSince1970))_\(UInt32.random(in: 0...UInt32.max))"
        let made = try runProgram("/usr/bin/env", ["psql", server, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"],
                                  in: FileManager.default.currentDirectoryPath, environment: ProcessInfo.processInfo.environment)
        #expect(made.status == 0, "\(made.stderr)")
        let slash = try #require(server.lastIndex(of: "/"))
        return String(server[...slash]) + name
    }

    /// The suite of `HistoryCommandsTests`, run three times (the third on another kernel, `/flip` failing) with
    /// `extra` arguments after `run`; returns the run ids, oldest first.
    static func threeRuns(_ tree: TemporaryTree, suite: String, _ extra: [String]) throws -> [String] {
        try tree.write("\(suite)/testbed.yaml", """
            tests:
              stable: 'true'
              flip:
                run: sh -c 'test ! -e \(tree[suite + "/broken"])'
              skipped:
                run: sh -c 'exit 77'
            """)
        try tree.write("\(suite)/env.yaml", "facts:\n  kernel: 6.1.0-13\npackages: cat packages.txt\n")
        try tree.write("\(suite)/packages.txt", "libvirt0\t9.0.0-4\nqemu-system-x86 1:8.2.2\n")
        for index in 0..<3 {
            if index == 2 {
                try tree.write("\(suite)/env.yaml", "facts:\n  kernel: 6.1.0-15\npackages: cat packages.txt\n")
                try tree.write("\(suite)/packages.txt", "libvirt0\t9.0.0-5\nqemu-system-x86 1:8.2.2\n")
                try tree.write("\(suite)/broken", "")
            }
            let run = try testbed(["run"] + extra + ["-e", "env.yaml", "."], in: tree[suite])
            #expect(run.status == (index == 2 ? 1 : 0), "\(run.stdout)\n\(run.stderr)")
        }
        let listed = try testbed(["runs", "--json"] + extra, in: tree[suite])
        let runs = try #require(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stderr)")
        return runs.compactMap { $0["id"] as? String }.reversed()
    }

    /// JSON with what differs between two recordings of the same runs set aside: times and durations dropped, run
    /// ids replaced by RUN1… (oldest first), the suite's directory by SUITE.
    static func normalized(_ text: String, ids: [String], suite: String) throws -> String {
        func clean(_ value: Any) -> Any {
            switch value {
            case let object as [String: Any]:
                var kept: [String: Any] = [:]
                for (key, item) in object where !["started", "finished", "duration", "generated", "duration_seconds", "pid"].contains(key) {
                    kept[key] = clean(item)
                }
                return kept
            case let array as [Any]: return array.map(clean)
            case var string as String:
                for (index, id) in ids.enumerated() { string = string.replacingOccurrences(of: id, with: "RUN\(index + 1)") }
                return string.replacingOccurrences(of: suite, with: "SUITE")
            default: return value
            }
        }
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        let data = try JSONSerialization.data(withJSONObject: clean(parsed), options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    @Test("run --database, then report, runs, history, diff and why answer as the same runs on SQLite do")
    func sameAnswers() throws {
        let url = try Self.database()
        let tree = try TemporaryTree()
        let onSQLite = try Self.threeRuns(tree, suite: "lite", [])
        let onPostgres = try Self.threeRuns(tree, suite: "pg", ["--database", url])
        #expect(onSQLite.count == 3 && onPostgres.count == 3)
        // Nothing of PostgreSQL's runs went into a SQLite file; their directories did go into the local results directory.
        #expect(!FileManager.default.fileExists(atPath: tree["pg/testbed-results/testbed.sqlite"]))
        #expect(onPostgres.allSatisfy { FileManager.default.fileExists(atPath: tree["pg/testbed-results/\($0)/report.json"]) })
        let questions: [[String]] = [
            ["report", "--json"], ["report", "--json", "RUN1"], ["runs", "--json"], ["runs", "--json", "--limit", "2"],
            ["history", "/flip", "--json"], ["history", "stable", "--json"], ["diff", "--json"], ["diff", "--json", "RUN3", "RUN1"],
            ["why", "/flip", "--json"], ["why", "/stable", "--json"],
        ]
        for question in questions {
            let lite = try testbed(question.map { Self.id($0, onSQLite) }, in: tree["lite"])
            let pg = try testbed(question.map { Self.id($0, onPostgres) } + ["--database", url], in: tree["pg"])
            #expect(pg.status == lite.status, "\(question): \(pg.stderr)")
            #expect(try Self.normalized(pg.stdout, ids: onPostgres, suite: tree["pg"])
                    == Self.normalized(lite.stdout, ids: onSQLite, suite: tree["lite"]), "\(question)")
        }
        // serve: the API answers as the CLI; the dashboard lists the runs; /logs/ serves the local run directories.
        let (served, _, _) = try Served.start(["--database", url], in: tree["pg"])
        let (servedLite, _, _) = try Served.start([], in: tree["lite"])
        let server = try #require(served)
        let serverLite = try #require(servedLite)
        defer {
            server.stop()
            serverLite.stop()
        }
        for path in ["/api/runs", "/api/tests/history?id=/flip", "/api/why?test=/flip", "/api/diff", "/api/hosts"] {
            let pg = try http(server.port, path)
            let lite = try http(serverLite.port, path)
            #expect(pg.status == 200 && lite.status == 200, "\(path): \(pg.body)")
            #expect(try Self.normalized(pg.body, ids: onPostgres, suite: tree["pg"]) == Self.normalized(lite.body, ids: onSQLite, suite: tree["lite"]),
                    "\(path)")
        }
        let page = try http(server.port, "/")
        #expect(page.status == 200 && onPostgres.allSatisfy(page.body.contains), "\(page.body.prefix(300))")
        let log = try http(server.port, "/logs/\(onPostgres[2])/tests/flip/output.log")
        #expect(log.status == 200, "\(log.body)")
        // TESTBED_DATABASE is the default of --database.
        var environment = ProcessInfo.processInfo.environment
        environment["TESTBED_DATABASE"] = url
        environment["NO_COLOR"] = "1"
        let runs = try runProgram(testbedBinary, ["runs"], in: tree["pg"], environment: environment)
        #expect(runs.status == 0 && onPostgres.allSatisfy(runs.stdout.contains), "\(runs.stdout)\(runs.stderr)")
    }

    @Test("a run of another host: its row keeps the host and the run directory; report says where a log is it cannot read here")
    func otherHost() throws {
        let url = try Self.database()
        let tree = try TemporaryTree()
        try tree.write("suite/testbed.yaml", "tests:\n  bad: sh -c 'echo boom; exit 3'\n")
        let run = try testbed(["run", "--database", url, "."], in: tree["suite"])
        #expect(run.status == 1, "\(run.stderr)")
        let here = try testbed(["report", "--database", url], in: tree.path)
        #expect(here.stdout.contains("      | boom"), "\(here.stdout)")
        // As if another host had run it: its name in the row, its results directory not here.
        let moved = try runProgram("/usr/bin/env", ["psql", url, "-qc", "UPDATE run SET host = 'lab-far'"], in: tree.path,
                                   environment: ProcessInfo.processInfo.environment)
        #expect(moved.status == 0, "\(moved.stderr)")
        try FileManager.default.moveItem(atPath: tree["suite/testbed-results"], toPath: tree["gone"])
        let report = try testbed(["report", "--database", url], in: tree.path)
        #expect(report.status == here.status, "\(report.stderr)")
        #expect(!report.stdout.contains("| boom"), "\(report.stdout)")
        let json = try testbed(["report", "--json", "--database", url], in: tree.path).json()
        let directory = try #require((json["run"] as? [String: Any])?["directory"] as? String, "\(json)")
        #expect(directory.hasPrefix(tree["suite/testbed-results"] + "/"))
        #expect(report.stdout.contains("log on lab-far: \(directory)/tests/bad/output.log"), "\(report.stdout)")
    }

    static func id(_ word: String, _ ids: [String]) -> String {
        word.hasPrefix("RUN") ? ids[Int(word.dropFirst(3))! - 1] : word
    }
}

/// `--database` without a server: what cannot be reached or read is said, naming the URL without its password.
@Suite("PostgreSQL store: a database that cannot be used")
struct PostgresUnreachableTests {
    @Test("a database that cannot be reached: run exits 2, the readers 66, naming the URL without its password")
    func unreachable() throws {
        let tree = try TemporaryTree()
        try tree.write("testbed.yaml", "tests:\n  ok: 'true'\n")
        let url = "postgresql://testbed:secret@127.0.0.1:1/testbed"
        let run = try testbed(["run", "--database", url, "."], in: tree.path)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("postgresql://testbed@127.0.0.1:1/testbed") && !run.stderr.contains("secret"), "\(run.stderr)")
        #expect(run.stderr.contains("--database or TESTBED_DATABASE"), "\(run.stderr)")
        #expect(run.stderr.contains("cannot connect: connection refused"), "\(run.stderr)")
        for reader in [["report"], ["runs"], ["history", "/ok"], ["diff"], ["why", "/ok"]] {
            let result = try testbed(reader + ["--database", url], in: tree.path)
            #expect(result.status == 66, "\(reader): \(result.stderr)")
            #expect(result.stderr.contains("cannot use results database postgresql://testbed@127.0.0.1:1/testbed"), "\(result.stderr)")
        }
        let bad = try testbed(["runs", "--database", "mysql://x@y/z"], in: tree.path)
        #expect(bad.status == 66 && bad.stderr.contains("not a URL of the form postgresql://"), "\(bad.stderr)")
    }
}
