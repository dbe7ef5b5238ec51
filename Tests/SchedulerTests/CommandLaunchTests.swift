import Foundation
import Testing
import TestSupport
@testable import Catalog
@testable import Scheduler

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
            == "cannot start ./x86/run: it does not exist in /src/kvm-unit-tests; build it first (a setup the test needs may make it) or fix the path")
        #expect(LaunchFailure(program: "t.sh", errno: ENOEXEC, cause: .noInterpreterLine).description.hasSuffix("add one such as #!/bin/sh"))
    }
}
