import Foundation
import Reporting
@testable import TestbedCommands
import Testing
import TestSupport

@Suite("The progress line on a terminal")
struct ProgressLineTests {
    let plain = Style(enabled: false)

    @Test("elapsed time, done/total, failures, and every running step while three or fewer run")
    func fewRunning() {
        let line = ConsoleRecorder.progressLine(done: 3, total: 18, failures: 1, infrastructure: 2, elapsed: .seconds(65),
                                                running: [("/a", .seconds(3)), ("setup image", .seconds(40))], width: 200, style: plain)
        #expect(line == "[3/18] 1m05s 1 failed 2 infra running: /a, setup image")
    }

    @Test("more than three running: their count and the longest-running one")
    func manyRunning() {
        let running: [(name: String, time: Duration)] = [("/a", .seconds(5)), ("/migration/postcopy", .seconds(130)), ("/b", .seconds(1)),
                                                         ("/c", .seconds(2)), ("teardown vm", .seconds(9))]
        let line = ConsoleRecorder.progressLine(done: 0, total: 9, failures: 0, infrastructure: 0, elapsed: .seconds(3725),
                                                running: running, width: 200, style: plain)
        #expect(line == "[0/9] 1h02m running 5, longest /migration/postcopy (2m10s)")
    }

    @Test("cut to the terminal's width, counting visible characters only")
    func cut() {
        let colour = Style(enabled: true)
        let line = ConsoleRecorder.progressLine(done: 1, total: 2, failures: 1, infrastructure: 0, elapsed: .seconds(1),
                                                running: [("/a-very-long-test-name", .seconds(1))], width: 20, style: colour)
        #expect(line == "[1/2] 1s 1 failed r…")
        let fits = ConsoleRecorder.progressLine(done: 1, total: 2, failures: 1, infrastructure: 0, elapsed: .seconds(1),
                                                running: [], width: 20, style: colour)
        #expect(fits == "[1/2] 1s " + colour.red("1 failed"), "colours stay when the line fits")
    }

    @Test("the estimate of the time left goes after the elapsed time")
    func timeLeft() {
        let line = ConsoleRecorder.progressLine(done: 3, total: 18, failures: 1, infrastructure: 0, elapsed: .seconds(65), left: "~3m left",
                                                running: [("/a", .seconds(3))], width: 200, style: plain)
        #expect(line == "[3/18] 1m05s ~3m left 1 failed running: /a")
    }

    @Test("durations", arguments: [(0, "0s"), (59, "59s"), (60, "1m00s"), (605, "10m05s"), (3599, "59m59s"), (3600, "1h00m"), (7322, "2h02m")])
    func durations(seconds: Int, shown: String) {
        #expect(ConsoleRecorder.shortDuration(.seconds(seconds)) == shown)
    }
}

@Suite("The progress line's estimate of the time left")
struct TimeLeftTests {
    /// waiting seconds, running (expected seconds, elapsed seconds), jobs → the estimate, in seconds.
    @Test("the estimate", arguments: [
        (600.0, [(Double, Double)](), 1, 600.0),                 // nothing runs: all of it
        (600, [], 4, 150),                                       // shared among the jobs
        (0, [(100, 40)], 4, 60),                                 // one test's rest is never shared
        (300, [(100, 40)], 2, 180),                              // (300 + 60) / 2
        (0, [(10, 25)], 1, 0),                                   // past its recorded time: 0, never negative
        (90, [(10, 25), (20, 5)], 3, 35),                        // (90 + 0 + 15) / 3
        (60, [], 0, 60),                                         // -j below 1 counts as 1
        (-5, [], 1, 0),                                          // never negative
    ] as [(Double, [(Double, Double)], Int, Double)])
    func estimate(waiting: Double, running: [(Double, Double)], jobs: Int, seconds: Double) {
        let left = TimeLeft.estimate(waiting: waiting, running: running.map { ($0.0, .milliseconds(Int64($0.1 * 1000))) }, jobs: jobs)
        #expect(left == .milliseconds(Int64(seconds * 1000)))
    }

    @Test("shown: seconds, then rounded minutes, then hours and minutes; nothing below a second or from 1000 hours", arguments: [
        (0.0, nil), (0.4, nil), (1, "~1s left"), (45, "~45s left"), (59.4, "~59s left"), (60, "~1m left"), (89, "~1m left"),
        (90, "~2m left"), (185, "~3m left"), (3569, "~59m left"), (3570, "~1h00m left"), (3900, "~1h05m left"),
        (999 * 3600, "~999h00m left"), (1000 * 3600, nil),
    ] as [(Double, String?)])
    func shown(seconds: Double, text: String?) {
        #expect(TimeLeft.shown(.milliseconds(Int64(seconds * 1000))) == text)
    }

    @Test("tests without a recorded duration count as the median of the run's recorded ones; none recorded: no estimate")
    func median() throws {
        #expect(TimeLeft(tests: ["/a", "/b"], recorded: ["/other": 5]) == nil)
        #expect(TimeLeft(tests: ["/a"], recorded: ["/a": .nan]) == nil, "a non-finite duration is not a duration")
        #expect(TimeLeft(tests: [], recorded: ["/a": 5]) == nil)
        var left = try #require(TimeLeft(tests: ["/a", "/b", "/c", "/new"], recorded: ["/a": 10, "/b": 30, "/c": 20, "/other": 1000]))
        #expect(left.expected == ["/a": 10, "/b": 30, "/c": 20, "/new": 20])
        #expect(left.waitingSeconds == 80)
        left.leaves("/b")
        left.leaves("/b")
        left.leaves("/unknown")
        #expect(left.waitingSeconds == 50, "a test leaves once")
        // /b runs (30 s expected, 10 s run); /a, /c, /new wait: (50 + 20) / 2.
        #expect(left.estimate(running: [("/b", .seconds(10))], jobs: 2) == .seconds(35))
        for id in ["/a", "/c", "/new"] { left.leaves(id) }
        #expect(left.waitingSeconds == 0)
        #expect(left.estimate(running: [], jobs: 2) == .zero)
        #expect(TimeLeft.median([4, 1, 3, 2]) == 2.5)
        #expect(TimeLeft.median([]) == nil)
    }
}

@Suite("The time left on a real terminal (a pty from script(1))")
struct TimeLeftTerminalTests {
    @Test("a first run has no recorded durations: no estimate; the second run shows the time left from the first; off a terminal, never")
    func secondRun() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  slow: 'sleep 2'\n  quick: 'true'\n"])
        // script(1) (util-linux) gives the run a terminal; what it wrote there comes out on script's stdout.
        let command = "exec /usr/bin/script -qfec \"'\(testbedBinary)' run . -j 1 --plan-order\" /dev/null < /dev/null"
        let first = try testbed(["-c", command], in: tree.path, executable: "/bin/sh")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("[0/2] 0s running: /slow"), "drawn on a terminal: \(first.stdout.debugDescription)")
        #expect(!first.stdout.contains(" left"), "\(first.stdout.debugDescription)")

        let second = try testbed(["-c", command], in: tree.path, executable: "/bin/sh")
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        // /slow took about 2 s last time, /quick next to nothing: about 2 s left as /slow starts.
        let drawn = try #require(second.stdout.components(separatedBy: "\r").first { $0.contains("running: /slow") }, "\(second.stdout.debugDescription)")
        #expect(drawn.hasSuffix("[0/2] 0s ~2s left running: /slow") || drawn.hasSuffix("[0/2] 0s ~3s left running: /slow"),
                "\(second.stdout.debugDescription)")

        let plain = try testbed(["run", ".", "-j", "1"], in: tree.path)
        #expect(plain.status == 0)
        #expect(!plain.stderr.contains(" left"), "no progress line off a terminal: \(plain.stderr)")
    }
}
