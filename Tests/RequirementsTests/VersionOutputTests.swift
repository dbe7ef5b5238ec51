import Testing
@testable import Requirements

@Suite("Version output of binaries")
struct VersionOutputTests {
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
    ])
    func extracts(output: String, version: String) {
        #expect(VersionOutput.extract(from: output) == version)
    }

    @Test(arguments: ["", "usage: tool [options]", "no digits here\n(1.2.3)"])
    func none(output: String) {
        #expect(VersionOutput.extract(from: output) == nil)
    }
}
