@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

/// A Debian 12 x86_64 host without KVM, as fixture files.
let debianHost: [String: String] = [
    "proc/sys/kernel/osrelease": "6.1.0-13-amd64\n",
    "proc/sys/kernel/arch": "x86_64\n",
    "etc/os-release": "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
    "sys/devices/system/cpu/online": "0-3,8,10-11\n",
    "proc/meminfo": "MemTotal:       16315612 kB\nMemFree:         1234567 kB\n",
    "proc/cpuinfo": """
        processor\t: 0
        vendor_id\t: GenuineIntel
        flags\t\t: fpu vme de pse tsc msr pae vmx sse2 avx2 hypervisor
        processor\t: 1
        flags\t\t: fpu vme de pse tsc msr pae vmx sse2 avx2 hypervisor

        """,
    "sys/class/dmi/id/sys_vendor": "QEMU\n",
    "boot/config-6.1.0-13-amd64": "# comment\nCONFIG_KVM=m\nCONFIG_KVM_INTEL=m\nCONFIG_VIRTIO=y\n# CONFIG_XEN is not set\n",
    "lib/modules/6.1.0-13-amd64/modules.dep": "kernel/arch/x86/kvm/kvm.ko.xz:\nkernel/arch/x86/kvm/kvm-intel.ko.xz: kernel/arch/x86/kvm/kvm.ko.xz\n",
    "lib/modules/6.1.0-13-amd64/modules.builtin": "kernel/drivers/virtio/virtio.ko\n",
    "sys/module/kvm/parameters/nested": "Y\n",
    "sys/bus/pci/devices/0000:00:02.0/vendor": "0x8086\n",
    "sys/bus/pci/devices/0000:00:02.0/device": "0x1572\n",
    "sys/bus/pci/devices/0000:01:00.0/vendor": "0x10DE\n",
    "sys/bus/pci/devices/0000:01:00.0/device": "0x1B80\n",
    "dev/kvm": "",
    "usr/bin/qemu-system-x86_64": "#!/bin/sh\necho 'QEMU emulator version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u18)'\n"
        + "echo 'Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers'\n",
    "usr/bin/qemu-img": "#!/bin/sh\necho 'qemu-img version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)'\n",
    "usr/bin/qemu-system-aarch64": "#!/bin/sh\nexit 1\n",
    "usr/bin/gdb": "#!/bin/sh\n",
    "usr/bin/notexec": "",
]

func probe(_ tree: TemporaryTree, uid: UInt32 = 1000) -> HostProbe {
    HostProbe(root: tree.path, effectiveUserID: uid, path: ["/usr/bin", "/missing/bin"])
}

func value(_ lookup: FactLookup) -> String?? {
    if case .present(let fact) = lookup { return .some(fact.value) }
    return nil
}

@Suite("Host probes on fixture trees")
struct HostProbeTests {
    let tree: TemporaryTree

    init() throws {
        tree = try TemporaryTree(debianHost, executables: ["usr/bin/qemu-system-x86_64", "usr/bin/qemu-img", "usr/bin/qemu-system-aarch64", "usr/bin/gdb"])
    }

    @Test("fact values", arguments: [
        ("kernel", "6.1.0-13-amd64"),
        ("arch", "x86_64"),
        ("os", "debian"),
        ("os-version", "12"),
        ("cpus", "7"),
        ("memory", "16707186688"),
        ("virtualized", "vm:QEMU"),
        ("qemu", "7.2.9"),
        ("qemu-system-x86_64", "7.2.9"),
        ("qemu-img", "8.2.2"),
        ("kconfig:CONFIG_KVM", "m"),
        ("kconfig:CONFIG_VIRTIO", "y"),
        ("module:kvm", "loaded"),
        ("module:kvm-intel", "loadable"),
        ("module:kvm_intel", "loadable"),
        ("module:virtio", "builtin"),
        ("file:/sys/module/kvm/parameters/nested", "Y"),
    ])
    func values(name: String, expected: String) {
        #expect(value(probe(tree).lookup(name)) == .some(expected))
    }

    @Test("flags that are present", arguments: ["cpu-flag:vmx", "cpu-flag:avx2", "cmd:gdb", "cmd:qemu-img", "pci:8086:1572", "pci:10de:1b80", "pci:10DE:1B80"])
    func present(name: String) {
        #expect(probe(tree).lookup(name).fact != nil)
    }

    @Test("absent facts say why", arguments: [
        ("root", "testbed runs as uid 1000, not root"),
        ("cpu-flag:svm", "this host's CPU has no svm flag"),
        ("cmd:virsh", "virsh is not on PATH"),
        ("cmd:notexec", "notexec is not on PATH"),
        ("kconfig:CONFIG_XEN", "CONFIG_XEN is not set in /boot/config-6.1.0-13-amd64"),
        ("module:nvidia", "module nvidia is neither built in nor in /lib/modules/6.1.0-13-amd64"),
        ("pci:8086:0000", "no PCI device 8086:0000 on this host"),
        ("file:/etc/missing", "/etc/missing is not readable on this host"),
        ("qemu-system-aarch64", "`/usr/bin/qemu-system-aarch64 --version` printed no version (exit 1)"),
        ("qemu-system-ppc64", "qemu-system-ppc64 is not on PATH"),
        ("DELL_R420", "DELL_R420 is not present on this host"),
        ("kernal", "kernal is not present on this host; did you mean kernel?"),
        ("cpuflag:vmx", "cpuflag:vmx is not present on this host; did you mean cpu-flag:vmx?"),
    ])
    func absent(name: String, reason: String) {
        #expect(probe(tree).lookup(name) == .absent(reason: reason))
    }

    @Test("env:NAME is a variable of Testbed's own environment; unset or empty, it is absent")
    func environmentVariable() throws {
        let path = try #require(ProcessInfo.processInfo.environment["PATH"])
        #expect(value(probe(tree).lookup("env:PATH")) == .some(path))
        #expect(probe(tree).lookup("env:TESTBED_NO_SUCH_VARIABLE_SET") == .absent(reason: "TESTBED_NO_SUCH_VARIABLE_SET is not set in testbed's environment"))
        #expect(HostProbe.isBuiltIn("env:ACCEL"))
    }

    @Test("root is present for uid 0")
    func root() {
        #expect(probe(tree, uid: 0).lookup("root").fact?.name == "root")
    }

    @Test("a /dev/kvm that is not the KVM device does not count as kvm")
    func kvmFile() {
        guard case .absent(let reason) = probe(tree).lookup("kvm") else {
            Issue.record("a plain file passed for /dev/kvm")
            return
        }
        #expect(reason.contains("/dev/kvm does not answer KVM_GET_API_VERSION"))
    }

    @Test("no /dev/kvm at all")
    func noKVM() throws {
        let bare = try TemporaryTree(["proc/sys/kernel/osrelease": "5.10.0\n"])
        #expect(probe(bare).lookup("kvm") == .absent(reason: "this host has no /dev/kvm"))
    }

    @Test("qemu follows the architecture")
    func qemuForArch() throws {
        let arm = try TemporaryTree([
            "proc/sys/kernel/arch": "aarch64\n",
            "usr/bin/qemu-system-aarch64": "#!/bin/sh\necho 'QEMU emulator version 8.2.1'\n",
        ], executables: ["usr/bin/qemu-system-aarch64"])
        #expect(value(probe(arm).lookup("qemu")) == .some("8.2.1"))
        let none = try TemporaryTree(["proc/sys/kernel/arch": "x86_64\n"])
        #expect(probe(none).lookup("qemu") == .absent(reason: "qemu is not installed on this host (qemu-system-x86_64 is not on PATH)"))
    }

    @Test("containers: dockerenv, containerenv, cgroup, container= in pid 1's environment", arguments: [
        (["/.dockerenv": ""], "container:docker"),
        (["run/.containerenv": ""], "container:podman"),
        (["proc/1/environ": "HOME=/\u{0}container=lxc\u{0}"], "container:lxc"),
        (["proc/1/cgroup": "0::/kubepods/burstable/pod1234\n"], "container:kubepods"),
    ])
    func containers(files: [String: String], expected: String) throws {
        let tree = try TemporaryTree(files.reduce(into: [:]) { $0[String($1.key.drop(while: { $0 == "/" }))] = $1.value })
        #expect(value(probe(tree).lookup("virtualized")) == .some(expected))
    }

    @Test("bare metal is not virtualized")
    func bareMetal() throws {
        let tree = try TemporaryTree(["proc/cpuinfo": "flags\t: fpu vmx\n", "sys/class/dmi/id/sys_vendor": "Dell Inc.\n"])
        #expect(probe(tree).lookup("virtualized") == .absent(reason: "this host is not a VM or container"))
    }

    @Test("an arm64 host lists Features as CPU flags; a CPU list without ranges counts each")
    func armFlags() throws {
        let tree = try TemporaryTree([
            "proc/cpuinfo": "processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n",
            "sys/devices/system/cpu/online": "0\n",
        ])
        #expect(probe(tree).lookup("cpu-flag:asimd").fact != nil)
        #expect(value(probe(tree).lookup("cpus")) == .some("1"))
    }

    /// Writes `config` gzipped as the tree's /proc/config.gz.
    func writeConfigGz(_ config: String, in tree: TemporaryTree) throws {
        let plain = tree["config"]
        try Data(config.utf8).write(to: URL(fileURLWithPath: plain))
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-f", plain]
        try gzip.run()
        gzip.waitUntilExit()
        try FileManager.default.createDirectory(atPath: tree["proc"], withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: plain + ".gz", toPath: tree["proc/config.gz"])
    }

    @Test("kernel config from /proc/config.gz when /boot has none")
    func configGz() throws {
        let tree = try TemporaryTree(["proc/sys/kernel/osrelease": "6.6.0-custom\n"])
        try writeConfigGz("CONFIG_KVM=y\nCONFIG_VHOST_NET=m\n", in: tree)
        #expect(value(probe(tree).lookup("kconfig:CONFIG_VHOST_NET")) == .some("m"))
        #expect(value(probe(tree).lookup("kconfig:CONFIG_KVM")) == .some("y"))
        #expect(probe(tree).lookup("kconfig:KVM") == .absent(reason:
            "KVM is not set in /proc/config.gz; options are named with their prefix: write kconfig:CONFIG_KVM"))
    }

    @Test("a kernel config larger than 64 KiB is read whole from /proc/config.gz")
    func bigConfigGz() throws {
        let tree = try TemporaryTree(["proc/sys/kernel/osrelease": "6.6.0-custom\n"])
        // ~300 KB, as a distribution kernel's config: the option asked for comes last.
        let filler = (0..<10_000).map { "CONFIG_FILLER_OPTION_NUMBER_\($0)=y\n" }.joined()
        try writeConfigGz(filler + "CONFIG_LAST_OPTION=m\n", in: tree)
        #expect(value(probe(tree).lookup("kconfig:CONFIG_LAST_OPTION")) == .some("m"))
        #expect(probe(tree).allFacts().first { $0.name == "kconfig:*" }?.value == "10001 options set")
    }

    @Test("CPU lists", arguments: [("0-3", 4), ("0", 1), ("0-3,8,10-11", 7), ("0,2,4", 3)])
    func cpuList(list: String, count: Int) {
        #expect(HostProbe.countCPUList(list) == count)
    }

    @Test("allFacts lists the fixed facts, CPU flags and PCI devices")
    func all() {
        let names = Set(probe(tree).allFacts().map(\.name))
        for name in ["kernel", "arch", "os", "os-version", "cpus", "memory", "virtualized", "qemu", "qemu-img",
                     "qemu-system-x86_64", "cpu-flag:vmx", "pci:10de:1b80", "kconfig:*", "module:*"] {
            #expect(names.contains(name), "\(name)")
        }
        #expect(!names.contains("root"))
    }

    @Test("the real host answers the facts every Linux machine has")
    func realHost() {
        let host = HostProbe()
        for name in ["kernel", "arch", "cpus", "memory"] {
            #expect(host.lookup(name).fact?.value?.isEmpty == false, "\(name)")
        }
        #expect(host.lookup("cmd:sh").fact != nil)
    }
}
