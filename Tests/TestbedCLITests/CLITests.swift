import Foundation
import Testing
import TestSupport

/// The `testbed` binary that `swift build` put beside the test bundle.
let testbedBinary: String = {
    if let path = ProcessInfo.processInfo.environment["TESTBED_BIN"] { return path }
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("testbed").path,
        packageRoot.appendingPathComponent(".build/debug/testbed").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
}()

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct Result {
    let status: Int32
    let stdout: String
    let stderr: String

    func json() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }
}

/// Runs the built binary with the arguments, in `directory` (or `executable`,
/// such as `taskset`, that runs it), with NO_COLOR set.
///
/// Unless the arguments name a `--host-root`, what `run` says about this
/// host's kernel (`/dev/kmsg` or the taint file unreadable here, a taint the
/// kernel had before the run) is left out of stderr: those lines depend on the
/// host the tests run on (not root, no /dev/kmsg in a container, a tainted CI
/// kernel), not on what a test checks. KernelHealthTests read them with a
/// fixture root.
func testbed(_ arguments: [String], in directory: String? = nil, executable: String = testbedBinary) throws -> Result {
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = "1"
    // A developer's grid (`scripts/local-grid up` exports it) must not move every test's results into PostgreSQL.
    environment["TESTBED_DATABASE"] = nil
    let result = try runProgram(executable, arguments, in: directory ?? packageRoot.path, environment: environment)
    guard !arguments.contains("--host-root") else { return result }
    return Result(status: result.status, stdout: result.stdout, stderr: withoutHostKernelNotices(result.stderr))
}

/// `stderr` without `run`'s lines about the host's own kernel: an unreadable
/// `/dev/kmsg` or `/proc/sys/kernel/tainted`, a taint from before the run.
func withoutHostKernelNotices(_ stderr: String) -> String {
    let notices = ["testbed: cannot read /dev/kmsg:", "testbed: cannot read /proc/sys/kernel/tainted:",
                   "testbed: the kernel was already tainted before this run:"]
    return stderr.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { line in !notices.contains { line.hasPrefix($0) } }
        .joined(separator: "\n")
}

/// Runs a program to its end: its stdout, stderr and status. Output goes to
/// files, so a large output cannot fill a pipe and stall the child.
///
/// - Parameters:
///   - executable: the program's path.
///   - arguments: its arguments.
///   - directory: where it runs (default: here).
///   - environment: its environment (default: this process's).
/// - Returns: its status and what it wrote.
/// - Throws: when it cannot be started or its output cannot be read.
func runProgram(_ executable: String, _ arguments: [String], in directory: String? = nil,
                environment: [String: String]? = nil) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment { process.environment = environment }
    let scratch = try TemporaryTree()
    FileManager.default.createFile(atPath: scratch["out"], contents: nil)
    FileManager.default.createFile(atPath: scratch["err"], contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["out"]))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch["err"]))
    defer { try? out.close(); try? err.close() }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return Result(status: process.terminationStatus,
                  stdout: String(decoding: FileManager.default.contents(atPath: scratch["out"]) ?? Data(), as: UTF8.self),
                  stderr: String(decoding: FileManager.default.contents(atPath: scratch["err"]) ?? Data(), as: UTF8.self))
}

let smallSuite: [String: String] = [
    "testbed.yaml": """
    setups:
      image:
        run: 'true'
        provides: ["image:alpine"]
        teardown: 'true'
    tests:
      plain:
        run: 'true'
        requires: ["cmd:sh"]
        tags: [quick]
      needs-image:
        run: 'true'
        requires: ["image:alpine"]
        tags: [quick, image]
      future:
        run: 'true'
        requires: ["kernel >= 999", "DELL_R420"]
    """,
    "lab.yaml": "provides: [DELL_R420]\nfacts:\n  kernel: 1000.1\n",
]

@Suite("testbed CLI, end to end", .serialized)
struct CLITests {
    @Test("check --json has DESIGN.md's shape and the three statuses")
    func checkJSON() throws {
        let tree = try TemporaryTree(smallSuite)
        let result = try testbed(["check", "--json", tree.path])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try result.json()
        #expect(json["environment"] as? String == "local")
        let tests = try #require(json["tests"] as? [[String: Any]])
        #expect(tests.map { $0["id"] as? String } == ["/plain", "/needs-image", "/future"])
        #expect(tests.map { $0["status"] as? String } == ["runnable", "needs-setup", "unsupported"])
        #expect(tests[1]["setups"] as? [String] == ["image"])
        let unmet = try #require(tests[2]["unmet"] as? [[String: String]])
        #expect(unmet.map { $0["requirement"] } == ["kernel >= 999", "DELL_R420"])
        #expect(unmet[0]["reason"]?.hasPrefix("needs kernel >= 999; this host has ") == true)
        #expect(unmet[1]["reason"] == "needs DELL_R420; DELL_R420 is not present on this host")
        #expect(tests[0]["unmet"] as? [Any] != nil, "unmet is always a list")
    }

    @Test("an environment file changes the verdict")
    func environment() throws {
        let tree = try TemporaryTree(smallSuite)
        let result = try testbed(["check", "--json", "--environment", tree["lab.yaml"], tree.path])
        #expect(result.status == 0)
        let tests = try #require(try result.json()["tests"] as? [[String: Any]])
        #expect(try result.json()["environment"] as? String == "lab")
        #expect(tests.map { $0["status"] as? String } == ["runnable", "needs-setup", "runnable"])
    }

    @Test("check's text groups the tests and counts them")
    func checkText() throws {
        let tree = try TemporaryTree(smallSuite)
        let result = try testbed(["check", tree.path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("runnable (1)\n  /plain\n"))
        #expect(result.stdout.contains("needs setup (1)\n  /needs-image"))
        #expect(result.stdout.contains("unsupported (1)\n  /future\n      needs kernel >= 999; this host has "))
        #expect(result.stdout.contains("      needs DELL_R420; DELL_R420 is not present on this host\n"))
        #expect(result.stdout.hasSuffix("1 runnable, 1 need setup, 1 unsupported (3 tests)\n"))
        #expect(!result.stdout.contains("\u{1B}["), "NO_COLOR turns colour off")
    }

    @Test("check lines up the setups column and wraps ids too long for it")
    func checkColumns() throws {
        let long = String(repeating: "very-long-name/", count: 4) + "x"
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              image:
                run: 'true'
                provides: [img]
              disk:
                run: 'true'
                after: [image]
            tests:
              a:
                run: 'true'
                requires: [img]
                setup: [disk]
              \(long):
                run: 'true'
                requires: [img]
              b:
                run: 'true'
                requires: [img]
                setup: [disk]
            """])
        let result = try testbed(["check", tree.path])
        #expect(result.status == 0, "\(result.stderr)")
        let width = 48 + 2 // the column is capped at 48; two spaces of margin
        let indent = String(repeating: " ", count: width)
        #expect(result.stdout.contains("""
            needs setup (3)
              /a\(String(repeating: " ", count: width - 4))after image, disk
              /\(long)
            \(indent)after image
              /b\(String(repeating: " ", count: width - 4))after image, disk

            """))
    }

    @Test("selection by tag and id; nothing selected exits 4")
    func selection() throws {
        let tree = try TemporaryTree(smallSuite)
        let tagged = try testbed(["check", "--json", "--tag", "quick & !image", tree.path])
        #expect(try (tagged.json()["tests"] as? [[String: Any]])?.map { $0["id"] as? String } == ["/plain"])
        let byID = try testbed(["check", "--json", "--id", "/fut*", tree.path])
        #expect(try (byID.json()["tests"] as? [[String: Any]])?.map { $0["id"] as? String } == ["/future"])
        let none = try testbed(["check", "--tag", "nothing", tree.path])
        #expect(none.status == 4)
        #expect(none.stdout.contains("no tests selected"))
    }

    @Test("bad usage exits 64 with a message that says what to fix", arguments: [
        (["check", "/no/such/suite"], "/no/such/suite does not exist"),
        (["check", "--tag", "a &"], "invalid tag expression"),
        (["check", "--environment", "/no/env.yaml"], "environment file /no/env.yaml does not exist"),
        (["check", "--bogus"], "Unknown option '--bogus'"),
        (["plan", "--dot", "--json"], "--dot and --json cannot be used together"),
        (["frobnicate"], "Unexpected argument 'frobnicate'"),
    ])
    func usage(arguments: [String], message: String) throws {
        let tree = try TemporaryTree(smallSuite)
        let result = try testbed(arguments, in: tree.path)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("invalid declarations exit 65 naming file and line", arguments: [
        ("tests:\n  a:\n    run: x\n    timeout: soon\n", "testbed.yaml:4: timeout of test /a is \"soon\", not a duration"),
        ("tests:\n  a:\n    run: x\n    requires: [\"qemu >> 1\"]\n", "testbed.yaml:4: test /a: invalid requirement \"qemu >> 1\""),
        ("tests: [\n", "testbed.yaml:2: YAML syntax error"),
        ("setups:\n  a:\n    run: x\n    after: [b]\n  b:\n    run: x\n    after: [a]\ntests:\n  t: x\n", "dependency cycle: a -> b -> a; remove one `after`"),
        ("tests:\n  t:\n    run: x\n    setup: [ghost]\n", "testbed.yaml:4: test /t needs setup \"ghost\", which no testbed.yaml declares"),
    ])
    func invalid(yaml: String, message: String) throws {
        let tree = try TemporaryTree(["testbed.yaml": yaml])
        for command in ["check", "plan"] {
            let result = try testbed([command, "."], in: tree.path)
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stderr.hasPrefix("testbed: error: "))
        }
    }

    @Test("an invalid environment file exits 65 naming its line")
    func invalidEnvironment() throws {
        let tree = try TemporaryTree(["env.yaml": "provides: [ok]\nprobe: perhaps\n", "testbed.yaml": "tests:\n  t: x\n"])
        let result = try testbed(["check", "-e", "env.yaml", "."], in: tree.path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("env.yaml:2: probe must be true or false"))
    }

    @Test("plan lists steps in order, shared setup once, teardown last; --dot and --json agree")
    func plan() throws {
        let tree = try TemporaryTree(smallSuite)
        let text = try testbed(["plan", tree.path])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "plan for environment local, suite \(tree.path): 4 steps (1 setup, 2 tests, 1 teardown)")
        #expect(lines.contains { $0.hasPrefix("1  test      /plain") })
        #expect(lines.contains { $0.hasPrefix("2  setup     image") })
        #expect(lines.contains { $0.hasPrefix("3  test      /needs-image") && $0.hasSuffix("after 2") })
        #expect(lines.contains { $0.hasPrefix("4  teardown  image") && $0.hasSuffix("after 2, 3") })
        #expect(text.stdout.contains("not planned: 1 unsupported"))
        let dot = try testbed(["plan", "--dot", tree.path])
        #expect(dot.stdout.hasPrefix("digraph plan {"))
        #expect(dot.stdout.contains("s1 -> s2;"))
        let json = try testbed(["plan", "--json", tree.path]).json()
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.map { $0["kind"] as? String } == ["test", "setup", "test", "teardown"])
        #expect(steps[3]["after"] as? [Int] == [2, 3])
    }

    @Test("probe lists this host's facts; --json is parseable")
    func probe() throws {
        let text = try testbed(["probe"])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("environment: local"))
        for name in ["kernel", "arch", "cpus", "memory"] { #expect(text.stdout.contains("\n\(name) ")) }
        let json = try testbed(["probe", "--json"]).json()
        let facts = try #require(json["facts"] as? [[String: Any]])
        #expect(facts.contains { $0["name"] as? String == "kernel" && ($0["value"] as? String)?.isEmpty == false })
        #expect(json["missing"] is [Any])
    }

    @Test("the example suite shows every status on this machine")
    func examples() throws {
        let result = try testbed(["check", "--json", "examples"])
        #expect(result.status == 0, "\(result.stderr)")
        let tests = try #require(try result.json()["tests"] as? [[String: Any]])
        let statuses = Dictionary(grouping: tests, by: { $0["status"] as? String ?? "" })
        #expect(statuses["runnable"]?.isEmpty == false)
        #expect(statuses["unsupported"]?.isEmpty == false)
        let future = try #require(tests.first { $0["id"] as? String == "/kernel/future-syscall" })
        #expect(future["status"] as? String == "unsupported")
        let reason = (future["unmet"] as? [[String: String]])?.first?["reason"] ?? ""
        #expect(reason.hasPrefix("needs kernel >= 99.0; this host has "))
        // As root or with qemu-img installed, the image test is runnable after its setups.
        if getuid() == 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img") {
            let image = try #require(tests.first { $0["id"] as? String == "/image/qcow2-info" })
            #expect(image["status"] as? String == "needs-setup")
            #expect((image["setups"] as? [String])?.last == "scratch-disk")
        }
    }

    @Test("the lab environments decide the hardware-tagged tests")
    func labEnvironments() throws {
        let lab = try testbed(["check", "--json", "-e", "environments/lab-r420.yaml", "examples", "--id", "/lab"]).json()
        let labTests = try #require(lab["tests"] as? [[String: Any]])
        #expect(labTests.count == 3)
        #expect(labTests.allSatisfy { $0["status"] as? String == "runnable" })
        let old = try testbed(["check", "--json", "-e", "environments/lab-r420-win7.yaml", "examples", "--id", "/lab"]).json()
        let oldTests = try #require(old["tests"] as? [[String: Any]])
        let reasons = oldTests.flatMap { ($0["unmet"] as? [[String: String]] ?? []).compactMap { $0["reason"] } }
        #expect(reasons.sorted() == ["needs libvirt >= 9.0; the environment declares 8.10.0 (environments/lab-r420-win7.yaml:11)",
                                     "needs windows-7sp1+; the environment declares 7 (environments/lab-r420-win7.yaml:9)"])
        #expect(oldTests.first { $0["id"] as? String == "/lab/gpu-passthrough" }?["status"] as? String == "runnable")
    }

    @Test("--help teaches the commands")
    func help() throws {
        let result = try testbed(["check", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("testbed check examples"))
        #expect(result.stdout.contains("--environment"))
    }
}
