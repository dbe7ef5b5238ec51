@testable import Catalog
import Declarations
import Foundation
import Requirements
import Subtests
import Testing
import TestSupport

@Suite("autopkgtest control files")
struct AutopkgtestDecoderTests {
    @Test("stanzas: continuation lines, comments anywhere, field names in any case, CRLF")
    func stanzas() {
        let text = "# head\nTests: a,\n  b c\n# inside\nrestrictions: needs-root\r\n\n\n  \nTest-Command: echo x\n"
        let (control, errors) = ControlFile.parse(text, file: "control")
        #expect(errors.isEmpty)
        #expect(control.stanzas.count == 2)
        #expect(ControlFile.items(control.stanzas[0]["Tests"] ?? "") == ["a", "b", "c"])
        #expect(control.stanzas[0]["Restrictions"] == "needs-root")
        #expect(control.stanzas[0].line == 2)
        #expect(control.stanzas[1].line == 9)
        #expect(control.stanzas[1].field("test-command")?.line == 9)
    }

    @Test("a line that is no field, a continuation before any field and a field written twice are errors at their line")
    func badLines() {
        let (_, errors) = ControlFile.parse(" lonely\nTests: a\nnot a field\nTests: b\n", file: "debian/tests/control")
        #expect(errors.map(\.line) == [1, 3, 4])
        #expect(errors.allSatisfy { $0.file == "debian/tests/control" })
        #expect(errors[2].message.contains("written twice"))
    }

    @Test("Depends: alternatives, versions and qualifiers dropped, @ and @builddeps@ expanded, invalid items named")
    func depends() throws {
        let parsed = DebianDependencies.parse("@, python3 (>= 3.9) | python3-minimal [amd64], libfoo-dev:native, @builddeps@, @",
                                              binaries: ["hello", "hello-doc"], buildDependencies: "debhelper-compat (= 13), gcc")
        let dependencies = try parsed.get()
        #expect(dependencies.groups == [["hello"], ["hello-doc"], ["python3", "python3-minimal"], ["libfoo-dev"],
                                        ["debhelper-compat"], ["gcc"], ["build-essential"]])
        #expect(dependencies.installed.first == "hello")
        #expect(dependencies.installCommand.hasPrefix("DEBIAN_FRONTEND=noninteractive apt-get install -y -q -- hello hello-doc python3"))
        #expect(dependencies.checkCommand.contains("python3 2>/dev/null)\" = installed ] || [ \"$(dpkg-query"))
        let bad = DebianDependencies.parse("good, Bad Name!", binaries: [], buildDependencies: "")
        #expect(bad == .failure(DebianDependencies.Invalid(item: "Bad Name!")))
    }

    @Test("the check of a Depends setup holds for installed packages only")
    func check() throws {
        let installed = try DebianDependencies.parse("coreutils", binaries: [], buildDependencies: "").get()
        #expect(try shell(installed.checkCommand).status == 0)
        let missing = try DebianDependencies.parse("coreutils, no-such-package-xyz | nor-this-one", binaries: [], buildDependencies: "").get()
        #expect(try shell(missing.checkCommand).status != 0)
    }

    @Test("restrictions become requirements, flags, the skip code and tags")
    func restrictions() async throws {
        let tree = try TemporaryTree([
            "debian/control": "Source: hello\nBuild-Depends: gcc\n\nPackage: hello\nArchitecture: any\n\nPackage: hello-udeb\nPackage-Type: udeb\n",
            "debian/tests/control": """
            Tests: one two
            Restrictions: needs-root, breaks-testbed, skippable, flaky, allow-stderr
            Depends: coreutils

            Test-Command: echo hi
            Restrictions: isolation-container needs-internet

            Test-Command: echo named
            Features: test-name=named
            Restrictions: needs-reboot, mystery
            X-Extra: ignored
            Classes: desktop

            Tests: three
            Tests-Directory: tests
            Architecture: armhf
            """,
        ])
        let catalog = try await CatalogLoader().load([tree.path])
        #expect(catalog.tests.map(\.id) == ["/one", "/two", "/command1", "/named", "/three"])
        let one = catalog.tests[0]
        #expect(one.requires.map(\.description) == ["root"])
        #expect(one.dirties)
        #expect(one.skipCode == 77)
        #expect(one.flaky == FlakyPolicy(threshold: 1000, window: 1000))
        #expect(one.tags == ["autopkgtest", "needs-root", "breaks-testbed", "skippable", "flaky", "allow-stderr"])
        #expect(one.setups == ["depends-1"])
        #expect(one.outputProtocol == .exitcode)
        #expect(one.timeout == .seconds(10_000))
        #expect(one.location.line == 1)
        guard case .shell(let line) = one.command else { Issue.record("not a shell line"); return }
        #expect(line.contains("( ./debian/tests/one ); exit $?"))
        let command = catalog.tests[2]
        #expect(command.skipCode == -1)
        #expect(command.requires.map(\.description) == ["isolation:container | isolation:machine", "internet"])
        // Without Depends, `@`: the source's binary packages (udebs aside).
        #expect(command.setups == ["depends-2"])
        guard case .shell(let wrapped) = command.command else { Issue.record("not a shell line"); return }
        #expect(wrapped.contains("bash -e -c 'echo hi'"))
        #expect(wrapped.contains("allow-stderr"))
        #expect(catalog.tests[3].requires.map(\.description) == ["autopkgtest:needs-reboot", "autopkgtest:mystery"])
        #expect(catalog.tests[4].requires.map(\.description) == ["autopkgtest:architecture"])
        guard case .shell(let three) = catalog.tests[4].command else { Issue.record("not a shell line"); return }
        #expect(three.contains("./tests/three"))
        let setups = catalog.setups.map(\.name)
        #expect(setups == ["depends-1", "depends-2"])
        #expect(catalog.setups[1].run.hasSuffix("-- hello"))
        #expect(catalog.setups[0].requires.map(\.description) == ["root", "cmd:apt-get"])
    }

    @Test("Architecture becomes a requirement on arch, or unsupported when a name is not mapped")
    func architecture() {
        let read = AutopkgtestDecoder.Context.architecture
        #expect(read("amd64 arm64") == ["arch == x86_64 | arch == aarch64"])
        #expect(read("!i386") == ["arch != i686", "arch != i586", "arch != i386"])
        #expect(read("linux-any") == [])
        #expect(read("any-amd64") == ["arch == x86_64"])
        #expect(read("hurd-i386") == nil)
        #expect(read("amd64 !arm64") == nil)
    }

    @Test("bad stanzas are errors naming the control file and line")
    func badStanzas() async throws {
        let tree = try TemporaryTree([
            "debian/tests/control": """
            Tests: a
            Test-Command: true

            Restrictions: needs-root

            Test-Command: true
            Features: test-name=x, test-name=y

            Tests: b
            Depends: fine, NOT OK
            """,
        ])
        let errors = await loadErrors(tree)
        #expect(errors.map(\.line) == [2, 4, 7, 10], "\(errors)")
        #expect(errors.allSatisfy { $0.file.hasSuffix("debian/tests/control") })
        #expect(errors[3].message.contains("NOT OK"))
    }

    @Test("the wrapper fails a test that exits 0 after writing to stderr, keeps its exit otherwise, and logs the stderr")
    func stderrWrapper() throws {
        let strict = { (run: String) in AutopkgtestDecoder.Context.wrapped(run, allowStderr: false) }
        let noisy = try shell(strict("echo out; echo err >&2"))
        #expect(noisy.status == 1)
        #expect(noisy.stdout == "out\n")
        #expect(noisy.stderr.hasPrefix("err\n"))
        #expect(noisy.stderr.contains("allow-stderr"))
        #expect(try shell(strict("echo quiet")).status == 0)
        #expect(try shell(strict("echo err >&2; exit 77")).status == 77)
        #expect(try shell(strict("exit 5")).status == 5)
        let allowed = try shell(AutopkgtestDecoder.Context.wrapped("echo err >&2", allowStderr: true))
        #expect(allowed.status == 0)
        let tmp = try shell(strict(#"echo "$AUTOPKGTEST_TMP""#))
        let path = tmp.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path.hasSuffix("/tmp"))
        #expect(!FileManager.default.fileExists(atPath: path), "AUTOPKGTEST_TMP is removed afterwards")
    }
}

/// Runs a shell line: its status, stdout and stderr (small outputs only: read after it ends).
func shell(_ line: String) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", line]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (process.terminationStatus, stdout, stderr)
}
