import Foundation
import Testing
import TestSupport

@Suite("hostile inputs: nothing misread in silence", .serialized)
struct SilentMisreadTests {
    /// A drop-in whose header line starts before byte 8192 and ends after it.
    static func straddling(_ line: String, before: Int = 20) -> String {
        let start = "#!/bin/sh\n"
        let filler = "#" + String(repeating: "x", count: 8192 - before - start.utf8.count - 2) + "\n"
        return start + filler + line + "\nexit 0\n"
    }

    @Test("a header line cut by the 8 KiB window: exit 65 naming file:line and the fix, not `kernel >= 6`")
    func cutHeaderLine() throws {
        let line = "# testbed-requires: kernel >= 60"
        let tree = try TemporaryTree([
            "cut.sh": Self.straddling(line, before: 31),        // the window ends after `kernel >= 6`
            "key.sh": Self.straddling("# testbed-tags: x", before: 7), // cut inside the key
            "fits.sh": Self.straddling("# testbed-tags: x", before: 18), // ends at byte 8192 with its newline
            "comment.sh": "#!/bin/sh\n# testbed-tags: y\n" + String(Self.straddling("# a comment, not a header line").dropFirst(10)),
        ], executables: ["cut.sh", "key.sh", "fits.sh", "comment.sh"])
        let result = try boundedTestbed(["check", "."], in: tree.path).result
        #expect(result.status == 65)
        let fix = "does not end within the first 8192 bytes, all that is read of a file for its header, so it would be read cut; "
            + "move the testbed- lines to the top of the file, or shorten this one"
        #expect(result.stderr == """
            testbed: error: cut.sh:3: the header line `testbed-requires` \(fix)
            testbed: error: key.sh:3: the header line `testbed-tags` \(fix)

            """, "\(result.stderr)")
        // Fixed by moving it to the top, it is read whole.
        try tree.write("cut.sh", "#!/bin/sh\n\(line)\nexit 0\n", executable: true)
        try tree.write("key.sh", "#!/bin/sh\n# testbed-tags: x\nexit 0\n", executable: true)
        let fixed = try boundedTestbed(["check", "--json", "."], in: tree.path).result
        #expect(fixed.status == 0, "\(fixed.stderr)")
        let tests = try #require(try fixed.json()["tests"] as? [[String: Any]])
        #expect(tests.map { $0["id"] as? String } == ["/comment.sh", "/cut.sh", "/fits.sh", "/key.sh"])
        let unmet = try #require(tests[1]["unmet"] as? [[String: String]])
        #expect(unmet.first?["requirement"] == "kernel >= 60")
    }

    /// How to run testbed without the power to read what its mode forbids:
    /// as root, without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv); as
    /// anyone else, directly. Nil as root without setpriv.
    static let unprivileged: [String]? = {
        guard geteuid() == 0 else { return [] }
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        return setpriv.map { [$0, "--bounding-set=-dac_override,-dac_read_search"] }
    }()

    @Test("a directory of a suite that cannot be read or searched: exit 65 naming it, as for an unreadable testbed.yaml",
          .enabled(if: unprivileged != nil, "root without setpriv: chmod does not stop root"),
          arguments: [(0o000, "read"), (0o100, "read"), (0o400, "searched")])
    func unreadableDirectory(mode: Int, what: String) throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  top: 'true'\n",
            "locked/testbed.yaml": "tests:\n  hidden: 'true'\n",
            "locked/t.sh": "#!/bin/sh\n# testbed-tags: x\nexit 0\n",
            "open/testbed.yaml": "tests:\n  seen: 'true'\n",
        ], executables: ["locked/t.sh"])
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: tree["locked"])
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree["locked"]) }
        let result = try boundedTestbed(["check", "."], in: tree.path, launcher: Self.unprivileged ?? []).result
        #expect(result.status == 65, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr == "testbed: error: locked: is a directory that cannot be \(what) (Permission denied), so the tests "
            + "in it cannot be found; make it readable (chmod a+rx), or move it out of the suite\n", "\(result.stderr)")
    }

    @Test("a FIFO named as a test, as a testbed.yaml or as an environment file: exit 65 at once, never opened blocking")
    func fifos() throws {
        let tree = try TemporaryTree(["suite/testbed.yaml": "tests:\n  a: 'true'\n"])
        try tree.directory("lonely")
        for fifo in ["fifo", "suite/fifo.sh", "suite/pipe.sh", "lonely/testbed.yaml", "env.yaml"] {
            #expect(mkfifo(tree[fifo], 0o755) == 0)
        }
        let cases: [([String], String)] = [
            (["run", "./fifo"], "./fifo: is a FIFO, not a regular file, so it cannot run as a test; "
                + "name an executable file, a suite directory or a testbed.yaml"),
            (["check", "fifo"], "fifo: is a FIFO, not a regular file, so it cannot run as a test; "
                + "name an executable file, a suite directory or a testbed.yaml"),
            (["check", "suite/fifo.sh"], "suite/fifo.sh: is a FIFO, not a regular file, so it cannot run as a test; "
                + "name an executable file, a suite directory or a testbed.yaml"),
            (["check", "lonely"], "lonely/testbed.yaml: is a FIFO, not a regular file; make it a YAML file, or remove it"),
            (["check", "-e", "env.yaml", "suite"], "env.yaml: is a FIFO, not a regular file; name a YAML file"),
        ]
        for (arguments, message) in cases {
            let (result, seconds) = try boundedTestbed(arguments, in: tree.path, deadline: 20)
            #expect(result.status == 65, "\(arguments): \(result.stderr)")
            #expect(result.stderr == "testbed: error: \(message)\n", "\(arguments)")
            #expect(seconds < 10)
        }
        // Executable FIFOs met while walking a suite are not tests, and never opened.
        let walked = try boundedTestbed(["check", "suite"], in: tree.path, deadline: 20).result
        #expect(walked.status == 0 && walked.stdout.contains("runnable (1)\n  /a\n"), "\(walked.stdout)\(walked.stderr)")
    }
}
