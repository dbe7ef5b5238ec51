import Foundation
import Testing
import TestSupport

/// Finding a run with `testbed report`, end to end: a run still going says
/// so (its testbed's pid and its run directory), a killed one says it is
/// incomplete; a prefix of several runs' ids is an error naming them, and
/// `%` and `_` in a prefix are themselves. With them, two outputs the user
/// reads the numbers of: the bisect summary's exit code, and `probe`'s columns.
@Suite("finding runs", .timeLimit(.minutes(2)))
struct RunLookupTests {
    /// A suite whose one test says it started (`started` in the tree) and
    /// then waits (30 s at most) for `release` to appear.
    static func waitingSuite() throws -> TemporaryTree {
        let tree = try TemporaryTree()
        try tree.write("suite/testbed.yaml", """
            tests:
              waits:
                run: 'touch \(tree["started"]); i=0; while [ ! -e \(tree["release"]) ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done'
              quick: 'true'
            """)
        return tree
    }

    /// Starts `testbed run` in the background (output to files in the tree)
    /// and waits until the waiting test started.
    static func startRun(in tree: TemporaryTree) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: testbedBinary)
        process.arguments = ["run", "-j", "2", "."]
        process.currentDirectoryURL = URL(fileURLWithPath: tree["suite"])
        _ = FileManager.default.createFile(atPath: tree["run.out"], contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: tree["run.out"]))
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: tree["started"]) { usleep(100_000) }
        #expect(FileManager.default.fileExists(atPath: tree["started"]), "the waiting test never started")
        return process
    }

    @Test("a run still going: report says it is running, with its testbed's pid and run directory; done, it shows its exit code")
    func running() throws {
        let tree = try Self.waitingSuite()
        let process = try Self.startRun(in: tree)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let shown = try testbed(["report"], in: tree["suite"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let header = try #require(shown.stdout.split(separator: "\n").first.map(String.init))
        #expect(header.contains("(running for "), "\(shown.stdout)")
        #expect(header.contains("testbed pid \(process.processIdentifier) is still writing it"), "\(header)")
        let list = try testbed(["report", "--list"], in: tree["suite"])
        let id = try #require(list.stdout.split(separator: " ").first.map(String.init))
        #expect(list.stdout.hasSuffix("  local  running\n"), "\(list.stdout)")
        #expect(header.hasSuffix("it, in \(tree.path)/suite/testbed-results/\(id))"), "\(header)")
        #expect(!shown.stdout.contains("incomplete"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("killed"), "\(shown.stdout)")
        #expect(shown.stdout.contains("not finished yet: the run is still going"), "\(shown.stdout)")

        _ = FileManager.default.createFile(atPath: tree["release"], contents: nil)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let done = try testbed(["report"], in: tree["suite"])
        #expect(!done.stdout.contains("running"), "\(done.stdout)")
        #expect(done.stdout.hasSuffix("2 passed — exit 0\n"), "\(done.stdout)")
        #expect(try testbed(["report", "--list"], in: tree["suite"]).stdout == "\(id)  local  exit 0\n")
    }

    @Test("report --json of a run still going: run.running has its testbed's pid and how long it has run; done, running is null")
    func runningJSON() throws {
        let tree = try Self.waitingSuite()
        let process = try Self.startRun(in: tree)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let shown = try testbed(["report", "--json"], in: tree["suite"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let run = try #require(json["run"] as? [String: Any])
        let running = try #require(run["running"] as? [String: Any], "\(shown.stdout)")
        #expect(running["pid"] as? Int == Int(process.processIdentifier), "\(shown.stdout)")
        let seconds = try #require(running["for_seconds"] as? Int, "\(shown.stdout)")
        #expect((0...60).contains(seconds), "\(shown.stdout)")
        #expect(Set(running.keys) == ["pid", "for_seconds"], "\(shown.stdout)")
        #expect(run["complete"] as? Bool == false)
        #expect(run["exit_code"] == nil && run["finished"] == nil, "\(shown.stdout)")

        _ = FileManager.default.createFile(atPath: tree["release"], contents: nil)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        for arguments in [["report", "--json"], ["report", "--format", "json"]] {
            let done = try testbed(arguments, in: tree["suite"])
            let doneRun = try #require((try JSONSerialization.jsonObject(with: Data(done.stdout.utf8)) as? [String: Any])?["run"]
                as? [String: Any])
            #expect(doneRun.keys.contains("running") && doneRun["running"] is NSNull, "\(done.stdout)")
            #expect(doneRun["exit_code"] as? Int == 0)
        }
        let written = try String(contentsOfFile: tree["suite/testbed-results/latest/report.json"], encoding: .utf8)
        #expect(written.contains("\"running\" : null"), "report.json, written as the run ends: \(written)")
    }

    @Test("a testbed killed with SIGKILL holds no lock: its run is incomplete, not running")
    func killed() throws {
        let tree = try Self.waitingSuite()
        let process = try Self.startRun(in: tree)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let shown = try testbed(["report"], in: tree["suite"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("(incomplete: testbed stopped before the run finished"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("running"), "\(shown.stdout)")
        #expect(try testbed(["report", "--list"], in: tree["suite"]).stdout.hasSuffix("  local  incomplete\n"))
        _ = FileManager.default.createFile(atPath: tree["release"], contents: nil)
    }

    /// Two recorded runs of a one-test suite, and their ids (oldest first).
    static func twoRuns() throws -> (TemporaryTree, [String]) {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  ok: 'true'\n"])
        for _ in 0..<2 { #expect(try testbed(["run", "."], in: tree.path).status == 0) }
        let list = try testbed(["report", "--list"], in: tree.path).stdout
        let ids = list.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(ids.count == 2, "\(list)")
        return (tree, ids.reversed())
    }

    @Test("a prefix of several runs' ids is a bad command line (64) naming each of them, newest first; a unique one shows its run")
    func ambiguous() throws {
        let (tree, ids) = try Self.twoRuns()
        let common = String(zip(ids[0], ids[1]).prefix { $0 == $1 }.map(\.0))
        #expect(common.count >= 8, "both ids begin with the date: \(ids)")
        let both = try testbed(["report", common], in: tree.path)
        #expect(both.status == 64)
        #expect(both.stdout.isEmpty)
        #expect(both.stderr == "testbed: error: \(common) begins the ids of 2 runs in \(tree.path)/testbed-results: "
            + "\(ids[1]), \(ids[0]); give more of the id (`testbed runs` lists the runs)\n", "\(both.stderr)")
        for id in ids {
            let one = try testbed(["report", String(id.dropLast())], in: tree.path)
            #expect(one.status == 0, "\(one.stderr)")
            #expect(one.stdout.hasPrefix("run \(id) on local"), "\(one.stdout)")
        }
    }

    @Test("% and _ in a prefix are themselves, not LIKE's wildcards: no such run (66)")
    func wildcards() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  ok: 'true'\n"])
        #expect(try testbed(["run", "."], in: tree.path).status == 0)
        let id = try #require(try testbed(["report", "--list"], in: tree.path).stdout.split(separator: " ").first.map(String.init))
        // Each would find the run as a LIKE pattern.
        let prefixes = ["%", "_", String(id.prefix(4)) + "%", String(id.prefix(8)) + "_", "_" + String(id.dropFirst()),
                        String(id.dropLast()) + "_", "%" + String(id.suffix(4))]
        for asked in prefixes {
            let shown = try testbed(["report", asked], in: tree.path)
            #expect(shown.status == 66, "\(asked): \(shown.stdout)")
            #expect(shown.stderr == "testbed: error: no run \(asked) in \(tree.path)/testbed-results; "
                + "`testbed runs` lists the runs\n", "\(shown.stderr)")
        }
        #expect(try testbed(["report", String(id.prefix(9))], in: tree.path).status == 0)
    }

    @Test("run --exit-codes bisect: the summary's last line (and report's) shows the code returned, 125 for an untestable commit",
          arguments: [
            ("setups:\n  broken:\n    run: 'exit 3'\ntests:\n  behind:\n    run: 'true'\n    setup: [broken]\n",
             "1 blocked by infrastructure, 1 infrastructure failure — exit 125\n", Int32(125)),
            ("tests:\n  needs:\n    run: 'true'\n    requires: [DELL_R420]\n", "1 unsupported — exit 125\n", 125),
            ("tests:\n  ok: 'true'\n  bad: 'exit 1'\n", "1 passed, 1 failed — exit 1\n", 1),
          ])
    func bisect(suite: String, last: String, status: Int32) throws {
        let tree = try TemporaryTree(["testbed.yaml": suite])
        let run = try testbed(["run", "--exit-codes", "bisect", "."], in: tree.path)
        #expect(run.status == status, "\(run.stderr)")
        #expect(run.stdout.hasSuffix("\n" + last), "\(run.stdout)")
        let report = try testbed(["report"], in: tree.path)
        #expect(report.stdout.hasSuffix("\n" + last), "\(report.stdout)")
        let standard = try testbed(["run", "."], in: tree.path)
        #expect(standard.stdout.hasSuffix(" — exit \(standard.status)\n"), "\(standard.stdout)")
    }

    @Test("probe: a fact's name or value of any length leaves two spaces before the next column (or ends its line)",
          arguments: [(8, 1), (26, 38), (27, 39), (28, 40), (60, 41), (27, 100), (60, 100), (26, 40)])
    func probeColumns(nameLength: Int, valueLength: Int) throws {
        let name = "zz-fact-" + String(repeating: "x", count: nameLength - 8)
        let value = "v" + String(repeating: "y", count: valueLength - 1)
        let tree = try TemporaryTree(["lab.yaml": "facts:\n  \(name): \"\(value)\"\n"])
        let probe = try testbed(["probe", "--environment", tree["lab.yaml"]], in: tree.path)
        #expect(probe.status == 0, "\(probe.stderr)")
        let lines = probe.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let heading = try #require(lines.first { $0.hasPrefix("FACT") })
        #expect(heading.split(separator: " ").map(String.init) == ["FACT", "VALUE", "SOURCE"])
        #expect(!heading.contains(where: { $0 != " " && $0.isWhitespace }))
        #expect(heading.contains("FACT  ") && heading.contains("VALUE  "), "\(heading)")
        let index = try #require(lines.firstIndex { $0.hasPrefix(name) }, "\(probe.stdout)")
        // The row, its continuation lines joined: NAME, VALUE and SOURCE, two spaces or a line apart.
        var row = [lines[index]]
        var next = index + 1
        while next < lines.count, lines[next].hasPrefix("  ") { row.append(lines[next]); next += 1 }
        let source = tree["lab.yaml"] + ":2"
        for (cell, after) in [(name, value), (value, source)] {
            let line = try #require(row.first { $0.contains(cell) }, "\(row)")
            let rest = line[line.range(of: cell)!.upperBound...]
            #expect(rest.isEmpty || rest.hasPrefix("  "), "\(cell.count) characters run into the next column: \(line)")
            #expect(row.contains { $0.contains(after) }, "\(row)")
        }
        let columns = row.joined(separator: "\n").split(whereSeparator: \.isWhitespace).map(String.init)
        #expect(columns == [name, value, source], "\(row)")
    }
}
