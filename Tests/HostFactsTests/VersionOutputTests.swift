@testable import Declarations
@testable import HostFacts
@testable import Requirements
import Testing

/// What real tools print for their version, the names a probe binds it to
/// (the fact's name and the program's basename), and the version it carries.
/// Outputs marked "here" were printed on the Debian 12 machine these tests were
/// written on; the others are copied from the tools' documentation and bug reports.
let realVersionOutputs: [(output: String, names: [String], version: String)] = [
    // iproute2: the version is bound to its name, not the first number of the line (here).
    ("ip utility, iproute2-6.1.0, libbpf 1.1.2", ["iproute2", "ip"], "6.1.0"),
    ("ip utility, iproute2-6.1.0, libbpf 1.1.2", ["ip"], "6.1.0"),
    ("ip utility, iproute2-6.1.0, libbpf 1.1.2", [], "6.1.0"),
    ("ip utility, iproute2-6.1.0, libbpf 1.1.2", ["libbpf"], "1.1.2"),
    ("ip utility, iproute2-6.1.0, libbpf 1.1.2", ["libbpf", "ip"], "1.1.2"),
    ("ip utility, iproute2-v5.10.0-74-g2953235e, libbpf 0.3.0", ["iproute2", "ip"], "5.10.0-74-g2953235e"),
    ("ip utility, iproute2-5.15.0, libbpf 0.5.0", ["iproute", "ip"], "5.15.0"),
    // rpm -q: NAME-VERSION-RELEASE.ARCH; the architecture is dropped.
    ("libvirt-daemon-9.0.0-5.el9.x86_64", ["libvirt", "rpm"], "9.0.0-5.el9"),
    ("libvirt-daemon-9.0.0-5.el9.x86_64", ["rpm"], "9.0.0-5.el9"),
    ("libvirt-daemon-9.0.0-5.el9.aarch64\n", ["libvirt", "rpm"], "9.0.0-5.el9"),
    ("qemu-kvm-8.2.0-11.el9_4.x86_64", ["qemu", "rpm"], "8.2.0-11.el9_4"),
    ("qemu-kvm-core-8.2.0-11.el9_4.ppc64le", ["qemu", "rpm"], "8.2.0-11.el9_4"),
    ("edk2-ovmf-20230524-4.el9_3.noarch", ["edk2", "rpm"], "20230524-4.el9_3"),
    ("iproute-6.2.0-5.el9.s390x", ["iproute", "rpm"], "6.2.0-5.el9"),
    ("glibc-2.34-60.el9.i686", ["glibc", "rpm"], "2.34-60.el9"),
    ("bash-5.1.8-6.fc36.armv7hl", ["bash", "rpm"], "5.1.8-6.fc36"),
    // QEMU and libvirt
    ("QEMU emulator version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers",
     ["qemu", "qemu-system-x86_64"], "7.2.9"),
    ("QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)\nCopyright (c) 2003-2023 Fabrice Bellard", ["qemu-src", "qemu-system-x86_64"], "8.2.2"),
    ("QEMU emulator version 9.1.50 (v9.1.0-1234-gdeadbeef)\n", ["qemu", "qemu-system-x86_64"], "9.1.50"),
    ("qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers",
     ["qemu-img", "qemu-img"], "7.2.22"), // here
    ("9.0.0\n", ["libvirt", "virsh"], "9.0.0"),
    ("libvirtd (libvirt) 9.0.0", ["libvirt", "libvirtd"], "9.0.0"),
    ("Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\n",
     ["libvirt", "virsh"], "9.0.0"),
    // Debian package versions keep their epoch (dpkg-query -W -f='${Version}', here).
    ("1:7.2+dfsg-7+deb12u18+b3\n", ["qemu-deb", "dpkg-query"], "1:7.2+dfsg-7+deb12u18+b3"),
    ("2.36-9+deb12u14\n", ["libc6", "dpkg-query"], "2.36-9+deb12u14"),
    // Everyday tools, here.
    ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright (C) 2022 Free Software Foundation, Inc.", ["gcc", "gcc"], "12.2.0"),
    ("GNU gdb (Debian 13.1-3) 13.1\nCopyright (C) 2023 Free Software Foundation, Inc.\n"
        + "License GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>",
     ["gdb", "gdb"], "13.1"),
    ("Python 3.11.7", ["python3", "python3"], "3.11.7"),
    ("GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)\nCopyright (C) 2022 Free Software Foundation, Inc.\n"
        + "License GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>",
     ["bash", "bash"], "5.2.15"),
    ("git version 2.39.5", ["git", "git"], "2.39.5"),
    ("gzip 1.12\nCopyright (C) 2018 Free Software Foundation, Inc.", ["gzip", "gzip"], "1.12"),
    ("tar (GNU tar) 1.34\nCopyright (C) 2021 Free Software Foundation, Inc.\nLicense GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.",
     ["tar", "tar"], "1.34"),
    ("3.40.1 2022-12-28 14:03:47 df5c253c0b3dd24916e4ec7cf77d3db5294cc9fd45ae7b9c5e82ad8197f3alt1", ["sqlite3", "sqlite3"], "3.40.1"),
    ("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.19 zlib/1.2.13 brotli/1.0.9 zstd/1.5.4\n"
        + "Release-Date: 2023-02-20, security patched: 7.88.1-10+deb12u14",
     ["curl", "curl"], "7.88.1"),
    ("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.19 zlib/1.2.13 brotli/1.0.9 zstd/1.5.4", ["zlib", "curl"], "1.2.13"),
    ("OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)", ["openssl", "openssl"], "3.0.19"),
    ("Swift version 6.3.1 (swift-6.3.1-RELEASE)\nTarget: x86_64-unknown-linux-gnu", ["swift", "swift"], "6.3.1"),
    ("clang version 21.0.0 (https://github.com/swiftlang/llvm-project.git 11673e6660b2d0a5f9f99b1c7b773f4c2f6df1b0)\nTarget: x86_64-unknown-linux-gnu",
     ["clang", "clang"], "21.0.0"),
    ("ls (GNU coreutils) 9.1\nCopyright (C) 2022 Free Software Foundation, Inc.", ["ls", "ls"], "9.1"),
    ("ldd (Debian GLIBC 2.36-9+deb12u14) 2.36\nCopyright (C) 2022 Free Software Foundation, Inc.", ["glibc", "ldd"], "2.36"),
    ("GNU Make 4.3\nBuilt for x86_64-pc-linux-gnu\nCopyright (C) 1988-2020 Free Software Foundation, Inc.", ["make", "make"], "4.3"),
    ("Debian 'dpkg' package management program version 1.21.22 (amd64).\nThis is free software; see the GNU General Public License version 2 or",
     ["dpkg", "dpkg"], "1.21.22"),
    ("apt 2.6.1 (amd64)", ["apt", "apt"], "2.6.1"),
    ("xz (XZ Utils) 5.4.1\nliblzma 5.4.1", ["xz", "xz"], "5.4.1"),
    ("*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***", ["zstd", "zstd"], "1.5.4"),
    ("1.8.1", ["pkg-config", "pkg-config"], "1.8.1"),
    // From documentation.
    ("nginx version: nginx/1.22.1", ["nginx", "nginx"], "1.22.1"),
    ("openjdk version \"17.0.9\" 2023-10-17\nOpenJDK Runtime Environment (build 17.0.9+9-Debian-1deb12u1)", ["java", "java"], "17.0.9"),
    ("nftables v1.0.6 (Lester Gooch #5)", ["nft", "nft"], "1.0.6"),
    ("Dnsmasq version 2.89  Copyright (c) 2000-2022 Simon Kelley", ["dnsmasq", "dnsmasq"], "2.89"),
    ("TPM emulator version 0.8.0, Copyright (c) 2014-2022 IBM Corp.", ["swtpm", "swtpm"], "0.8.0"),
    ("mdadm - v4.2 - 2021-12-30", ["mdadm", "mdadm"], "4.2"),
    ("ovs-vsctl (Open vSwitch) 3.1.0\nDB Schema 8.3.1", ["openvswitch", "ovs-vsctl"], "3.1.0"),
]

@Suite("Version output of binaries")
struct VersionOutputTests {
    @Test("real outputs, with the names the version is bound to", arguments: realVersionOutputs)
    func real(output: String, names: [String], version: String) {
        #expect(VersionOutput.extract(from: output, names: names) == version)
    }

    /// Without names: `version X`, the first `word-VERSION`, the first dotted number, the first number.
    @Test(arguments: [
        ("QEMU emulator version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers", "7.2.9"),
        ("QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)\nCopyright (c) 2003-2023 Fabrice Bellard", "8.2.2"),
        ("QEMU emulator version 9.1.50 (v9.1.0-1234-gdeadbeef)\n", "9.1.50"),
        ("qemu-img version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022", "7.2.9"),
        ("9.0.0\n", "9.0.0"),
        ("10.0.0", "10.0.0"),
        ("libvirtd (libvirt) 9.0.0", "9.0.0"),
        ("GNU gdb (Debian 13.1-3) 13.1\nCopyright (C) 2023 Free Software Foundation, Inc.", "13.1"),
        ("Python 3.11.7", "3.11.7"),
        ("git version 2.39.5", "2.39.5"),
        ("tool v1.2.3, built today", "1.2.3"),
        ("\n\nversion: 4.5\n", "4.5"),
        ("ip utility, iproute2-6.1.0, libbpf 1.1.2", "6.1.0"),
        ("libvirt-daemon-9.0.0-5.el9.x86_64", "9.0.0-5.el9"),
        ("release 7", "7"),
    ])
    func extracts(output: String, version: String) {
        #expect(VersionOutput.extract(from: output) == version)
    }

    @Test("a version bound to a name wins over an earlier line's number")
    func boundAcrossLines() {
        let output = "built 2024-05-01 on 8 cores\nmytool 3.2.1\n"
        #expect(VersionOutput.extract(from: output) == "2024-05-01")
        #expect(VersionOutput.extract(from: output, names: ["mytool"]) == "3.2.1")
    }

    @Test("word-VERSION pairs split at the first - before a digit or v and a digit", arguments: [
        ("iproute2-6.1.0", "iproute2", "6.1.0"),
        ("iproute2-v5.10.0-74-g2953235e", "iproute2", "5.10.0-74-g2953235e"),
        ("libvirt-daemon-9.0.0-5.el9.x86_64", "libvirt-daemon", "9.0.0-5.el9.x86_64"),
        ("qemu-system-x86_64-8.2", "qemu-system-x86_64", "8.2"),
        ("virtiowin-2013-10-24", "virtiowin", "2013-10-24"),
    ])
    func splits(word: String, name: String, version: String) throws {
        let split = try #require(VersionOutput.splitNameVersion(word))
        #expect(split.name == name)
        #expect(split.version == version)
    }

    @Test("not word-VERSION pairs", arguments: ["2003-2022", "x86_64-pc-linux-gnu", "-v1.2", "GPLv3+", "iproute2-ss200127", "a-", "x"])
    func noSplit(word: String) {
        #expect(VersionOutput.splitNameVersion(word) == nil)
    }

    @Test(arguments: ["", "usage: tool [options]", "no digits here\n(1.2.3)"])
    func none(output: String) {
        #expect(VersionOutput.extract(from: output) == nil)
        #expect(VersionOutput.extract(from: output, names: ["tool"]) == nil)
    }
}
