import Foundation
import Testing
import TestSupport

/// Whether this machine lets the tests bind-mount a directory (root, and a
/// container that allows mounts): tried once.
let bindMountable: Bool = {
    guard geteuid() == 0, let tree = try? TemporaryTree() else { return false }
    guard (try? tree.directory("a")) != nil, (try? tree.directory("b")) != nil else { return false }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/mount")
    process.arguments = ["--bind", tree["b"], tree["a"]]
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return false }
    unmount(tree["a"])
    return true
}()

/// Detaches every mount below `path` (a step's bind mounts), deepest first.
func unmountAll(under path: String) {
    let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    let points = table.split(separator: "\n").compactMap { line -> String? in
        let fields = line.split(separator: " ")
        return fields.count > 4 && fields[4].hasPrefix(path + "/") ? String(fields[4]) : nil
    }
    for point in points.sorted(by: { $0.count > $1.count }) { unmount(point) }
}

/// The source `findmnt` shows for the mount at `point` (`/dev/vda[/tmp/x]`):
/// how Testbed's messages name a mount.
func findmntSource(_ point: String) throws -> String {
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/findmnt")
    process.arguments = ["-n", "-o", "SOURCE", "--mountpoint", point]
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    try #require(process.terminationStatus == 0 && !text.isEmpty, "nothing mounted at \(point)")
    return text
}

/// Where a step bind-mounts a directory outside during a run.
enum MountPlace: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case tests, run
    var testDescription: String { self == .tests ? "$TESTBED_RUN_DIR/tests" : "$TESTBED_RUN_DIR" }
}

extension HostileLinkTests {
    @Test("the reviewer's bind mount of a directory outside over the run's tests/ (or the run directory), later tests b and c at -j 1: nothing written into it, one warning naming the mount, their reasons say their output was not kept",
          .enabled(if: bindMountable, "needs root and a machine that allows bind mounts"),
          arguments: MountPlace.allCases)
    func bindMountOverHeldDirectory(_ place: MountPlace) throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-mount: mount --bind "$OUTSIDE/bindtarget" "\(place.testDescription)"; echo mounted
              b: echo b-out
              c: echo c-out; exit 3
            """, "outside/bindtarget/keep": "theirs\n", "outside/bindtarget/b/keep": "theirs\n",
            "outside/bindtarget/tests/c/keep": "theirs\n"])
        defer { unmountAll(under: tree.path) }
        let before = snapshot(tree["outside"])
        let run = try runLeavingOutsideAlone(tree, status: 3)
        let id = try #require(summaryRunID(run.stdout))
        let directory = tree["testbed-results/\(id)"]
        let point = place == .tests ? directory + "/tests" : directory
        // A bind mount of a directory of the same filesystem: st_dev alone would not tell it.
        var outside = stat()
        var results = stat()
        #expect(stat(tree["outside"], &outside) == 0 && stat(tree["testbed-results"], &results) == 0 && outside.st_dev == results.st_dev)
        let mount = "a mount of " + (try findmntSource(point))
        #expect(mount.hasSuffix("[\(tree["outside/bindtarget"])]"), "\(mount)")
        let who = place == .tests ? "the directory \(directory)/tests" : "the run directory \(directory)"
        let short = place == .tests ? "the directory tests in the run directory" : "the run directory"
        let what = "was covered by \(mount) during the run; Testbed does not write into a directory put in the place of one it "
            + "made: nothing more is written there while that mount is there (the steps whose output belongs there do not keep "
            + "it, their reasons say so; the logs written in it before are under the mount)"
        let refusal = "\(short) is covered by \(mount), which Testbed does not write into"
        var warnings = ["testbed: warning: \(who) \(what)"]
        if place == .run {
            warnings += ["report.json", "junit.xml"].map { "testbed: warning: cannot write \(directory)/\($0): \(refusal)" }
        }
        #expect(warningLines(run.stderr).sorted() == warnings.sorted(), "\(run.stderr)")
        let notKept = { (test: String) in
            "its output was not kept: tests/\(test)/output.log cannot be written: \(refusal) "
                + "(a step removed or replaced part of the results directory?)"
        }
        #expect(run.stdout.contains("\n  /c  fail  exit 3; \(notKept("c"))\n"), "\(run.stdout)")
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.outcomes == ["/a-mount": "pass", "/b": "pass", "/c": "fail"])
        #expect(reported.test("/a-mount")["reason"] == nil)
        #expect(reported.test("/b")["reason"] as? String == notKept("b"))
        #expect(reported.test("/c")["reason"] as? String == "exit 3; " + notKept("c"))
        #expect(reported.run["recording_error"] as? String == "\(short) \(what)")
        #expect(reported.run["exit_code"] as? Int == 3)
        let text = try testbedBounded(["report"], in: tree.path)
        #expect(text.stdout.contains("\nrecording: \(short) \(what)\n"), "\(text.stdout)")
        #expect(text.stdout.contains("\n      log: testbed-results/\(id)/tests/c/output.log (not there)\n"), "\(text.stdout)")
        // Unmounted: Testbed's own directory as it left it, the log written before the mount in it, nothing after.
        unmount(point)
        #expect(snapshot(tree["outside"]) == before)
        let left = Set(snapshot(directory).keys)
        let reports: Set<String> = place == .tests ? ["report.json", "junit.xml"] : []
        #expect(left == Set(["facts.json", "snapshot.json", "tests", "tests/a-mount", "tests/a-mount/output.log"]).union(reports), "\(left)")
        #expect(try String(contentsOfFile: directory + "/tests/a-mount/output.log", encoding: .utf8) == "mounted\n")
    }

    @Test("a test replaces the run's tests/ by a directory of its own: that one is moved aside (tests.foreign-2, tests.foreign being taken), untouched; later logs go to a new tests/")
    func plainDirectoryInPlaceOfTests() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-swap: |
                rm -rf "$TESTBED_RUN_DIR/tests"; mkdir -p "$TESTBED_RUN_DIR/tests/b" "$TESTBED_RUN_DIR/tests.foreign"
                echo theirs > "$TESTBED_RUN_DIR/tests/b/output.log"; echo taken > "$TESTBED_RUN_DIR/tests.foreign/keep"
              b: echo b-out
              c: echo c-out; exit 3
            """])
        let run = try testbedBounded(["run", "-j", "1", "--plan-order", "."], in: tree.path)
        #expect(run.status == 3, "\(run.stderr)")
        let id = try #require(summaryRunID(run.stdout))
        let directory = tree["testbed-results/\(id)"]
        let what = "was deleted and another directory put in its place during the run; Testbed moved that one to "
            + "\(directory)/tests.foreign-2 (it does not write into a directory put in the place of one it made) and made its own "
            + "again (the logs written in it before are lost)"
        #expect(warningLines(run.stderr) == ["testbed: warning: the directory \(directory)/tests " + what], "\(run.stderr)")
        #expect(snapshot(directory + "/tests.foreign-2") == ["b": "<mode 40000>", "b/output.log": "theirs\n"])
        #expect(snapshot(directory + "/tests.foreign") == ["keep": "taken\n"])
        #expect(snapshot(directory + "/tests") == ["b": "<mode 40000>", "b/output.log": "b-out\n",
                                                   "c": "<mode 40000>", "c/output.log": "c-out\n"])
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.outcomes == ["/a-swap": "pass", "/b": "pass", "/c": "fail"])
        #expect(reported.test("/b")["reason"] == nil)
        #expect(reported.test("/c")["reason"] as? String == "exit 3: c-out")
        #expect(reported.run["recording_error"] as? String == "the directory tests in the run directory " + what)
        let text = try testbedBounded(["report"], in: tree.path)
        #expect(text.stdout.contains("\n      log: testbed-results/\(id)/tests/c/output.log\n"), "\(text.stdout)")
    }

    @Test("a bind mount over the results directory: nothing written into it (its testbed.sqlite, -wal, -shm, .lock untouched), recording stops with the mount named, the database shows the run incomplete once it is unmounted",
          .enabled(if: bindMountable, "needs root and a machine that allows bind mounts"))
    func bindMountOverResults() throws {
        var files = ["testbed.yaml": """
            tests:
              a-mount: mount --bind "$OUTSIDE/bindtarget" "$(dirname "$TESTBED_RUN_DIR")"; echo mounted
              b: echo b-out
              c: echo c-out; exit 3
            """]
        for name in ["testbed.sqlite", "testbed.sqlite-wal", "testbed.sqlite-shm", ".lock", "keep"] {
            files["outside/bindtarget/" + name] = "theirs\n"
        }
        let tree = try TemporaryTree(files)
        defer { unmountAll(under: tree.path) }
        let before = snapshot(tree["outside"])
        let run = try runLeavingOutsideAlone(tree, status: 3)
        let id = try #require(summaryRunID(run.stdout))
        let results = tree["testbed-results"]
        let mount = "a mount of " + (try findmntSource(results))
        let refusal = "the results directory is covered by \(mount), which Testbed does not write into"
        let warnings = [
            "testbed: warning: the results directory \(results) was covered by \(mount) during the run; Testbed does not write into "
                + "a directory put in the place of one it made: nothing more is written there while that mount is there",
            "testbed: warning: cannot record results in \(results): \(refusal); keeping them in memory and trying again",
        ] + ["report.json", "junit.xml"].map { "testbed: warning: cannot write \(results)/\(id)/\($0): \(refusal)" }
        #expect(warningLines(run.stderr).sorted() == warnings.sorted(), "\(run.stderr)")
        #expect(run.stderr.hasSuffix("testbed: error: results could not be written to testbed-results (\(refusal)): the summary "
                                     + "above is complete, the database is not (it shows this run as incomplete); remove the mount a "
                                     + "step left there (umount \(results)) and run the tests again\n"), "\(run.stderr)")
        #expect(run.stdout.contains("\n  /c  fail  exit 3; its output was not kept: tests/c/output.log cannot be written: \(refusal) "
                                    + "(a step removed or replaced part of the results directory?)\n"), "\(run.stdout)")
        unmount(results)
        #expect(snapshot(tree["outside"]) == before)
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.run["complete"] as? Bool == false)
        #expect(Set(reported.outcomes.values) == ["interrupted"])
    }

    @Test("a test makes a later test's directory a bind mount: that test's output is not kept, the mount named in its reason, nothing written into it",
          .enabled(if: bindMountable, "needs root and a machine that allows bind mounts"))
    func bindMountAsTestDirectory() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            tests:
              a-mount: mkdir -p "$TESTBED_RUN_DIR/tests/b" && mount --bind "$OUTSIDE/bindtarget" "$TESTBED_RUN_DIR/tests/b"
              b: echo b-out; exit 4
              c: echo c-out; exit 3
            """, "outside/bindtarget/keep": "theirs\n"])
        defer { unmountAll(under: tree.path) }
        let run = try runLeavingOutsideAlone(tree, status: 1)
        #expect(warningLines(run.stderr).isEmpty, "\(run.stderr)")
        let id = try #require(summaryRunID(run.stdout))
        let mount = "a mount of " + (try findmntSource(tree["testbed-results/\(id)/tests/b"]))
        let reported = try reportedRun(stdout: run.stdout, in: tree.path)
        #expect(reported.outcomes == ["/a-mount": "pass", "/b": "fail", "/c": "fail"])
        #expect(reported.test("/b")["reason"] as? String == "exit 4; its output was not kept: tests/b/output.log cannot be written: "
                + "tests/b is \(mount), which Testbed does not write into (a step removed or replaced part of the results directory?)")
        #expect(reported.test("/c")["reason"] as? String == "exit 3: c-out")
        #expect(reported.run["recording_error"] == nil)
    }
}
