import Foundation
import Testing
import TestSupport
@testable import Scheduler

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

private func fileType(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & S_IFMT
}
