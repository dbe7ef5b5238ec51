import Foundation
import Testing
import TestSupport

/// A suite whose `build` setup makes the program its test runs, as
/// kvm-unit-tests' build makes `./x86/run`.
let builtProgramSuite: [String: String] = [
    "testbed.yaml": """
        setups:
          build:
            run: ./build.sh
        tests:
          hello:
            run: ./bin/hello --loud
            setup: [build]
        """,
    "build.sh": "#!/bin/sh\nmkdir -p bin\nprintf '#!/bin/sh\\necho hello from a built program \"$1\"\\n' > bin/hello\nchmod +x bin/hello\n",
]

@Suite("a command is looked for when it runs, not when the suite loads", .serialized)
struct BuiltProgramTests {
    @Test("a test running what its setup builds: check notes it and exits 0; run builds it and passes")
    func builtBySetup() throws {
        let tree = try TemporaryTree(builtProgramSuite, executables: ["build.sh"])
        let check = try testbed(["check", "."], in: tree.path)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("""
            needs setup (1)
              /hello  after build
                  note: ./bin/hello does not exist yet (a setup may build it)

            """), "\(check.stdout)")
        let json = try testbed(["check", "--json", "."], in: tree.path)
        let tests = try #require(try json.json()["tests"] as? [[String: Any]])
        #expect(tests.first?["notes"] as? [String] == ["./bin/hello does not exist yet (a setup may build it)"])
        #expect(Set(tests.first?.keys.map { $0 } ?? []) == ["id", "test", "status", "setups", "unmet", "notes"])
        #expect(!FileManager.default.fileExists(atPath: tree["bin/hello"]), "check runs nothing")

        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(try report(tree.path).outcomes == ["/hello": "pass"])
        let log = try String(contentsOfFile: tree["testbed-results/latest/tests/hello/output.log"], encoding: .utf8)
        #expect(log.contains("hello from a built program --loud"), "\(log)")

        // Built now: no note.
        let after = try testbed(["check", "--json", "."], in: tree.path)
        #expect((try after.json()["tests"] as? [[String: Any]])?.first?["notes"] as? [String] == [])
        #expect(!(try testbed(["check", "."], in: tree.path).stdout.contains("note:")))
    }

    @Test("a line that defines a shell function and calls it runs in the shell: no program is looked for by that name")
    func shellFunction() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              ready:
                run: "mark() { touch ready; }; mark"
                check: "seen() { test -e ready; }; seen"
            tests:
              defined:
                run: "g() { test -e ready; }; g"
                setup: [ready]
            """])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(!run.stdout.contains("not on PATH"), "\(run.stdout)")
    }

    @Test("a program still missing when the test starts is an error of that test, not of the suite")
    func stillMissing() throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  never:\n    run: ./never-built\n  fine: 'true'\n"])
        let check = try testbed(["check", "."], in: tree.path)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("  /never\n      note: ./never-built does not exist yet (a setup may build it)\n  /fine\n"), "\(check.stdout)")
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(try report(tree.path).outcomes == ["/never": "error", "/fine": "pass"])
    }

    @Test("a setup whose program is missing loads too; when it runs, that is the setup's infrastructure failure")
    func setupProgramMissing() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              fetch:
                run: ./fetch.sh
                check: ./is-fetched.sh
                teardown: tools/clean.sh
            tests:
              uses:
                run: 'true'
                setup: [fetch]
            """])
        let check = try testbed(["check", "."], in: tree.path)
        #expect(check.status == 0, "\(check.stderr)")
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        let reported = try report(tree.path)
        #expect(reported.outcome("/uses") == "blocked")
        #expect(reported.setup("fetch").first?["outcome"] as? String == "failed")
    }

    /// kvm-unit-tests' `x86/run` exits 127 when the guest calls `abort()`
    /// (x2apic, xapic, vmexit_vmcall and emulator do under TCG): a built
    /// runner that does the same, and one test whose runner is really missing.
    @Test("a kvm-unit-tests-shaped suite: the runner its build makes exits 127 after the guest's abort(): fail, not error")
    func runnerExits127() throws {
        let tree = try TemporaryTree([
            "build.sh": """
                #!/bin/sh
                mkdir -p x86
                cat > x86/run <<'EOF'
                #!/bin/sh
                # Like kvm-unit-tests' runner under TCG: the guest asserts and calls abort().
                echo "timeout -k 1s --foreground 90s qemu-system-x86_64 -nodefaults -accel $ACCEL $*"
                echo "x86/apic.c:942: assert failed: is_apic_hw_enabled() && is_apic_sw_enabled()"
                echo "        STACK: 401fb1 4001ad"
                exit 127
                EOF
                chmod +x x86/run
                """,
            "testbed.yaml": """
                setups:
                  build:
                    run: ./build.sh
                tests:
                  x2apic:
                    run: ACCEL=tcg ./x86/run x86/apic.flat -smp 2 -cpu qemu64,+x2apic,+tsc-deadline
                    setup: [build]
                  xapic:
                    run: ACCEL=tcg ./x86/run x86/apic.flat -smp 2 -cpu qemu64,-x2apic,+tsc-deadline
                    setup: [build]
                  vmexit_vmcall:
                    run: ./x86/run x86/vmexit.flat -append vmcall
                    setup: [build]
                  emulator:
                    run: ./x86/run x86/emulator.flat
                    setup: [build]
                  no-runner:
                    run: ./x86/no-such-runner x86/emulator.flat
                    setup: [build]
                """,
        ], executables: ["build.sh"])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        let r = try report(tree.path)
        for id in ["/x2apic", "/xapic", "/vmexit_vmcall", "/emulator"] {
            #expect(r.outcome(id) == "fail", "\(id): \(r.test(id))")
            #expect(r.test(id)["exit_status"] as? Int == 127)
            #expect(r.test(id)["reason"] as? String == "exit 127: STACK: 401fb1 4001ad", "\(r.test(id))")
        }
        #expect(r.outcome("/no-runner") == "error")
        #expect((r.test("/no-runner")["reason"] as? String)?.hasPrefix("cannot start ./x86/no-such-runner: it does not exist in ") == true,
                "\(r.test("/no-runner"))")
    }

    /// Building QEMU for the commit under test is a normal CI pattern: the
    /// setup puts it on a PATH it exports, and promises its version.
    @Test("a promise is re-checked along the PATH the setup exports, as the test will see it")
    func promiseAlongExportedPath() throws {
        let tree = try TemporaryTree([
            "build.sh": """
                #!/bin/sh
                mkdir -p qb
                printf '#!/bin/sh\\necho "QEMU emulator version 9.2.0 (v9.2.0)"\\n' > "qb/qemu-system-$(uname -m)"
                printf '#!/bin/sh\\necho built tool\\n' > qb/testbed-built-tool
                chmod +x qb/*
                echo "PATH=$PWD/qb:$PATH" >> "$TESTBED_EXPORT"
                """,
            "testbed.yaml": """
                setups:
                  build-qemu:
                    run: ./build.sh
                    provides: ["qemu = 9.2.0", "cmd:testbed-built-tool"]
                tests:
                  new-qemu:
                    run: test "$TESTBED_FACT_QEMU" = 9.2.0 && qemu-system-$(uname -m) --version
                    requires: ["qemu >= 9"]
                  tool:
                    run: testbed-built-tool
                    requires: ["cmd:testbed-built-tool"]
                  too-new:
                    run: 'true'
                    requires: ["qemu >= 9.3"]
                """,
        ], executables: ["build.sh"])
        let run = try testbed(["run", "."], in: tree.path)
        let r = try report(tree.path)
        #expect(r.outcome("/new-qemu") == "pass", "\(r.test("/new-qemu"))\n\(run.stdout)")
        #expect(r.outcome("/tool") == "pass", "\(r.test("/tool"))")
        // A promise that does not cover the requirement makes no plan; nothing is blamed on the lab.
        #expect(r.outcome("/too-new") == "unsupported")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
    }
}
