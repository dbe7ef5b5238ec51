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

@Suite("verdicts on a full results disk; output text made printable")
struct FullDiskVerdictTests {
    @Test("a log Testbed appends to on a full disk (/dev/full: ENOSPC) remembers it; a log on a roomy disk does not")
    func appendSeesFullDisk() throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        let full = LogFile(descriptor: fd, relative: "tests/a/output.log")
        #expect(!full.sawFullDisk)
        full.append("testbed: a note\n")
        #expect(full.sawFullDisk)

        let tree = try TemporaryTree()
        try tree.directory("run")
        let layout = try RunLayout(directory: tree["run"])
        let log = try #require(layout.openDirectory("tests/b").createLog("output.log").log)
        log.append("fine\n")
        #expect(!log.sawFullDisk)
        #expect(!layout.resultsDiskFull(), "the temporary directory's disk has room")
        #expect(OutcomeClassifier.fullResultsDisk(layout, log: log) == nil)
        #expect(OutcomeClassifier.fullResultsDisk(layout, log: full) == tree.path)
        #expect(layout.resultsDirectory == tree.path)
    }

    @Test("a failed test on a full disk is blocked by the results disk, its exit status or signal kept")
    func blocksTest() {
        var exited = TestResult(id: "/a", outcome: .fail, exitStatus: 1, reason: "exit 1: partial")
        OutcomeClassifier.blockOnFullDisk(&exited, disk: "/r")
        #expect(exited == TestResult(id: "/a", outcome: .blocked, exitStatus: 1,
                                     reason: "exit 1 while the results disk (/r) was full: its output could not be written, so its "
                                         + "verdict cannot be trusted; free space and run it again", blockedBy: "results disk"))
        var killed = TestResult(id: "/b", outcome: .fail, signal: SIGPIPE, reason: "killed by signal 13 (SIGPIPE)")
        OutcomeClassifier.blockOnFullDisk(&killed, disk: "/r")
        #expect(killed.outcome == .blocked && killed.signal == SIGPIPE && killed.blockedBy == Executor.fullDiskBlocker)
        #expect(killed.reason?.hasPrefix("killed by signal 13 (SIGPIPE) while the results disk (/r) was full: ") == true)
    }

    @Test("a setup that failed on a full disk stays failed, its reason saying so; one that could not start is left alone")
    func notesSetup() throws {
        let tree = try TemporaryTree()
        try tree.directory("run")
        let layout = try RunLayout(directory: tree["run"])
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        let full = LogFile(descriptor: fd, relative: "setups/s/run.log")
        full.append("x")
        let said = "the results disk (\(tree.path)) was full: its output could not be written; free space and run it again"

        var exited = SetupResult(name: "s", phase: .setup, outcome: .failed, exitStatus: 2, reason: "exit 2")
        OutcomeClassifier.noteFullDisk(&exited, layout: layout, log: full)
        #expect(exited.outcome == .failed && exited.reason == "exit 2 while \(said)")
        var exports = SetupResult(name: "s", phase: .setup, outcome: .failed, exitStatus: 0, reason: "its export file is gone")
        OutcomeClassifier.noteFullDisk(&exports, layout: layout, log: full)
        #expect(exports.reason == "its export file is gone; \(said)")
        var teardown = SetupResult(name: "s", phase: .teardown, outcome: .failed, signal: SIGKILL, reason: "killed by signal 9 (SIGKILL)")
        OutcomeClassifier.noteFullDisk(&teardown, layout: layout, log: full)
        #expect(teardown.reason == "killed by signal 9 (SIGKILL) while \(said)")
        var unstarted = SetupResult(name: "s", phase: .setup, outcome: .failed, reason: "cannot start: no such file")
        OutcomeClassifier.noteFullDisk(&unstarted, layout: layout, log: full)
        #expect(unstarted.reason == "cannot start: no such file")
        var roomy = SetupResult(name: "s", phase: .setup, outcome: .failed, exitStatus: 2, reason: "exit 2")
        OutcomeClassifier.noteFullDisk(&roomy, layout: layout, log: nil)
        #expect(roomy.reason == "exit 2", "the temporary directory's disk has room")
    }

    @Test("output lines: C0 and C1 controls, DEL, bidirectional controls and line separators become ?, tabs and other text stay", arguments: [
        ("evil \u{202E}txt.exe", "evil ?txt.exe"), ("\u{9B}2J \u{7F} \u{85}", "?2J ? ?"), ("\u{2066}iso\u{2069}", "?iso?"),
        ("\u{200E}\u{200F}\u{061C}\u{202A}\u{202B}\u{202C}\u{202D}", "???????"), ("a\u{2028}b\u{2029}", "a?b?"),
        ("tab\there", "tab\there"), ("é🙂e\u{301} 👨‍👩‍👧", "é🙂e\u{301} 👨‍👩‍👧"), ("\u{1B}[31m", "?[31m"),
    ])
    func printable(line: String, shown: String) {
        #expect(LogTail.printable(line, limit: 300) == shown)
    }
}
