import Foundation
import Testing
import TestSupport

/// The built binary started with extra environment entries (a private
/// TMPDIR, a mark its probes inherit), optionally under a launcher
/// (`setpriv …`), and waited for with a deadline: a regression that hangs
/// fails the test instead of hanging the suite.
final class Launched {
    let process = Process()
    let scratch: TemporaryTree
    let start = ContinuousClock.now

    init(_ arguments: [String], in directory: String, environment extra: [String: String] = [:], launcher: [String] = []) throws {
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [testbedBinary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: testbedBinary)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment.merge(extra) { $1 }
        process.environment = environment
        scratch = try TemporaryTree()
        FileManager.default.createFile(atPath: scratch["out"], contents: nil)
        FileManager.default.createFile(atPath: scratch["err"], contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["out"]))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["err"]))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits up to `deadline` seconds (then SIGKILLs it and records an issue).
    func finish(deadline: Double = 60) -> (result: Result, seconds: Double, signal: Int32?) {
        if !eventually(within: deadline, { !process.isRunning }) {
            Issue.record("testbed \(process.arguments ?? []) still runs after \(deadline) s: killed")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let read = { (name: String) in String(decoding: FileManager.default.contents(atPath: self.scratch[name]) ?? Data(), as: UTF8.self) }
        let result = Result(status: process.terminationStatus, stdout: read("out"), stderr: read("err"))
        return (result, seconds, process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil)
    }
}

/// Runs the built binary to its end (at most `deadline` seconds).
func boundedTestbed(_ arguments: [String], in directory: String, environment: [String: String] = [:],
                    launcher: [String] = [], deadline: Double = 60) throws -> (result: Result, seconds: Double) {
    let (result, seconds, _) = try Launched(arguments, in: directory, environment: environment, launcher: launcher).finish(deadline: deadline)
    return (result, seconds)
}

/// Whether a text holds a character that must not reach a terminal raw: a
/// control character other than the newlines that end its lines.
func hasRawControl(_ text: String) -> Bool {
    text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
}

/// `check` of a suite whose setup, YAML test and drop-in all declare
/// `timeout: value`: exit 65, each named at its file:line with the value and the fix.
func expectTimeoutRefused(_ value: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "setups:\n  s:\n    run: 'true'\n    timeout: \(value)\ntests:\n  a:\n    run: 'true'\n    timeout: \(value)\n",
            "sub/t.sh": "#!/bin/sh\n# testbed-timeout: \(value)\nexit 0\n",
        ], executables: ["sub/t.sh"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65, sourceLocation: sourceLocation)
        let fix = "not a duration; " + durationForms + "; or 0 for no limit"
        #expect(result.stderr == """
            testbed: error: testbed.yaml:4: timeout of setup "s" is "\(value)", \(fix)
            testbed: error: testbed.yaml:8: timeout of test /a is "\(value)", \(fix)
            testbed: error: sub/t.sh:2: timeout of test /sub/t.sh is "\(value)", \(fix)

            """, "\(result.stderr)", sourceLocation: sourceLocation)
}

/// The forms of a duration, as every refusal of one names them (`durationForms` of Declarations, spelt out:
/// a change to what the parser accepts changes what users are told).
let durationForms = "write seconds (90) or NUMBER UNIT pairs, the largest unit first (10m, 1h30m, 1.5 min, 500ms; "
    + "units ms, s, m, h, d, also sec, min, hr, second(s), minute(s), hour(s), day(s)), at most ten years"
