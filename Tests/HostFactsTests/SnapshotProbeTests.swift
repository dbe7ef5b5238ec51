import Foundation
@testable import HostFacts
import TestSupport
import Testing

/// Runs `git` with `arguments` in `directory` (a test's own repository); true when it exited 0.
@discardableResult
func git(_ arguments: [String], in directory: String) -> Bool {
    let output = CommandRunner().run("/usr/bin/env", ["git", "-C", directory, "-c", "user.name=Testbed", "-c", "user.email=testbed@localhost"]
                                         + arguments)
    return output?.status == 0
}

/// A probe of the snapshot of `environment`'s file in `tree`, the host below `tree` (its fixture /proc and /etc) with the real PATH.
func snapshotProbe(_ tree: TemporaryTree, environment file: String? = nil, suite: String? = nil,
                   results: String? = nil) throws -> SnapshotProbe {
    let host = HostProbe(root: tree.path, effectiveUserID: 1000)
    let environment = try file.map { try Environment(contentsOf: tree[$0], host: host) } ?? Environment(local: host)
    return SnapshotProbe(environment: environment, suiteRoot: suite, resultsDirectory: results, runner: CommandRunner(timeout: .seconds(10)))
}

@Suite("Snapshot probe")
struct SnapshotProbeTests {
    @Test("package lists: tabs or spaces, blank and garbage lines skipped, the last of a name twice wins")
    func packages() {
        let text = """
            libvirt0\t9.0.0-4
            qemu-system-x86    1:8.2.2+ds-0ubuntu1

            \t
            dpkg-query: warning: parsing file '/var/lib/dpkg/status' near line 5
            lonely
            bash 5.2-1 extra
            bad\u{1B}[31m 1.0
            zlib1g\t1:1.2.13
            zlib1g\t1:1.3
            """
        let packages = SnapshotProbe.parsePackages(text)
        #expect(packages == ["libvirt0": "9.0.0-4", "qemu-system-x86": "1:8.2.2+ds-0ubuntu1", "zlib1g": "1:1.3"])
    }

    @Test("dpkg's default list keeps installed packages, not those removed but for their configuration")
    func dpkgStatus() {
        let text = "ii \tbash\t5.2.15-2\nrc \told-kernel\t6.1.0-9\nun \tnever\t\nhi \theld\t1.0\niU \tunpacked\t2.0\nnonsense\n"
        #expect(SnapshotProbe.parseDpkg(text) == ["bash": "5.2.15-2", "held": "1.0", "unpacked": "2.0"])
    }

    @Test("modules: the first word of each /proc/modules line, sorted, once each")
    func modules() {
        let text = """
            kvm_intel 380928 0 - Live 0x0000000000000000
            kvm 1146880 1 kvm_intel, Live 0x0000000000000000

            irqbypass 16384 1 kvm, Live 0x0000000000000000
            kvm 1 2 - Live 0x0
            """
        #expect(SnapshotProbe.parseModules(text) == ["irqbypass", "kvm", "kvm_intel"])
        #expect(SnapshotProbe.parseModules("").isEmpty)
    }

    @Test("a fixture host: facts with the environment's overrides, cmdline, modules, machine id, packages from `packages:`, binaries")
    func fixtureHost() throws {
        let tree = try TemporaryTree([
            "proc/sys/kernel/osrelease": "6.1.0-13-amd64\n",
            "proc/sys/kernel/arch": "x86_64\n",
            "proc/cpuinfo": "processor : 0\nflags : fpu vmx sse2\n",
            "proc/meminfo": "MemTotal:       16384 kB\n",
            "proc/cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n",
            "proc/modules": "kvm_intel 380928 0 - Live 0x0\nkvm 1146880 1 kvm_intel, Live 0x0\n",
            "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
            "etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n",
            "env/lab.yaml": """
                provides: [DELL_R420]
                facts:
                  kernel: 6.1.0-15-amd64
                  cpu-flag:vmx: false
                binaries:
                  qemu-src: bin/qemu
                  missing: bin/nothere
                packages: cat packages.txt
                """,
            "env/packages.txt": "libvirt0\t9.0.0-4\nqemu-system-x86 1:8.2.2\n",
            "env/bin/qemu": "#!/bin/sh\necho 'QEMU emulator version 9.1.0'\n",
        ], executables: ["env/bin/qemu"])
        let collected = try snapshotProbe(tree, environment: "env/lab.yaml").collect()
        #expect(collected.warnings.isEmpty)
        let snapshot = try #require(collected.provenance.snapshot)
        #expect(snapshot.facts["kernel"] == "6.1.0-15-amd64", "the environment's override wins")
        #expect(snapshot.facts["arch"] == "x86_64")
        #expect(snapshot.facts["os"] == "debian")
        #expect(snapshot.facts["os-version"] == "12")
        #expect(snapshot.facts["memory"] == "16777216")
        #expect(snapshot.facts["DELL_R420"] == "")
        #expect(snapshot.facts["cpu-flag:fpu"] == "")
        #expect(snapshot.facts["cpu-flag:vmx"] == nil, "declared false: absent")
        #expect(snapshot.facts["root"] == nil, "uid 1000: absent")
        #expect(snapshot.facts["qemu"] == nil, "costs a command: not in the snapshot")
        #expect(snapshot.kernelCommandLine == "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet")
        #expect(snapshot.modules == ["kvm", "kvm_intel"])
        #expect(snapshot.packages == ["libvirt0": "9.0.0-4", "qemu-system-x86": "1:8.2.2"])
        #expect(snapshot.packageManager == "command")
        #expect(snapshot.binaries == ["qemu-src": "9.1.0"])
        #expect(collected.provenance.machineID == "0123456789abcdef0123456789abcdef")
        #expect(collected.provenance.host == SnapshotProbe.hostname())
        #expect(collected.provenance.host?.isEmpty == false)
        #expect(collected.provenance.suiteCommit == nil)
    }

    @Test("packages: none records no list; a failing command records none and says why")
    func packageListChoices() throws {
        let tree = try TemporaryTree([
            "none.yaml": "packages: none\n",
            "off.yaml": "packages: false\n",
            "broken.yaml": "packages: echo oops; exit 3\n",
        ])
        for file in ["none.yaml", "off.yaml"] {
            let collected = try snapshotProbe(tree, environment: file).collect()
            #expect(collected.provenance.snapshot?.packages.isEmpty == true, "\(file)")
            #expect(collected.provenance.snapshot?.packageManager == nil, "\(file)")
            #expect(collected.warnings.isEmpty, "\(file)")
        }
        let broken = try snapshotProbe(tree, environment: "broken.yaml").collect()
        #expect(broken.provenance.snapshot?.packages.isEmpty == true)
        #expect(broken.provenance.snapshot?.packageManager == nil)
        let warning = try #require(broken.warnings.first)
        #expect(warning.contains("`echo oops; exit 3`"))
        #expect(warning.contains("exited 3 (oops)"))
        #expect(warning.contains("broken.yaml:1"))
        #expect(warning.hasSuffix("or write packages: none"))
    }

    @Test("an empty packages: is a declaration error that names the fix")
    func emptyPackages() throws {
        let tree = try TemporaryTree(["env.yaml": "packages: \"\"\n"])
        #expect {
            try Environment(contentsOf: tree["env.yaml"])
        } throws: { error in
            "\(error)".contains("packages is empty") && "\(error)".contains("packages: none")
        }
    }

    @Test("a suite in a git work tree: its commit, clean, then dirty; the results directory inside never makes it dirty")
    func gitRevision() throws {
        let tree = try TemporaryTree(["repo/suite/testbed.yaml": "tests: {}\n", "none.yaml": "packages: none\n"])
        let repo = tree["repo"]
        try #require(git(["init", "-q"], in: repo))
        try #require(git(["add", "."], in: repo))
        try #require(git(["commit", "-q", "-m", "suite"], in: repo))
        let head = try #require(CommandRunner().run("/usr/bin/env", ["git", "-C", repo, "rev-parse", "HEAD"])?.text.firstLine)
        let suite = tree["repo/suite"]
        let results = tree["repo/suite/testbed-results"]
        try tree.write("repo/suite/testbed-results/testbed.sqlite", "x")
        var collected = try snapshotProbe(tree, environment: "none.yaml", suite: suite, results: results).collect()
        #expect(collected.provenance.suiteCommit == head)
        #expect(collected.provenance.suiteCommit?.count == 40)
        #expect(collected.provenance.suiteDirty == false)
        // A change anywhere in the work tree (not only below the suite) makes it dirty.
        try tree.write("repo/README", "new\n")
        collected = try snapshotProbe(tree, environment: "none.yaml", suite: suite, results: results).collect()
        #expect(collected.provenance.suiteDirty == true)
        // Without the results directory left out, its files would count.
        try FileManager.default.removeItem(atPath: tree["repo/README"])
        collected = try snapshotProbe(tree, environment: "none.yaml", suite: suite).collect()
        #expect(collected.provenance.suiteDirty == true)
    }

    @Test("a suite outside git: no commit, no dirty flag")
    func notInGit() throws {
        let tree = try TemporaryTree(["suite/testbed.yaml": "tests: {}\n", "none.yaml": "packages: none\n"])
        // The temporary directory itself must not be inside a work tree for this test to mean anything.
        try #require(!git(["rev-parse", "--is-inside-work-tree"], in: tree.path))
        let collected = try snapshotProbe(tree, environment: "none.yaml", suite: tree["suite"]).collect()
        #expect(collected.provenance.suiteCommit == nil)
        #expect(collected.provenance.suiteDirty == nil)
    }

    @Test("start() collects in the background; the result is the same as collect()")
    func background() async throws {
        let tree = try TemporaryTree(["none.yaml": "packages: none\n", "proc/cmdline": "quiet\n"])
        let probe = try snapshotProbe(tree, environment: "none.yaml")
        let pending = probe.start()
        let first = await pending.value()
        let again = await pending.value()
        #expect(first.provenance == again.provenance)
        #expect(first.provenance == probe.collect().provenance)
        #expect(first.provenance.snapshot?.kernelCommandLine == "quiet")
    }
}
