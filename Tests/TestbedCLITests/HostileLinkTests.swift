import Foundation
import Testing
import TestSupport

/// Runs the built binary in `directory` under `timeout` (a hang ends as exit
/// 124, never as a stuck suite): its exit status, output, and peak RSS in KiB.
/// The peak is GNU time's `%M` of `timeout` and testbed: wait4 on `env` alone
/// would count the test process too (posix_spawn's child shares its memory
/// until exec, and the kernel carries that high-water mark across exec).
/// Without /usr/bin/time, wait4's number (an upper bound).
func testbedBounded(_ arguments: [String], in directory: String, environment: [String: String] = [:], seconds: Int = 60) throws
    -> (status: Int32, stdout: String, stderr: String, peakKiB: Int) {
    let scratch = try TemporaryTree()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, scratch["out"], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, scratch["err"], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    // env -C changes directory and execs timeout, which runs testbed as its child.
    let timed = FileManager.default.isExecutableFile(atPath: "/usr/bin/time")
    let words = ["/usr/bin/env", "-C", directory, "NO_COLOR=1"] + environment.map { "\($0.key)=\($0.value)" }
        + (timed ? ["/usr/bin/time", "-q", "-f", "%M", "-o", scratch["rss"]] : [])
        + ["/usr/bin/timeout", "-s", "KILL", "\(seconds)", testbedBinary] + arguments
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
    try #require(rc == 0)
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let read = { (name: String) in String(decoding: FileManager.default.contents(atPath: scratch[name]) ?? Data(), as: UTF8.self) }
    let measured = timed ? Int(read("rss").trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    return ((status >> 8) & 0xFF, read("out"), read("err"), measured ?? usage.ru_maxrss)
}

/// Every entry below `path` (recursively, links not followed), with each
/// regular file's content: what must stay as it was.
/// Runs `testbed run -j 1 --plan-order .` in `tree` with `$OUTSIDE` set to
/// its `outside/` directory, and expects `status` and nothing written outside.
func runLeavingOutsideAlone(_ tree: TemporaryTree, status: Int32, sourceLocation: SourceLocation = #_sourceLocation) throws
    -> (status: Int32, stdout: String, stderr: String, peakKiB: Int) {
    let before = snapshot(tree["outside"])
    let run = try testbedBounded(["run", "-j", "1", "--plan-order", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
    #expect(run.status == status, "\(run.stderr)", sourceLocation: sourceLocation)
    #expect(snapshot(tree["outside"]) == before, "written outside: \(snapshot(tree["outside"]))", sourceLocation: sourceLocation)
    return run
}

func snapshot(_ path: String) -> [String: String] {
    var result: [String: String] = [:]
    guard let walker = FileManager.default.enumerator(atPath: path) else { return result }
    while let name = walker.nextObject() as? String {
        let full = path + "/" + name
        var info = stat()
        guard lstat(full, &info) == 0 else { continue }
        if info.st_mode & S_IFMT == S_IFREG {
            result[name] = String(decoding: FileManager.default.contents(atPath: full) ?? Data(), as: UTF8.self)
        } else {
            result[name] = "<mode \(String(info.st_mode & S_IFMT, radix: 8))>"
        }
    }
    return result
}

/// The type of what is at `path` itself (a link is not followed): S_IFREG, S_IFLNK…
func fileType(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & S_IFMT
}

@Suite("hostile links, FIFOs and exports: nothing written or read outside the results", .serialized)
struct HostileLinkTests {
    @Test("a test that swaps its TESTBED_OUTPUT_DIR, or a later test's directory, for a link outside: nothing is written there, reasons come from the logs Testbed holds")
    func outputDirectoryLink() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              swaps:
                run: echo gone away; rm -rf "$TESTBED_OUTPUT_DIR"; ln -s "$OUTSIDE" "$TESTBED_OUTPUT_DIR"; exit 3
              plants:
                run: |
                  ln -s "$OUTSIDE" "$TESTBED_RUN_DIR/tests/later"
                  mkdir "$TESTBED_RUN_DIR/tests/last" && mkfifo "$TESTBED_RUN_DIR/tests/last/output.log"
                  ln -s "$OUTSIDE/planted.log" "$TESTBED_RUN_DIR/tests/last/other.log"
              later: echo hello from later; exit 4
              last: echo last words; exit 5
            """])
        try tree.directory("outside")
        let run = try testbedBounded(["run", "--json", "-j", "1", "--plan-order", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 1, "\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/swaps": "fail", "/plants": "pass", "/later": "fail", "/last": "fail"])
        #expect(report.test("/swaps")["reason"] as? String == "exit 3: gone away")
        #expect(report.test("/later")["reason"] as? String == "exit 4: hello from later")
        #expect(report.test("/last")["reason"] as? String == "exit 5: last words")
        #expect(snapshot(tree["outside"]).isEmpty, "written outside: \(snapshot(tree["outside"]))")
        // The planted link was replaced by a directory of Testbed's, and its log says so.
        let results = tree["testbed-results/latest"]
        #expect(fileType(results + "/tests/later") == S_IFDIR)
        let later = try String(contentsOfFile: results + "/tests/later/output.log", encoding: .utf8)
        #expect(later == "testbed: tests/later was a symbolic link to \(tree["outside"]), not the directory Testbed made; "
                + "Testbed removed it and made a new directory (it never follows what a step plants in the results)\nhello from later\n")
        let last = try String(contentsOfFile: results + "/tests/last/output.log", encoding: .utf8)
        #expect(last == "testbed: tests/last/output.log was already there (a FIFO); Testbed removed it and wrote a new file "
                + "(it never follows what a step plants in the results)\nlast words\n")
        // What a test planted among its own files is its own: left alone.
        #expect(fileType(results + "/tests/last/other.log") == S_IFLNK)
    }

    @Test("links planted at report.json, junit.xml and facts.json: the files outside are unchanged, the run's own reports are written")
    func reportLinks() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              plants: |
                ln -s "$OUTSIDE/report.json" "$TESTBED_RUN_DIR/report.json"
                ln -s "$OUTSIDE/new.xml" "$TESTBED_RUN_DIR/junit.xml"
                ln -sf "$OUTSIDE/facts.json" "$TESTBED_RUN_DIR/facts.json"
              other: 'true'
            """, "outside/report.json": "outside report\n", "outside/facts.json": "outside facts\n"])
        let before = snapshot(tree["outside"])
        let run = try testbedBounded(["run", "-j", "1", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(snapshot(tree["outside"]) == before)
        let results = tree["testbed-results/latest"]
        for name in ["report.json", "junit.xml"] {
            #expect(fileType(results + "/" + name) == S_IFREG, "\(name)")
        }
        let report = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results + "/report.json"))) as? [String: Any])
        #expect(Reported(json: report).outcomes == ["/plants": "pass", "/other": "pass"])
        let junit = try String(contentsOfFile: results + "/junit.xml", encoding: .utf8)
        #expect(junit.contains("<testsuites") && junit.contains("plants"))
        #expect(run.stderr.contains("testbed: warning: report.json was already there (a symbolic link to \(tree["outside"])/report.json); "
                                    + "Testbed removed it and wrote a new file (it never follows what a step plants in the results)\n"),
                "\(run.stderr)")
        #expect(run.stderr.contains("testbed: warning: junit.xml was already there (a symbolic link to \(tree["outside"])/new.xml);"))
        // `report` reads the database, never the planted files.
        let again = try testbed(["report", "--json"], in: tree.path)
        #expect(again.status == 0)
        #expect(snapshot(tree["outside"]) == before)
    }

    @Test("a setup that swaps its own directory for a link outside: its exports come from the directory Testbed holds, its teardown.log is written in the results")
    func setupDirectoryLink() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              moves:
                run: |
                  echo VALUE=kept >> "$TESTBED_EXPORT"
                  d=$(dirname "$TESTBED_EXPORT"); mv "$d" "$d.moved"; ln -s "$OUTSIDE" "$d"
                teardown: echo torn down
              removes:
                run: |
                  d=$(dirname "$TESTBED_EXPORT"); rm -rf "$d"; ln -s "$OUTSIDE" "$d"; echo LOST=1 >> "$TESTBED_EXPORT"
                teardown: echo torn down too
            tests:
              uses-moved:
                run: test "$VALUE" = kept
                setup: [moves]
              uses-removed:
                run: 'true'
                setup: [removes]
            """])
        try tree.directory("outside")
        let run = try testbedBounded(["run", "--json", "-j", "1", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/uses-moved": "pass", "/uses-removed": "blocked"])
        #expect(report.setup("moves").first?["outcome"] as? String == "ok")
        let removed = try #require(report.setup("removes").first)
        #expect(removed["outcome"] as? String == "failed")
        #expect(removed["reason"] as? String == "its export file setups/removes/export is gone (the setup removed it or its "
                + "directory); leave $TESTBED_EXPORT in place and write KEY=VALUE lines to it")
        #expect(report.setup("moves", phase: "teardown").first?["outcome"] as? String == "ok")
        #expect(report.setup("removes", phase: "teardown").first?["outcome"] as? String == "ok")
        // The setup wrote LOST=1 through the link itself: its own doing, and the only file there.
        #expect(snapshot(tree["outside"]) == ["export": "LOST=1\n"])
        let results = tree["testbed-results/latest"]
        let teardown = try String(contentsOfFile: results + "/setups/moves/teardown.log", encoding: .utf8)
        #expect(teardown == "testbed: setups/moves was a symbolic link to \(tree["outside"]), not the directory Testbed made; "
                + "Testbed removed it and made a new directory (it never follows what a step plants in the results)\ntorn down\n")
        #expect(try String(contentsOfFile: results + "/setups/removes/teardown.log", encoding: .utf8).hasSuffix("\ntorn down too\n"))
    }

    @Test("a failing test that swaps its output.log for a FIFO: the run ends at once, the test fails with its reason")
    func fifoLog() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              fifo: echo broken pipe ahead; rm "$TESTBED_OUTPUT_DIR/output.log"; mkfifo "$TESTBED_OUTPUT_DIR/output.log"; exit 1
              skips:
                run: echo no device; rm "$TESTBED_OUTPUT_DIR/output.log"; mkfifo "$TESTBED_OUTPUT_DIR/output.log"; exit 77
                skip-code: 77
            setups:
              breaks:
                run: echo setup broke; d=$(dirname "$TESTBED_EXPORT"); rm "$d/run.log"; mkfifo "$d/run.log"; exit 2
            """])
        let started = ContinuousClock.now
        let run = try testbedBounded(["run", "--json", "."], in: tree.path, seconds: 60)
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(run.status == 1, "\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/fifo": "fail", "/skips": "skip"])
        #expect(report.test("/fifo")["reason"] as? String == "exit 1: broken pipe ahead")
        #expect(report.test("/skips")["reason"] as? String == "skipped itself (exit 77): no device")
        // A setup no test needs does not run; one that does, with a FIFO for its log, cannot hang the report.
        try tree.write("testbed.yaml", """
            setups:
              breaks:
                run: echo setup broke; d=$(dirname "$TESTBED_EXPORT"); rm "$d/run.log"; mkfifo "$d/run.log"; exit 2
            tests:
              needs:
                run: 'true'
                setup: [breaks]
            """)
        let broken = try testbedBounded(["run", "."], in: tree.path, seconds: 60)
        #expect(broken.status == 2, "\(broken.stdout)\(broken.stderr)")
        #expect(broken.stdout.contains("setup breaks  failed  exit 2"), "\(broken.stdout)")
        let shown = try testbedBounded(["report"], in: tree.path, seconds: 60)
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("setup breaks  failed  exit 2"), "\(shown.stdout)")
    }

    @Test("a failing test that swaps its output.log for a link to /dev/zero: the run ends, the reason is what it printed, memory stays bounded")
    func devZeroLog() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              zero:
                run: echo zeroed setup; ln -sf /dev/zero "$(dirname "$TESTBED_EXPORT")/run.log"; exit 9
            tests:
              zero: echo zeroed; ln -sf /dev/zero "$TESTBED_OUTPUT_DIR/output.log"; exit 1
              behind:
                run: 'true'
                setup: [zero]
            """])
        let run = try testbedBounded(["run", "--json", "-j", "1", "."], in: tree.path, seconds: 60)
        #expect(run.status == 3, "\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/zero": "fail", "/behind": "blocked"])
        #expect(report.test("/zero")["reason"] as? String == "exit 1: zeroed")
        #expect(run.peakKiB < 200 * 1024, "peak \(run.peakKiB) KiB")
        let shown = try testbedBounded(["report"], in: tree.path, seconds: 60)
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("setup zero  failed  exit 9"), "\(shown.stdout)")
        #expect(shown.peakKiB < 200 * 1024, "peak \(shown.peakKiB) KiB")
    }
}
