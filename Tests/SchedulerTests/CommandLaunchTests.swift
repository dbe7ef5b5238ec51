import Foundation
import Testing
import TestSupport
@testable import Catalog
@testable import Scheduler

@Suite("how a command line starts")
struct CommandLaunchTests {
    @Test("simple commands are words; shell syntax, assignments and builtins need the shell", arguments: [
        ("./x86/run x86/msr.flat -smp 1", ["./x86/run", "x86/msr.flat", "-smp", "1"]),
        ("  qemu-img   info disk.qcow2 ", ["qemu-img", "info", "disk.qcow2"]),
        ("qemu-system-x86_64 -machine accel=tcg", ["qemu-system-x86_64", "-machine", "accel=tcg"]),
        ("ACCEL=tcg ./x86/run x.flat", nil),
        ("./run | tee log", nil), ("./run > log", nil), ("echo $HOME", nil), ("'quoted'", nil), ("a && b", nil),
        ("exit 3", nil), ("true", nil), ("cd build", nil), ("./t.sh # comment", nil), ("ls *.flat", nil),
        ("sleep 1\nsleep 2", nil),
    ] as [(String, [String]?)])
    func simple(line: String, words: [String]?) {
        #expect(ShellLine.simpleWords(line) == words)
    }

    @Test("the first command of a shell line, when it can be known", arguments: [
        ("ACCEL=tcg ./x86/run x.flat", "./x86/run", false),
        ("FOO=1 BAR=2 qemu-img info x | tee log", "qemu-img", false),
        ("PATH=/opt/qemu/bin:/usr/bin qemu-img info x", "qemu-img", true),
        ("./configure && make", "./configure", false),
        ("cd build && ./run", nil, false), ("$QEMU -version", nil, false), ("\"./quoted\" x", nil, false),
        ("(cd x; ./run)", nil, false), ("exec ./run", nil, false), ("X=$(pwd) ./run", nil, false),
    ] as [(String, String?, Bool)])
    func firstCommand(line: String, word: String?, pathReassigned: Bool) {
        let found = ShellLine.firstCommand(line)
        #expect(found?.word == word)
        if word != nil { #expect(found?.pathReassigned == pathReassigned) }
    }

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
