import Reporting
@testable import TestbedCommands
import Testing

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

    @Test("durations", arguments: [(0, "0s"), (59, "59s"), (60, "1m00s"), (605, "10m05s"), (3599, "59m59s"), (3600, "1h00m"), (7322, "2h02m")])
    func durations(seconds: Int, shown: String) {
        #expect(ConsoleRecorder.shortDuration(.seconds(seconds)) == shown)
    }
}
