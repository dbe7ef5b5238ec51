@testable import Catalog
@testable import Declarations
@testable import Execution
import Foundation
@testable import HostFacts
@testable import Planning
@testable import ProcessSupervision
@testable import Requirements
import TestSupport
import Testing

@Suite("the run directory by descriptor")
struct RunLayoutTests {
    @Test("a test directory is made below the run directory; what a step planted in its way is replaced and named in the log")
    func replacesPlanted() throws {
        let tree = try TemporaryTree()
        try tree.directory("run/tests")
        try tree.directory("outside")
        let layout = try RunLayout(directory: tree["run"])
        #expect(symlink(tree["outside"], tree["run/tests/a"]) == 0)
        let (log, failure) = layout.openDirectory("tests/a").createLog("output.log")
        #expect(failure == nil)
        log?.append("hello\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside"]).isEmpty)
        let text = try String(contentsOfFile: tree["run/tests/a/output.log"], encoding: .utf8)
        #expect(text == "testbed: tests/a was a symbolic link to \(tree["outside"]), not the directory Testbed made; Testbed removed "
                + "it and made a new directory (it never follows what a step plants in the results)\nhello\n")
        // A FIFO in place of a log is replaced, never opened.
        try tree.directory("run/tests/b")
        #expect(mkfifo(tree["run/tests/b/output.log"], 0o644) == 0)
        let (fifo, _) = layout.openDirectory("tests/b").createLog("output.log")
        #expect(fifo != nil)
        #expect(fileType(tree["run/tests/b/output.log"]) == S_IFREG)
    }

    @Test("a top directory deleted mid-run (rm -rf tests; ln -s elsewhere tests) is made again, never followed")
    func remakesTop() throws {
        let tree = try TemporaryTree()
        try tree.directory("run")
        try tree.directory("outside")
        let layout = try RunLayout(directory: tree["run"])
        #expect(layout.openDirectory("tests/a").descriptor >= 0)
        try FileManager.default.removeItem(atPath: tree["run/tests"])
        #expect(symlink(tree["outside"], tree["run/tests"]) == 0)
        let (log, failure) = layout.openDirectory("tests/b").createLog("output.log")
        #expect(failure == nil, "\(failure ?? "")")
        #expect(log != nil)
        #expect(fileType(tree["run/tests"]) == S_IFDIR)
        #expect(fileType(tree["run/tests/b/output.log"]) == S_IFREG)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside"]).isEmpty)
    }

    @Test("a log's tail comes from the descriptor, at most 64 KiB of it, whatever is at its name now")
    func tailFromDescriptor() throws {
        let tree = try TemporaryTree()
        try tree.directory("run")
        let layout = try RunLayout(directory: tree["run"])
        let (made, _) = layout.openDirectory("tests/a").createLog("output.log")
        let log = try #require(made)
        log.append(String(repeating: "x", count: 1 << 20) + "\n" + String(repeating: "y", count: 400) + "\nlast words\n\n")
        try FileManager.default.removeItem(atPath: tree["run/tests/a/output.log"])
        #expect(symlink("/dev/zero", tree["run/tests/a/output.log"]) == 0)
        #expect(log.lastLine() == "last words")
        // The 1 MiB line starts before the window: it is not shown cut.
        #expect(log.tail(count: 5) == [String(repeating: "y", count: 300) + "…", "last words"])
        // By path, after the run: links and FIFOs give nothing, at once.
        #expect(LogTail.lines(inRun: tree["run"], log: "tests/a/output.log", count: 3).isEmpty)
        #expect(mkfifo(tree["run/tests/a/fifo.log"], 0o644) == 0)
        #expect(LogTail.lines(inRun: tree["run"], log: "tests/a/fifo.log", count: 3).isEmpty)
        #expect(LogTail.lines(tree["run/tests/a/fifo.log"], count: 3).isEmpty)
        // A link on the way to a log is not followed either.
        try tree.write("outside/secret.log", "secret\n")
        #expect(symlink(tree["outside"], tree["run/tests/b"]) == 0)
        #expect(LogTail.lines(inRun: tree["run"], log: "tests/b/secret.log", count: 3).isEmpty)
        try tree.write("run/tests/c/real.log", "one\ntwo\n")
        #expect(LogTail.lines(inRun: tree["run"], log: "tests/c/real.log", count: 3) == ["one", "two"])
    }

    @Test("files in the run directory itself: a planted link is replaced, its target untouched")
    func runFiles() throws {
        let tree = try TemporaryTree(["outside/report.json": "theirs\n"])
        try tree.directory("run")
        let layout = try RunLayout(directory: tree["run"])
        #expect(symlink(tree["outside/report.json"], tree["run/report.json"]) == 0)
        let (fd, notes, failure) = layout.createFile("report.json")
        #expect(fd >= 0 && failure == nil)
        #expect(notes.count == 1)
        close(fd)
        #expect(try String(contentsOfFile: tree["outside/report.json"], encoding: .utf8) == "theirs\n")
        #expect(fileType(tree["run/report.json"]) == S_IFREG)
        // A link in place of the run directory itself is refused.
        #expect(symlink(tree["outside"], tree["linked"]) == 0)
        #expect(throws: RunLayout.OpenError.self) { try RunLayout(directory: tree["linked"]) }
    }
}

@Suite("held directories moved, deleted or replaced by a link: made again where they were")
struct HeldDirectoryTests {
    @Test("the run directory moved away and a link put in its place: made again, nothing written where either points, the repair says where it went")
    func movedRunDirectory() throws {
        let tree = try TemporaryTree()
        try tree.directory("results/run")
        try tree.directory("outside")
        let layout = try RunLayout(directory: tree["results/run"])
        #expect(layout.openDirectory("tests/a").descriptor >= 0)
        #expect(layout.intact)
        #expect(rename(tree["results/run"], tree["outside/moved"]) == 0)
        #expect(symlink(tree["outside/fake"], tree["results/run"]) == 0)
        #expect(!layout.intact)
        let (log, failure) = layout.openDirectory("tests/b").createLog("output.log")
        #expect(failure == nil)
        log?.append("b\n")
        #expect(fileType(tree["results/run"]) == S_IFDIR)
        #expect(try String(contentsOfFile: tree["results/run/tests/b/output.log"], encoding: .utf8) == "b\n", "no note: the repair is the run's")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: tree["outside"]).sorted() == ["moved", "moved/tests", "moved/tests/a"])
        let what = "was moved to \(tree["outside/moved"]) and a symbolic link to \(tree["outside/fake"]) put in its place during the run; "
            + "Testbed removed the link and made the directory again (the logs written in it before are in \(tree["outside/moved"]))"
        #expect(layout.results.takeRepairs() == [DirectoryRepair(subject: .run, warning: "the run directory \(tree["results/run"]) " + what,
                                                                 note: "the run directory " + what, movedTo: tree["outside/moved"])])
        #expect(layout.intact)
        #expect(layout.results.takeRepairs().isEmpty)
    }

    @Test("setups moved out of the run directory: the next setup's directory is made in a new one, the old one is never used")
    func movedTopDirectory() throws {
        let tree = try TemporaryTree()
        try tree.directory("results/run")
        try tree.directory("outside")
        let layout = try RunLayout(directory: tree["results/run"])
        #expect(layout.openDirectory("setups/evil").descriptor >= 0)
        #expect(rename(tree["results/run/setups"], tree["outside/setups-moved"]) == 0)
        #expect(symlink(tree["outside"], tree["results/run/setups"]) == 0)
        let folder = layout.openDirectory("setups/later")
        #expect(folder.failure == nil && folder.notes.isEmpty)
        #expect(folder.createEmptyFile("export"))
        #expect(fileType(tree["results/run/setups/later/export"]) == S_IFREG)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: tree["outside"]).sorted() == ["setups-moved", "setups-moved/evil"])
        let repairs = layout.results.takeRepairs()
        #expect(repairs.map(\.subject) == [.top("setups")])
        #expect(repairs.first?.warning == "the directory \(tree["results/run/setups"]) was moved to \(tree["outside/setups-moved"]) "
                + "and a symbolic link to \(tree["outside"]) put in its place during the run; Testbed removed the link and made the "
                + "directory again (the logs written in it before are in \(tree["outside/setups-moved"]))")
    }

    @Test("the results directory deleted and a link put in its place: the results and run directories are made again, in order")
    func resultsReplacedByLink() throws {
        let tree = try TemporaryTree()
        try tree.directory("results/run")
        try tree.directory("outside")
        let layout = try RunLayout(directory: tree["results/run"])
        try FileManager.default.removeItem(atPath: tree["results"])
        #expect(symlink(tree["outside"], tree["results"]) == 0)
        layout.verify()
        #expect(fileType(tree["results"]) == S_IFDIR)
        #expect(fileType(tree["results/run"]) == S_IFDIR)
        let (fd, notes, failure) = layout.createFile("report.json")
        #expect(fd >= 0 && notes.isEmpty && failure == nil)
        close(fd)
        #expect(fileType(tree["results/run/report.json"]) == S_IFREG)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside"]).isEmpty)
        #expect(layout.results.takeRepairs().map(\.warning) == [
            "the results directory \(tree["results"]) was deleted and a symbolic link to \(tree["outside"]) put in its place "
                + "during the run; Testbed removed the link and made the directory again",
            "the run directory \(tree["results/run"]) was deleted during the run; Testbed made it again (the logs written in it before are lost)",
        ])
    }

    @Test("a results path that is the user's own link: followed once; put back when a step replaces it")
    func userLink() throws {
        let tree = try TemporaryTree()
        try tree.directory("disk/results")
        try tree.directory("outside")
        #expect(symlink(tree["disk/results"], tree["results"]) == 0)
        let results = try ResultsDirectory(path: tree["results"])
        #expect(results.path == tree["results"] && results.userLink == tree["disk/results"])
        #expect(results.descriptor() >= 0)
        results.checkUserLink()
        #expect(results.takeRepairs().isEmpty)
        #expect(unlink(tree["results"]) == 0 && symlink(tree["outside"], tree["results"]) == 0)
        results.checkUserLink()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: tree["results"]) == tree["disk/results"])
        #expect(results.takeRepairs().map(\.warning) == [
            "the results path \(tree["results"]), a symbolic link to \(tree["disk/results"]) when the run started, was replaced by a "
                + "symbolic link to \(tree["outside"]) during the run; Testbed put the link back (the run is recorded in \(tree["disk/results"]))",
        ])
    }
}

private func fileType(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & S_IFMT
}
