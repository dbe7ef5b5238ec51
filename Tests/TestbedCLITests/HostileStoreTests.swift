import Foundation
import Testing
import TestSupport

/// The run id a `testbed run` summary names (`run ID on ENV, …`).
func summaryRunID(_ stdout: String) -> String? {
    stdout.split(separator: "\n").first { $0.hasPrefix("run ") }?.split(separator: " ").dropFirst().first.map(String.init)
}

/// `testbed report --list`: one line a run.
func listedRuns(_ directory: String, results: String = "testbed-results") throws -> [Substring] {
    let list = try testbed(["report", "--list", "--results", results], in: directory)
    #expect(list.status == 0, "\(list.stderr)")
    return list.stdout.split(separator: "\n")
}

/// What the results database says of the run that `run` printed.
func reportedRun(_ run: Result, in directory: String, results: String = "testbed-results") throws -> Reported {
    try reportedRun(stdout: run.stdout, in: directory, results: results)
}

/// What the results database says of the run whose summary is `stdout`.
func reportedRun(stdout: String, in directory: String, results: String = "testbed-results") throws -> Reported {
    let id = try #require(summaryRunID(stdout), "\(stdout)")
    let shown = try testbed(["report", "--json", "--results", results, id], in: directory)
    #expect(shown.status == 0, "\(shown.stderr)")
    return Reported(json: try shown.json())
}

/// The warning lines of a run's stderr, in order.
func warningLines(_ stderr: String) -> [String] {
    stderr.split(separator: "\n").filter { $0.hasPrefix("testbed: warning:") }.map(String.init)
}

let databaseReplacedWarning = "was deleted or replaced during the run; re-creating it and recording this run again (earlier runs in it are lost)\n"
/// The warning line for a database re-created in `results`.
func databaseReplacedLine(_ results: String) -> String {
    "testbed: warning: the results database \(results)/testbed.sqlite " + databaseReplacedWarning.dropLast()
}

let databaseReplacedNote = "the results database was deleted or replaced during the run; it was re-created and the whole run recorded again "
    + "(earlier runs in it are lost)"

/// The results directory or database deleted, or on a disk that fills, while
/// a run goes on: a warning, the infrastructure bit, and every result in the
/// database in the end, or the run marked as not recorded.
@Suite("hostile results: deleted, full, copied", .serialized)
struct HostileStoreTests {
    @Test("a test deletes the results directory: a warning for it, its run directory and its database; exit 2; `report` shows the run with every result")
    func deletedResultsDirectory() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-first: 'true'
              b-delete: 'rm -rf "$(dirname "$TESTBED_RUN_DIR")"; sleep 0.2'
              c-after: 'sleep 0.2'
            """])
        #expect(try testbed(["run", "--id", "/a-first", "."], in: tree.path).status == 0)
        let run = try testbed(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 2, "\(run.stderr)")
        let id = try #require(summaryRunID(run.stdout))
        let results = tree.path + "/testbed-results"
        #expect(warningLines(run.stderr) == [
            "testbed: warning: the results directory \(results) was deleted during the run; Testbed made it again",
            "testbed: warning: the run directory \(results)/\(id) was deleted during the run; Testbed made it again "
                + "(the logs written in it before are lost)",
            databaseReplacedLine(results),
        ], "\(run.stderr)")
        let note = "the results directory was deleted during the run; Testbed made it again; "
            + "the run directory was deleted during the run; Testbed made it again (the logs written in it before are lost); "
            + databaseReplacedNote
        #expect(run.stdout.contains("\nrecording: \(note)\n"), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("\n3 passed — exit 2\n"), "\(run.stdout)")

        let reported = try reportedRun(run, in: tree.path)
        #expect(reported.run["complete"] as? Bool == true)
        #expect(reported.run["exit_code"] as? Int == 2)
        #expect(reported.run["recording_error"] as? String == note)
        #expect(reported.outcomes == ["/a-first": "pass", "/b-delete": "pass", "/c-after": "pass"])
        #expect(try listedRuns(tree.path) == ["\(summaryRunID(run.stdout) ?? "?")  local  exit 2"], "the earlier run went with the directory")
        let text = try testbed(["report"], in: tree.path)
        #expect(text.stdout.contains("\nrecording: \(note)\n") && text.stdout.hasSuffix("3 passed — exit 2\n"), "\(text.stdout)")
    }

    @Test("a test deletes testbed.sqlite and its -wal and -shm: the run is written into a new one; bisect keeps its verdict")
    func deletedDatabase() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-delete: 'rm -f "$(dirname "$TESTBED_RUN_DIR")"/testbed.sqlite*; sleep 0.2'
              b-after: 'sleep 0.2; exit 1'
            """])
        #expect(try testbed(["run", "--id", "/b-after", "."], in: tree.path).status == 1)
        let run = try testbed(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 3, "\(run.stderr)")
        #expect(run.stderr.contains("testbed: warning: the results database \(tree.path)/testbed-results/testbed.sqlite " + databaseReplacedWarning),
                "\(run.stderr)")
        #expect(run.stdout.contains("\nrecording: \(databaseReplacedNote)\n"), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("\n1 passed, 1 failed — exit 3\n"), "\(run.stdout)")
        let reported = try reportedRun(run, in: tree.path)
        #expect(reported.run["complete"] as? Bool == true)
        #expect(reported.run["exit_code"] as? Int == 3)
        #expect(reported.run["recording_error"] as? String == databaseReplacedNote)
        #expect(reported.outcomes == ["/a-delete": "pass", "/b-after": "fail"])
        #expect(try listedRuns(tree.path).count == 1)

        // For `git bisect run` the commit is still bad (1), not "cannot test" (125); the row says 1 too.
        let bisect = try testbed(["run", "-j", "1", "--plan-order", "--exit-codes", "bisect", "."], in: tree.path)
        #expect(bisect.status == 1, "\(bisect.stderr)")
        #expect(bisect.stdout.hasSuffix("\n1 passed, 1 failed — exit 1\n"), "\(bisect.stdout)")
        let bisected = try reportedRun(bisect, in: tree.path)
        #expect(bisected.run["exit_code"] as? Int == 1)
        #expect(bisected.run["recording_error"] as? String == databaseReplacedNote)
    }

    @Test("a test deletes only the -wal and -shm: earlier runs stay, this one is written again")
    func deletedLog() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-delete: 'rm -f "$(dirname "$TESTBED_RUN_DIR")"/testbed.sqlite-wal "$(dirname "$TESTBED_RUN_DIR")"/testbed.sqlite-shm; sleep 0.2'
              b-after: 'sleep 0.2'
            """])
        #expect(try testbed(["run", "--id", "/b-after", "."], in: tree.path).status == 0)
        let run = try testbed(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("testbed: warning: the -wal or -shm of \(tree.path)/testbed-results/testbed.sqlite was deleted or "
                                    + "replaced during the run; recording this run again\n"), "\(run.stderr)")
        let note = "the -wal or -shm of the results database was deleted or replaced during the run; the whole run was recorded again"
        let reported = try reportedRun(run, in: tree.path)
        #expect(reported.run["exit_code"] as? Int == 2)
        #expect(reported.run["recording_error"] as? String == note)
        #expect(reported.outcomes == ["/a-delete": "pass", "/b-after": "pass"])
        let runs = try listedRuns(tree.path)
        #expect(runs.count == 2 && runs[1].hasSuffix("  local  exit 0"), "the earlier run stays: \(runs)")
    }

    @Test("a test deletes its run directory: one warning naming it, exit 2, every result recorded")
    func deletedRunDirectory() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-delete: 'rm -rf "$TESTBED_RUN_DIR"; sleep 0.2'
              b-after: 'sleep 0.2'
            """])
        let run = try testbed(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 2, "\(run.stderr)")
        let id = try #require(summaryRunID(run.stdout))
        #expect(warningLines(run.stderr) == ["testbed: warning: the run directory \(tree.path)/testbed-results/\(id) was deleted during the run; "
                                         + "Testbed made it again (the logs written in it before are lost)"], "\(run.stderr)")
        let reported = try reportedRun(run, in: tree.path)
        #expect(reported.run["exit_code"] as? Int == 2)
        #expect(reported.run["recording_error"] as? String
                == "the run directory was deleted during the run; Testbed made it again (the logs written in it before are lost)")
        #expect(reported.outcomes == ["/a-delete": "pass", "/b-after": "pass"])
        #expect(FileManager.default.fileExists(atPath: tree["testbed-results/\(id)"]))
    }

    @Test("the results disk fills and frees during the run: one warning, exit 2 everywhere, every result written",
          .enabled(if: tmpfsMountable, "needs root and a machine that allows mounting a small tmpfs"))
    func diskFillsAndFrees() throws {
        let tree = try TemporaryTree()
        try tree.directory("small")
        try #require(mountTmpfs(tree["small"], options: "size=512k"))
        defer { unmount(tree["small"]) }
        // The started row is written before /a-fill fills the disk; /b-full's pause is
        // when /a-fill's result fails to go in; /c-free frees the disk.
        try tree.write("testbed.yaml", """
            tests:
              a-fill: 'sleep 0.3; head -c 10000000 /dev/zero > "\(tree["small/fill"])" 2>/dev/null; true'
              b-full: 'sleep 1'
              c-free: 'rm "\(tree["small/fill"])"'
              d-after: 'true'
            """)
        let run = try testbed(["run", "-j", "1", "--plan-order", "--results", "small/results", "."], in: tree.path)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("testbed: warning: cannot record results in \(tree.path)/small/results: database or disk is full; "
                                    + "keeping them in memory and trying again\n"), "\(run.stderr)")
        #expect(run.stderr.components(separatedBy: "testbed: warning:").count == 2, "one warning: \(run.stderr)")
        #expect(!run.stderr.contains("testbed: error:"), "\(run.stderr)")
        let note = "results could not be written for a while (database or disk is full); all were written later"
        #expect(run.stdout.contains("\nrecording: \(note)\n"), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("\n4 passed — exit 2\n"), "the summary says the exit code the process has: \(run.stdout)")

        let reported = try reportedRun(run, in: tree.path, results: "small/results")
        #expect(reported.run["complete"] as? Bool == true)
        #expect(reported.run["exit_code"] as? Int == 2)
        #expect(reported.run["recording_error"] as? String == note)
        #expect(reported.outcomes == ["/a-fill": "pass", "/b-full": "pass", "/c-free": "pass", "/d-after": "pass"])
    }

    @Test("the results disk is still full at the end: exit 2, an error, and the database shows the run as not recorded",
          .enabled(if: tmpfsMountable, "needs root and a machine that allows mounting a small tmpfs"))
    func diskStaysFull() throws {
        let tree = try TemporaryTree()
        try tree.directory("small")
        // Room for two runs once the filler is gone: their snapshot.json files and a database whose WAL holds every
        // schema migration (schema v7 took 512k past its edge).
        try #require(mountTmpfs(tree["small"], options: "size=1m"))
        defer { unmount(tree["small"]) }
        try tree.write("testbed.yaml", """
            tests:
              a-fill: 'sleep 0.3; head -c 10000000 /dev/zero > "\(tree["small/fill"])" 2>/dev/null; true'
              b-full: 'true'
            """)
        let run = try testbed(["run", "-j", "1", "--plan-order", "--results", "small/results", "."], in: tree.path)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.hasSuffix("testbed: error: results could not be written to small/results (database or disk is full): the summary "
                                     + "above is complete, the database is not (it shows this run as incomplete); free some space or "
                                     + "choose another --results DIR\n"), "\(run.stderr)")
        #expect(run.stdout.contains("\nrecording: the end of the run could not be recorded (database or disk is full)\n"), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("\n2 passed — exit 2\n"), "\(run.stdout)")

        // What the database has is true: a run that did not get its end, no result claimed.
        let reported = try reportedRun(run, in: tree.path, results: "small/results")
        #expect(reported.run["complete"] as? Bool == false)
        #expect(reported.run["exit_code"] == nil)
        #expect(reported.run["finished"] == nil)
        #expect(reported.outcomes == ["/a-fill": "interrupted", "/b-full": "interrupted"])
        #expect(reported.test("/b-full")["reason"] as? String
                == "not finished: the run stopped before this test had a result (testbed was killed, or could not record it)")

        // Space again: the next run is recorded whole, beside the one that was not.
        try FileManager.default.removeItem(atPath: tree["small/fill"])
        let next = try testbed(["run", "-j", "1", "--plan-order", "--results", "small/results", "--id", "/b-full", "."], in: tree.path)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(!next.stderr.contains("warning"), "\(next.stderr)")
        let runs = try listedRuns(tree.path, results: "small/results")
        #expect(runs.count == 2 && runs[0].hasSuffix("  local  exit 0") && runs[1].hasSuffix("  local  incomplete"), "\(runs)")
    }

    @Test("after a run testbed.sqlite alone holds it: a copy of just that file reports every run")
    func copiedDatabase() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  ok: 'true'\n  bad: 'exit 1'\n"])
        let first = try testbed(["run", "."], in: tree.path)
        let second = try testbed(["run", "--id", "/ok", "."], in: tree.path)
        #expect(first.status == 1 && second.status == 0)
        // Emptied by the checkpoint, or removed when the last connection closed.
        let wal = (try? FileManager.default.attributesOfItem(atPath: tree["testbed-results/testbed.sqlite-wal"]))?[.size] as? Int
        #expect(wal == nil || wal == 0, "the log was copied into the database")
        try tree.directory("copy")
        try FileManager.default.copyItem(atPath: tree["testbed-results/testbed.sqlite"], toPath: tree["copy/testbed.sqlite"])
        let runs = try listedRuns(tree.path, results: "copy")
        #expect(runs.map { $0.hasSuffix("  local  exit 0") } == [true, false], "\(runs)")
        let reported = try reportedRun(first, in: tree.path, results: "copy")
        #expect(reported.outcomes == ["/ok": "pass", "/bad": "fail"])
        #expect(reported.run["exit_code"] as? Int == 1)
        #expect(reported.run["recording_error"] == nil)
    }
}

/// `testbed.sqlite` swapped for a link or a directory: never written through,
/// never claimed to hold what it does not.
extension HostileStoreTests {
    @Test("a test swaps testbed.sqlite for a link outside: the link is removed, the run written into a new database in the results")
    func databaseLink() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-swap: 'sleep 0.3; R=$(dirname "$TESTBED_RUN_DIR"); rm -f "$R"/testbed.sqlite*; ln -s "$OUTSIDE/evil.db" "$R/testbed.sqlite"; sleep 0.2'
              b-after: 'sleep 0.2'
            """])
        try tree.directory("outside")
        #expect(try testbed(["run", "--id", "/b-after", "."], in: tree.path).status == 0)
        let run = try testbedBounded(["run", "-j", "1", "--plan-order", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        let results = tree["testbed-results"]
        #expect(warningLines(run.stderr) == [
            databaseReplacedLine(results),
            "testbed: warning: \(results)/testbed.sqlite was replaced by a symbolic link to \(tree["outside/evil.db"]) during the run; "
                + "Testbed removed the link (it never follows what a step plants in the results)",
        ], "\(run.stderr)")
        #expect(snapshot(tree["outside"]).isEmpty, "written outside: \(snapshot(tree["outside"]))")
        #expect(fileType(results + "/testbed.sqlite") == S_IFREG)
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.run["recording_error"] as? String == databaseReplacedNote)
        #expect(reported.outcomes == ["/a-swap": "pass", "/b-after": "pass"])
        #expect(try listedRuns(tree.path) == ["\(summaryRunID(run.stdout) ?? "?")  local  exit 2"])
        #expect(snapshot(tree["outside"]).isEmpty)
    }

    @Test("testbed.sqlite or its -wal a link when a run starts (put there by hand, or by a step of another run): exit 2 naming it and the fix; nothing written through it")
    func databaseLinkAtStart() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  ok: 'true'\n", "outside/evil.db": "not a database\n"])
        #expect(try testbed(["run", "."], in: tree.path).status == 0)
        let results = tree["testbed-results"]
        let before = snapshot(tree["outside"])
        try FileManager.default.copyItem(atPath: results + "/testbed.sqlite", toPath: tree["kept.sqlite"])
        for name in ["testbed.sqlite", "testbed.sqlite-wal"] {
            try? FileManager.default.removeItem(atPath: results + "/" + name)
            #expect(symlink(tree["outside/evil.db"], results + "/" + name) == 0)
            defer {
                unlink(results + "/" + name)
                if name == "testbed.sqlite" { try? FileManager.default.copyItem(atPath: tree["kept.sqlite"], toPath: results + "/" + name) }
            }
            let error = "testbed: error: \(results)/\(name) is a symbolic link to \(tree["outside/evil.db"]), and Testbed never follows "
                + "links in the results directory; put the file itself in place of the link, or remove the link, or choose another --results DIR\n"
            let run = try testbed(["run", "."], in: tree.path)
            #expect(run.status == 2 && run.stderr == error, "\(run.stderr)")
            let list = try testbed(["report", "--list"], in: tree.path)
            #expect(list.status == 66 && list.stderr == error, "\(list.stderr)")
            #expect(snapshot(tree["outside"]) == before)
            #expect(fileType(results + "/" + name) == S_IFLNK, "left for the user to decide")
        }
        // The file itself in place of the link: runs go on.
        #expect(try testbed(["run", "."], in: tree.path).status == 0)
        #expect(try listedRuns(tree.path).count == 2)
        #expect(snapshot(tree["outside"]) == before)
    }

    @Test("a directory named testbed.sqlite: at the start, exit 2 naming it; put there during the run, the error says no database holds the run and what to do")
    func databaseDirectory() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-swap: 'sleep 0.3; R=$(dirname "$TESTBED_RUN_DIR"); rm -f "$R"/testbed.sqlite*; mkdir "$R/testbed.sqlite"; sleep 0.2'
              b-after: 'true'
            """])
        let results = tree["testbed-results"]
        let problem = "\(results)/testbed.sqlite is a directory, not a file of the results database"
        let run = try testbed(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(warningLines(run.stderr) == [
            databaseReplacedLine(results),
            "testbed: warning: cannot record results in \(results): \(problem); keeping them in memory and trying again",
        ], "\(run.stderr)")
        #expect(run.stderr.hasSuffix("testbed: error: results could not be written to testbed-results (\(problem)): the summary above "
                                     + "is complete, no database holds this run; move it aside or choose another --results DIR\n"), "\(run.stderr)")
        #expect(run.stdout.contains("\nrecording: \(databaseReplacedNote); the end of the run could not be recorded (\(problem))\n"), "\(run.stdout)")
        #expect(run.stdout.hasSuffix("\n2 passed — exit 2\n"), "\(run.stdout)")
        // The next run: refused at the start, naming it.
        let next = try testbed(["run", "."], in: tree.path)
        #expect(next.status == 2 && next.stderr == "testbed: error: \(problem); move it aside or choose another --results DIR\n", "\(next.stderr)")
        #expect(fileType(results + "/testbed.sqlite") == S_IFDIR)
    }
}
