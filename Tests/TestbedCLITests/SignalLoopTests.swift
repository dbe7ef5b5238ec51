import Foundation
import Testing
import TestSupport

/// Pids of processes whose environment holds `marker` (NAME=VALUE).
func processes(marked marker: String) -> [pid_t] {
    processes(withEnvironmentEntry: marker, prefix: false)
}

/// A run with a slow shared setup, tests that take a while, and a slow
/// teardown, so that a signal at a random time lands in any phase.
let signalSuite: [String: String] = [
    "testbed.yaml": """
    setups:
      base:
        run: 'sleep 0.4; touch "$TESTBED_RUN_DIR/base.up"'
        teardown: 'sleep 0.3; touch "$TESTBED_RUN_DIR/base.down"'
    tests:
      a: {run: 'sleep 0.2; touch "$TESTBED_OUTPUT_DIR/done"', setup: [base]}
      b: {run: 'sleep 0.2; touch "$TESTBED_OUTPUT_DIR/done"', setup: [base]}
      c: {run: 'sleep 0.2; touch "$TESTBED_OUTPUT_DIR/done"', setup: [base]}
      d: {run: 'sleep 0.2; touch "$TESTBED_OUTPUT_DIR/done"', setup: [base]}
      e: {run: 'sleep 0.3; touch "$TESTBED_OUTPUT_DIR/done"', setup: [base]}
      f: {run: 'sleep 0.3; touch "$TESTBED_OUTPUT_DIR/done"', setup: [base]}
      daemon: {run: 'sleep 600 & touch "$TESTBED_OUTPUT_DIR/done"', setup: [base]}
      quick1: 'touch "$TESTBED_OUTPUT_DIR/done"'
      quick2: 'touch "$TESTBED_OUTPUT_DIR/done"'
      long: 'sleep 600'
    """,
]

@Suite("signals and crashes at random points", .serialized)
struct SignalLoopTests {
    /// 20 iterations in CI; `TESTBED_SIGNAL_LOOP=200 swift test --filter SignalLoop` by hand.
    static let iterations = Int(ProcessInfo.processInfo.environment["TESTBED_SIGNAL_LOOP"] ?? "") ?? 20

    @Test("SIGINT, SIGTERM or SIGKILL at a random moment: teardowns ran or the run is marked incomplete; no result lost, no orphan")
    func randomSignals() throws {
        var generator = SystemRandomNumberGenerator()
        var seen: [Int32: Int] = [:]
        for iteration in 0..<Self.iterations {
            let signal = [SIGINT, SIGTERM, SIGKILL][iteration % 3]
            let delay = Double.random(in: 0.05...1.8, using: &generator)
            try Self.interrupt(with: signal, after: delay, iteration: iteration)
            seen[signal, default: 0] += 1
        }
        #expect(seen.values.reduce(0, +) == Self.iterations)
    }

    static func interrupt(with signal: Int32, after delay: Double, iteration: Int) throws {
        let context = "iteration \(iteration): signal \(signal) after \(String(format: "%.2f", delay)) s"
        let tree = try TemporaryTree(signalSuite)
        let marker = "TESTBED_LOOP_MARK=\(UUID().uuidString)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: testbedBinary)
        process.arguments = ["run", "-q", "-j", "2", "--kill-grace", "1s", "--plan-order", "."]
        process.currentDirectoryURL = URL(fileURLWithPath: tree.path)
        var environment = ProcessInfo.processInfo.environment
        environment["TESTBED_LOOP_MARK"] = String(marker.split(separator: "=")[1])
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: delay)
        let killedAt = Date()
        kill(process.processIdentifier, signal)
        // It must end: 130 after SIGINT/SIGTERM (teardowns take well under the 30 s allowed).
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(!process.isRunning, "\(context): testbed did not exit")
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        process.waitUntilExit()

        // Never an orphan: whatever the run started is gone within a few seconds.
        var left = processes(marked: marker)
        let orphanDeadline = Date().addingTimeInterval(10)
        while !left.isEmpty && Date() < orphanDeadline {
            Thread.sleep(forTimeInterval: 0.05)
            left = processes(marked: marker)
        }
        #expect(left.isEmpty, "\(context): processes left behind: \(left)")
        for pid in left { kill(pid, SIGKILL) }

        // The database opens and holds what finished.
        guard FileManager.default.fileExists(atPath: tree["testbed-results/latest"]) else {
            // Stopped before the run had rows: it must have started nothing. Either it
            // caught the signal (130), or the signal came while the process itself was
            // still starting (before any handler can exist) and ended it as it does any program.
            let runs = ((try? FileManager.default.contentsOfDirectory(atPath: tree["testbed-results"])) ?? []).filter { $0.hasPrefix("20") }
            let caught = process.terminationReason == .exit && process.terminationStatus == 130
            let killedEarly = process.terminationReason == .uncaughtSignal && process.terminationStatus == signal && runs.isEmpty
            #expect(signal == SIGKILL || caught || killedEarly,
                    "\(context): exit \(process.terminationStatus) (\(process.terminationReason == .exit ? "exit" : "signal")), runs \(runs)")
            return
        }
        let report = try testbed(["report", "--json"], in: tree.path)
        #expect(report.stderr.isEmpty || !report.stderr.contains("error"), "\(context): \(report.stderr)")
        let json = try report.json()
        let run = try #require(json["run"] as? [String: Any])
        let tests = json["tests"] as? [[String: Any]] ?? []
        let runDirectory = try FileManager.default.destinationOfSymbolicLink(atPath: tree["testbed-results/latest"])
        let base = tree["testbed-results/" + runDirectory]

        if signal == SIGKILL {
            #expect(process.terminationReason == .uncaughtSignal, "\(context)")
            #expect(run["complete"] as? Bool == false, "\(context): a killed run must be marked incomplete")
            // A test that finished well before the kill has its row.
            for test in tests {
                let id = (test["id"] as? String ?? "").dropFirst()
                let done = base + "/tests/\(id)/done"
                guard let modified = (try? FileManager.default.attributesOfItem(atPath: done))?[.modificationDate] as? Date,
                      modified < killedAt.addingTimeInterval(-1) else { continue }
                #expect(["pass", "fail"].contains(test["outcome"] as? String ?? ""), "\(context): /\(id) finished but is \(test["outcome"] ?? "missing")")
            }
        } else {
            #expect([130, 0, 1].contains(process.terminationStatus), "\(context): exit \(process.terminationStatus)")
            #expect(tests.allSatisfy { ($0["outcome"] as? String) != "pending" }, "\(context): a test left pending")
            // A setup that started was torn down.
            if FileManager.default.fileExists(atPath: base + "/setups/base/run.log") {
                #expect(FileManager.default.fileExists(atPath: base + "/base.down"), "\(context): the teardown did not run")
            }
            let setups = json["setups"] as? [[String: Any]] ?? []
            #expect(setups.allSatisfy { ($0["outcome"] as? String) != nil }, "\(context)")
        }
    }
}
