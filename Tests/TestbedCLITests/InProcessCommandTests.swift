import Foundation
import Testing
import TestSupport

/// `check`, `plan` and `report` run in this process (`testbedInProcess`):
/// the same status and final message as the built program, without starting it.
@Suite("commands in-process")
struct InProcessCommandTests {
    static let files = [
        "good/testbed.yaml": "tests:\n  a: 'true'\n  b:\n    run: 'true'\n    requires: [no-such-fact-anywhere]\n",
        "invalid/testbed.yaml": "tests:\n  a:\n    run: 'true'\n    setup: [missing]\n",
    ]

    /// `arguments` with the suite names made absolute paths into `tree`.
    static func absolute(_ arguments: [String], in tree: TemporaryTree) -> [String] {
        arguments.map { ["good", "invalid", "no-such-dir"].contains($0) ? tree[$0] : $0 }
    }

    @Test("check and plan: status and message as the program's", arguments: [
        ["check", "good"], ["plan", "good"], ["check", "good", "--id", "/nothing"], ["plan", "good", "--tag", "none"],
        ["check", "invalid"], ["plan", "invalid"], ["check", "no-such-dir"], ["plan", "good", "--strict"],
        ["check", "good", "--tag", "a &"], ["plan", "--no-such-option"],
        ["check", "good", "--tags", "a"], ["chek", "good"], ["plan", "good", "-e", "missing.yaml"],
    ])
    func sameAsProgram(arguments: [String]) async throws {
        let tree = try TemporaryTree(Self.files)
        let absolute = Self.absolute(arguments, in: tree)
        let inProcess = await testbedInProcess(absolute)
        let program = try testbed(absolute, in: tree.path)
        #expect(inProcess.status == program.status)
        // Paths are shown relative to the working directory: the program's is the tree.
        let message = inProcess.message.replacingOccurrences(of: tree.path + "/", with: "")
        let stderr = program.stderr.replacingOccurrences(of: tree.path + "/", with: "")
        #expect(stderr.hasSuffix(message), "program: \(stderr)\nin-process: \(message)")
        // Only a bare `ExitCode` (nothing selected) ends in failure without a message of its own.
        #expect(program.status == 0 || program.status == 4 || !message.isEmpty)
    }

    @Test("the codes of check and plan", arguments: [
        (["check", "good"], Int32(0)), (["plan", "good", "--id", "/nothing"], 4), (["check", "invalid"], 65),
        (["plan", "no-such-dir"], 64), (["check", "good", "--strict"], 65),
    ] as [([String], Int32)])
    func codes(arguments: [String], expected: Int32) async throws {
        let tree = try TemporaryTree(Self.files)
        #expect(await testbedInProcess(Self.absolute(arguments, in: tree)).status == expected)
    }

    @Test("invalid declarations: every line of the message is a `testbed: error:` line naming the setup")
    func invalidMessage() async throws {
        let tree = try TemporaryTree(Self.files)
        let outcome = await testbedInProcess(["plan", tree["invalid"]])
        #expect(outcome.status == 65)
        #expect(outcome.message.contains("setup \"missing\""))
        #expect(outcome.message.split(separator: "\n").allSatisfy { $0.hasPrefix("testbed: error: ") })
    }

    @Test("report of a directory without runs: 66, with the program's message")
    func reportNoRuns() async throws {
        let tree = try TemporaryTree(["empty/.keep": ""])
        let outcome = await testbedInProcess(["report", "--format", "tap", "--results", tree["empty"]])
        #expect(outcome.status == 66)
        #expect(outcome.message.hasPrefix("testbed: error: no runs recorded in"))
        let program = try testbed(["report", "--format", "tap", "--results", tree["empty"]])
        #expect(program.status == 66)
        #expect(program.stderr == outcome.message)
    }

    @Test("run is refused in-process: it needs the process's children and signals")
    func runRefused() async throws {
        let tree = try TemporaryTree(Self.files)
        let outcome = await testbedInProcess(["run", tree["good"]])
        #expect(outcome.status == 64)
        #expect(outcome.message.hasPrefix("testbed: error: testbed run cannot run inside another program"))
        #expect(!FileManager.default.fileExists(atPath: tree["good/testbed-results"]))
    }
}
