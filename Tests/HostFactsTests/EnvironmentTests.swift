@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

@Suite("Environments")
struct EnvironmentTests {
    @Test("provides tags, overrides facts, names binaries and probes")
    func declared() throws {
        let tree = try TemporaryTree([
            "envs/lab.yaml": """
            description: the lab host
            provides:
              - DELL_R420
              - "virtiowin = 2013-10-24"
            facts:
              memory: 64G
              libvirt: 8.10
              kvm: false
            probes:
              libvirt-tool: echo 'libvirtd (libvirt) 9.0.0'
              broken: exit 3
            binaries:
              qemu-src: ../bin/qemu-old
              qemu-dst: /nonexistent/qemu
            restore: ./restore.sh
            """,
            "bin/qemu-old": "#!/bin/sh\necho 'QEMU emulator version 8.2.0'\n",
        ], executables: ["bin/qemu-old"])
        let host = HostProbe(root: tree.path, effectiveUserID: 0, path: [])
        let env = try Environment(contentsOf: tree["envs/lab.yaml"], host: host)
        #expect(env.environmentName == "lab")
        #expect(env.description == "the lab host")
        #expect(env.lookup("DELL_R420").fact?.value == nil)
        #expect(env.lookup("DELL_R420").fact?.source == tree["envs/lab.yaml"] + ":3")
        #expect(env.lookup("virtiowin").fact?.value == "2013-10-24")
        #expect(env.lookup("memory").fact?.value == "64G")
        #expect(env.lookup("libvirt").fact?.value == "8.10", "YAML numbers keep their text")
        #expect(env.lookup("kvm").fact == nil, "a false override turns a probed flag off")
        #expect(env.lookup("libvirt-tool").fact?.value == "9.0.0")
        #expect(env.lookup("broken").fact == nil)
        #expect(env.lookup("qemu-src").fact?.value == "8.2.0")
        guard case .absent(let reason) = env.lookup("qemu-dst") else { Issue.record("missing binary present"); return }
        #expect(reason.contains("/nonexistent/qemu") && reason.contains("lab.yaml:14"))
        #expect(env.binaryVariables["QEMU_SRC"] == tree["bin/qemu-old"])
        #expect(env.restore?.text == "./restore.sh")
        #expect(env.lookup("root").fact != nil, "the host is still probed")
        try #expect(Requirement(parsing: "memory >= 32G").check(env.lookup) == .met)
        let libvirt = try Requirement(parsing: "libvirt >= 9.0").check(env.lookup)
        #expect(libvirt.hostSide == "the environment declares 8.10 (\(tree["envs/lab.yaml"]):7)", "\(libvirt.hostSide ?? "met")")
    }

    @Test("probes and binaries bind the version to the fact's name or the program's name")
    func boundVersions() throws {
        let tree = try TemporaryTree([
            "lab.yaml": """
            probes:
              iproute2: ./bin/ip -V
              iproute: LANG=C ./bin/ip -V
              libbpf: ./bin/ip -V
              libvirt: ./bin/rpm -q libvirt-daemon
              slow: ./bin/hang
            binaries:
              ip-tool: bin/ip
            """,
            "bin/ip": "#!/bin/sh\necho 'ip utility, iproute2-6.1.0, libbpf 1.1.2'\n",
            "bin/rpm": "#!/bin/sh\necho \"$2-9.0.0-5.el9.x86_64\"\n",
            "bin/hang": "#!/bin/sh\nsleep 30\n",
        ], executables: ["bin/ip", "bin/rpm", "bin/hang"])
        let env = try Environment(contentsOf: tree["lab.yaml"], host: HostProbe(root: tree.path, path: []),
                                  runner: CommandRunner(timeout: .seconds(1)))
        #expect(env.lookup("iproute2").fact?.value == "6.1.0")
        #expect(env.lookup("iproute").fact?.value == "6.1.0")
        #expect(env.lookup("libbpf").fact?.value == "1.1.2")
        #expect(env.lookup("libvirt").fact?.value == "9.0.0-5.el9")
        #expect(env.lookup("ip-tool").fact?.value == "6.1.0")
        #expect(env.lookup("slow") == .absent(
            reason: "slow is unknown: probe `./bin/hang` (\(tree["lab.yaml"]):6) did not answer in 1s; its process group was killed"))
    }

    @Test("the program a probe command runs", arguments: [
        ("virsh --version", "virsh"), ("LANG=C /usr/sbin/ip -V | head -1", "ip"), ("rpm -q libvirt-daemon", "rpm"), ("A=1", nil),
    ])
    func programName(command: String, program: String?) {
        #expect(Environment.programName(of: command) == program)
    }

    @Test("probe: false leaves only what is declared")
    func noProbe() throws {
        let tree = try TemporaryTree(["e.yaml": "probe: false\nprovides: [fresh_reboot]\n"])
        let env = try Environment(contentsOf: tree["e.yaml"])
        #expect(env.lookup("fresh_reboot").fact != nil)
        guard case .absent(let reason) = env.lookup("kernel") else { Issue.record("kernel probed"); return }
        #expect(reason.contains("probe: false"))
    }

    @Test("invalid environment files name file and line", arguments: [
        ("probe: maybe\n", 1, "probe must be true or false"),
        ("provides: DELL\n", 1, "provides must be a list"),
        ("provides:\n  - \"bad name\"\n", 2, "is not a fact name"),
        ("provides:\n  - \"x = \"\n", 2, "needs one value"),
        ("facts: [a]\n", 1, "facts must be a mapping"),
        ("bianries:\n  a: b\n", 1, "did you mean \"binaries\""),
        ("provides: [a\n", 2, "YAML syntax error"),
        ("binaries:\n  qemu-src: [a, b]\n", 2, "must be a single value"),
    ])
    func invalid(text: String, line: Int, message: String) throws {
        let tree = try TemporaryTree(["env.yaml": text])
        do {
            _ = try Environment(contentsOf: tree["env.yaml"])
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.file == tree["env.yaml"])
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("the shipped environments load and make the lab tests runnable")
    func shipped() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let lab = try Environment(contentsOf: root.appendingPathComponent("environments/lab-r420.yaml").path)
        #expect(lab.lookup("DELL_R420").fact != nil)
        try #expect(Requirement(parsing: "windows-7sp1+").check(lab.lookup) == .met)
        let old = try Environment(contentsOf: root.appendingPathComponent("environments/lab-r420-win7.yaml").path)
        let windows = try Requirement(parsing: "windows-7sp1+").check(old.lookup)
        let side = windows.hostSide ?? "met"
        #expect(side.hasPrefix("the environment declares 7 (") && side.hasSuffix("environments/lab-r420-win7.yaml:9)"),
                "\(windows.hostSide ?? "met")")
        let cross = try Environment(contentsOf: root.appendingPathComponent("environments/cross-version.yaml").path)
        #expect(cross.binaryVariables.keys.sorted() == ["QEMU_DST", "QEMU_SRC"])
    }

    @Test("variable names", arguments: [("qemu-src", "QEMU_SRC"), ("qemu.dst", "QEMU_DST"), ("gdb", "GDB")])
    func variables(name: String, variable: String) {
        #expect(Environment.variableName(for: name) == variable)
    }
}
