import Foundation
import Testing
import TestSupport

/// The results directory itself, its `.lock`, the run directory and
/// `setups/` swapped, moved or replaced by a link during a run: made again
/// where they were, never used where they went; one warning each.
/// Each swapping step sleeps first: Testbed looks at the results when a step
/// starts, and a look between its `rm` and its `ln` would see a deletion
/// (true, but not the case under test).
extension HostileLinkTests {
    @Test("a link planted at .lock: never followed, replaced with a warning, during a run and at the start of the next")
    func lockLink() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-plant: |
                sleep 0.3; R=$(dirname "$TESTBED_RUN_DIR")
                rm -f "$R/.lock"; ln -s "$OUTSIDE/lockfile" "$R/.lock"
                rm -f "$R"/testbed.sqlite*; sleep 0.2
              b-plant-again: 'sleep 0.5; R=$(dirname "$TESTBED_RUN_DIR"); rm -f "$R/.lock"; ln -s "$OUTSIDE/lockfile" "$R/.lock"'
              c-harmless: 'true'
            """])
        try tree.directory("outside")
        let results = tree["testbed-results"]
        let lockNote = "testbed: warning: \(results)/.lock was a symbolic link to \(tree["outside/lockfile"]), not the lock file "
            + "Testbed made; Testbed removed it and made a new one (it never follows what a step plants in the results)"
        // Deleting the database makes the run open it again, and take the lock, mid-run.
        let run = try testbedBounded(["run", "-j", "1", "--plan-order", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(warningLines(run.stderr) == [databaseReplacedLine(results),
                                             lockNote], "\(run.stderr)")
        #expect(snapshot(tree["outside"]).isEmpty, "written outside: \(snapshot(tree["outside"]))")
        #expect(fileType(results + "/.lock") == S_IFLNK, "planted again by /b-plant-again")
        // The next run and `report` find the link at the start.
        let next = try testbedBounded(["run", "--id", "/c-harmless", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(warningLines(next.stderr) == [lockNote], "\(next.stderr)")
        #expect(fileType(results + "/.lock") == S_IFREG)
        #expect(symlink(tree["outside/lockfile"], results + "/.lock.new") == 0 && rename(results + "/.lock.new", results + "/.lock") == 0)
        let list = try testbedBounded(["report", "--list"], in: tree.path)
        #expect(list.status == 0 && list.stdout.split(separator: "\n").count == 2, "\(list.stdout)\(list.stderr)")
        #expect(warningLines(list.stderr) == [lockNote], "\(list.stderr)")
        #expect(snapshot(tree["outside"]).isEmpty, "written outside: \(snapshot(tree["outside"]))")
    }

    @Test("the results directory deleted and a link to a directory outside put in its place: made again, nothing written outside, three warnings")
    func resultsDirectoryLink() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-swap: 'sleep 0.3; R=$(dirname "$TESTBED_RUN_DIR"); rm -rf "$R"; ln -s "$OUTSIDE/res" "$R"; sleep 0.2'
              b-after: echo after; exit 1
            """, "outside/res/keep": "theirs\n"])
        let before = snapshot(tree["outside"])
        let run = try runLeavingOutsideAlone(tree, status: 3)
        let id = try #require(summaryRunID(run.stdout))
        let results = tree["testbed-results"]
        #expect(warningLines(run.stderr) == [
            "testbed: warning: the results directory \(results) was deleted and a symbolic link to \(tree["outside/res"]) put in its "
                + "place during the run; Testbed removed the link and made the directory again",
            "testbed: warning: the run directory \(results)/\(id) was deleted during the run; Testbed made it again "
                + "(the logs written in it before are lost)",
            databaseReplacedLine(results),
        ], "\(run.stderr)")
        // Everything of the run is in the directory made again.
        #expect(fileType(results) == S_IFDIR)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: results + "/latest") == id)
        for name in ["testbed.sqlite", ".lock", "\(id)/report.json", "\(id)/junit.xml"] {
            #expect(fileType(results + "/" + name) == S_IFREG, "\(name)")
        }
        #expect(try String(contentsOfFile: results + "/\(id)/tests/b-after/output.log", encoding: .utf8) == "after\n")
        let note = "the results directory was deleted and a symbolic link to \(tree["outside/res"]) put in its place during the run; "
            + "Testbed removed the link and made the directory again; the run directory was deleted during the run; Testbed made it "
            + "again (the logs written in it before are lost); " + databaseReplacedNote
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.run["recording_error"] as? String == note)
        #expect(reported.run["exit_code"] as? Int == 3)
        #expect(reported.outcomes == ["/a-swap": "pass", "/b-after": "fail"])
        let text = try testbedBounded(["report"], in: tree.path)
        #expect(text.stdout.contains("\nrecording: \(note)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("\n      log: testbed-results/\(id)/tests/b-after/output.log\n"), "\(text.stdout)")
        #expect(snapshot(tree["outside"]) == before)
    }

    @Test("a test moves its run directory outside and leaves a link: the next test, the reports and the database stay in the results")
    func movedRunDirectory() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-move: sleep 0.3; echo moving; mv "$TESTBED_RUN_DIR" "$OUTSIDE/moved"; ln -s "$OUTSIDE/fake" "$TESTBED_RUN_DIR"; exit 1
              b-after: echo after; exit 1
            """])
        try tree.directory("outside")
        let run = try testbedBounded(["run", "-j", "1", "--plan-order", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 3, "\(run.stderr)")
        let id = try #require(summaryRunID(run.stdout))
        let results = tree["testbed-results"]
        let moved = tree["outside/moved"]
        // What the test moved is there, as it was: nothing was added to it, nothing went through the link.
        let left: Set<String> = ["moved", "moved/facts.json", "moved/snapshot.json", "moved/tests", "moved/tests/a-move",
                                  "moved/tests/a-move/output.log"]
        #expect(Set(snapshot(tree["outside"]).keys) == left, "\(snapshot(tree["outside"]))")
        #expect(snapshot(tree["outside"])["moved/tests/a-move/output.log"] == "moving\n")
        let what = "was moved to \(moved) and a symbolic link to \(tree["outside/fake"]) put in its place during the run; "
            + "Testbed removed the link and made the directory again (the logs written in it before are in \(moved))"
        #expect(warningLines(run.stderr) == ["testbed: warning: the run directory \(results)/\(id) " + what], "\(run.stderr)")
        #expect(fileType(results + "/\(id)") == S_IFDIR)
        #expect(try String(contentsOfFile: results + "/\(id)/tests/b-after/output.log", encoding: .utf8) == "after\n")
        #expect(fileType(results + "/\(id)/report.json") == S_IFREG && fileType(results + "/\(id)/junit.xml") == S_IFREG)
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.run["recording_error"] as? String == "the run directory " + what)
        #expect(reported.test("/a-move")["reason"] as? String == "exit 1: moving")
        #expect(reported.test("/b-after")["reason"] as? String == "exit 1: after")
        // `report` says which log is not where it was written.
        let text = try testbedBounded(["report"], in: tree.path)
        #expect(text.stdout.contains("\nrecording: the run directory \(what)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("\n      log: testbed-results/\(id)/tests/a-move/output.log (not there)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("\n      log: testbed-results/\(id)/tests/b-after/output.log\n"), "\(text.stdout)")
    }

    @Test("a setup moves setups/ outside and leaves a link: the later setup's files stay in the results, nobody is blamed but the run")
    func movedSetupsDirectory() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              evil:
                run: sleep 0.3; S=$(dirname "$(dirname "$TESTBED_EXPORT")"); mv "$S" "$OUTSIDE/setups-moved"; ln -s "$OUTSIDE" "$S"
                teardown: echo evil down
              later:
                after: [evil]
                run: echo LATER=1 >> "$TESTBED_EXPORT"; echo later ran
                teardown: echo later down
            tests:
              uses:
                run: test "$LATER" = 1
                setup: [evil, later]
            """])
        try tree.directory("outside")
        let run = try testbedBounded(["run", "--json", "-j", "1", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        let left: [String: String] = ["setups-moved": "<mode 40000>", "setups-moved/evil": "<mode 40000>",
                                      "setups-moved/evil/export": "", "setups-moved/evil/run.log": ""]
        #expect(snapshot(tree["outside"]) == left, "\(snapshot(tree["outside"]))")
        let json = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let report = Reported(json: json)
        let id = try #require(report.run["id"] as? String)
        let setups = tree["testbed-results/\(id)/setups"]
        let what = "was moved to \(tree["outside/setups-moved"]) and a symbolic link to \(tree["outside"]) put in its place during "
            + "the run; Testbed removed the link and made the directory again (the logs written in it before are in \(tree["outside/setups-moved"]))"
        #expect(warningLines(run.stderr) == ["testbed: warning: the directory \(setups) " + what], "\(run.stderr)")
        #expect(report.outcomes == ["/uses": "pass"])
        for name in ["evil", "later"] {
            #expect(report.setup(name).first?["outcome"] as? String == "ok", "\(name)")
            #expect(report.setup(name, phase: "teardown").first?["outcome"] as? String == "ok", "\(name)")
        }
        #expect(report.run["recording_error"] as? String == "the directory setups in the run directory " + what)
        #expect(fileType(setups) == S_IFDIR)
        #expect(try String(contentsOfFile: setups + "/later/run.log", encoding: .utf8) == "later ran\n")
        #expect(try String(contentsOfFile: setups + "/later/export", encoding: .utf8) == "LATER=1\n")
        #expect(try String(contentsOfFile: setups + "/later/teardown.log", encoding: .utf8) == "later down\n")
        #expect(try String(contentsOfFile: setups + "/evil/teardown.log", encoding: .utf8) == "evil down\n")
    }

    @Test("a results path that is the user's link to another disk keeps working; a step that replaces that link gets it put back")
    func userResultsLink() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-first: 'true'
              b-swap: 'sleep 0.3; ln -sfn "$OUTSIDE" "$(dirname "$TESTBED_RUN_DIR")"; sleep 0.2'
              c-after: echo after; exit 1
            """])
        try tree.directory("disk/results")
        try tree.directory("outside")
        #expect(symlink(tree["disk/results"], tree["testbed-results"]) == 0)
        let plain = try testbedBounded(["run", "--id", "/a-first", "."], in: tree.path)
        #expect(plain.status == 0 && warningLines(plain.stderr).isEmpty, "\(plain.stderr)")
        #expect(fileType(tree["disk/results/testbed.sqlite"]) == S_IFREG)
        #expect(fileType(tree["testbed-results"]) == S_IFLNK)

        let run = try testbedBounded(["run", "-j", "1", "--plan-order", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 3, "\(run.stderr)")
        #expect(snapshot(tree["outside"]).isEmpty, "written outside: \(snapshot(tree["outside"]))")
        let what = "a symbolic link to \(tree["disk/results"]) when the run started, was replaced by a symbolic link to \(tree["outside"]) "
            + "during the run; Testbed put the link back (the run is recorded in \(tree["disk/results"]))"
        #expect(warningLines(run.stderr) == ["testbed: warning: the results path \(tree["testbed-results"]), " + what], "\(run.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: tree["testbed-results"]) == tree["disk/results"])
        let id = try #require(summaryRunID(run.stdout))
        #expect(try String(contentsOfFile: tree["disk/results/\(id)/tests/c-after/output.log"], encoding: .utf8) == "after\n")
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.run["recording_error"] as? String == "the results path, " + what)
        #expect(reported.outcomes == ["/a-first": "pass", "/b-swap": "pass", "/c-after": "fail"])
        #expect(try listedRuns(tree.path).count == 2)
    }
}
