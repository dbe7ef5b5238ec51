@testable import Declarations
import Foundation
@testable import HostFacts
@testable import ProcessSupervision
import TestSupport
import Testing

@Suite("how a command line starts")
struct CommandLaunchTests {
    func spec(_ line: String, in directory: String, path: String = "/usr/bin:/bin") -> ProcessSpec {
        .shell(line, environment: ["PATH": path], directory: directory, outputPath: "/dev/null")
    }

    @Test("a program is looked for when it starts: missing, not executable, a bad #! line are failures; the rest starts")
    func prepare() throws {
        let tree = try TemporaryTree([
            "bin/ok": "#!/bin/sh\nexit 0\n", "bin/plain": "exit 0\n", "bin/data": "not executable",
            "bin/bad-interpreter": "#!/no/such/interpreter\n", "bin/env-missing": "#!/usr/bin/env testbed-no-such-program -u\n",
            "bin/env-ok": "#!/usr/bin/env sh\n",
        ], executables: ["bin/ok", "bin/plain", "bin/bad-interpreter", "bin/env-missing", "bin/env-ok"])
        func cause(_ line: String) -> LaunchFailure.Cause? {
            if case .failed(let failure) = CommandLaunch.prepare(spec(line, in: tree.path, path: "/usr/bin:/bin:\(tree.path)/bin")) {
                return failure.cause
            }
            return nil
        }
        #expect(cause("./bin/missing --flag") == .notFound(in: tree.path))
        #expect(cause("X=1 ./bin/missing | cat") == .notFound(in: tree.path))
        #expect(cause("testbed-no-such-program") == .notOnPath("/usr/bin:/bin:\(tree.path)/bin"))
        #expect(cause("./bin/data") == .notExecutable)
        #expect(cause("./bin") == .isDirectory)
        #expect(cause("./bin/bad-interpreter") == .interpreterMissing("/no/such/interpreter"))
        #expect(cause("bad-interpreter arg") == .interpreterMissing("/no/such/interpreter"))
        #expect(cause("./bin/env-missing") == .interpreterMissing("testbed-no-such-program (through /usr/bin/env)"))
        for line in ["./bin/ok", "ok x", "./bin/plain", "./bin/env-ok", "echo start; ./bin/missing", "PATH=/nowhere ok"] {
            #expect(cause(line) == nil, "\(line)")
        }
        guard case let .direct(path, arguments, fromCommandLine) = CommandLaunch.prepare(spec("ok -v", in: tree.path,
                                                                                              path: "\(tree.path)/bin")) else {
            Issue.record("ok -v is a simple command")
            return
        }
        #expect(path == "\(tree.path)/bin/ok")
        #expect(arguments == ["ok", "-v"])
        #expect(fromCommandLine)
    }

    @Test("what a failed start says names the program and the fix")
    func descriptions() {
        #expect(LaunchFailure(program: "./x86/run", errno: ENOENT, cause: .notFound(in: "/src/kvm-unit-tests")).description
            == "cannot start ./x86/run: it does not exist in /src/kvm-unit-tests; fix the path, or build it before this step runs (a setup can make it)")
        #expect(LaunchFailure(program: "t.sh", errno: ENOEXEC, cause: .noInterpreterLine).description.hasSuffix("add one such as #!/bin/sh"))
    }

    @Test("a #! line with a carriage return (DOS line endings) says so, not that /bin/sh is missing")
    func carriageReturn() throws {
        let tree = try TemporaryTree(["dos.sh": "#!/bin/sh\r\necho hi\r\n"], executables: ["dos.sh"])
        guard case .failed(let failure) = CommandLaunch.prepare(spec("./dos.sh", in: tree.path)) else {
            Issue.record("a DOS script starts")
            return
        }
        #expect(failure.cause == .carriageReturn)
        #expect(failure.description.hasSuffix("convert the file with dos2unix"))
    }

    static let loader = "/lib64/ld-linux-x86-64.so.2"

    @Test("a binary whose dynamic loader is missing says so",
          .enabled(if: (FileManager.default.contents(atPath: "/usr/bin/true") ?? Data()).range(of: Data(loader.utf8)) != nil))
    func loaderMissing() async throws {
        let tree = try TemporaryTree()
        var binary = try #require(FileManager.default.contents(atPath: "/usr/bin/true"))
        let range = try #require(binary.range(of: Data(Self.loader.utf8)))
        binary.replaceSubrange(range, with: Data(Self.loader.replacingOccurrences(of: "ld-linux", with: "ld-nolin").utf8))
        try binary.write(to: URL(fileURLWithPath: tree["foreign"]))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree["foreign"])
        let outcome = await ProcessSupervisor().run(
            ProcessSpec(executable: tree["foreign"], arguments: ["foreign"], environment: [:], directory: tree.path,
                        outputPath: tree["output.log"]),
            tag: "loader-test-\(UUID().uuidString)", timeout: .seconds(30))
        #expect(outcome.launchFailure?.cause == .loaderMissing)
        // The log says why nothing ran.
        let log = try String(contentsOfFile: tree["output.log"], encoding: .utf8)
        #expect(log.hasPrefix("testbed: cannot start \(tree["foreign"]): its dynamic loader does not exist on this host"), "\(log)")
    }
}
