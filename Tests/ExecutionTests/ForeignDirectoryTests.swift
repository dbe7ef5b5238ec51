@testable import Catalog
@testable import Declarations
@testable import Execution
import Foundation
@testable import HostFacts
@testable import Planning
@testable import ProcessSupervision
@testable import Requirements
import TestSupport
import Testing

/// Runs `/bin/mount ARGS` (root only); whether it succeeded.
private func mountCommand(_ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/mount")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// Whether this machine lets the tests bind-mount a directory (root, and a
/// container that allows mounts): tried once.
private let bindMountable: Bool = {
    guard geteuid() == 0, let tree = try? TemporaryTree() else { return false }
    guard (try? tree.directory("a")) != nil, (try? tree.directory("b")) != nil,
          mountCommand(["--bind", tree["b"], tree["a"]]) else { return false }
    _ = umount2(tree["a"], Int32(MNT_DETACH))
    return true
}()

/// The source `findmnt` shows for the mount at `point` (`/dev/vda[/tmp/x]`).
private func findmntSource(_ point: String) -> String? {
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/findmnt")
    process.arguments = ["-n", "-o", "SOURCE", "--mountpoint", point]
    process.standardOutput = pipe
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return process.terminationStatus == 0 && !text.isEmpty ? text : nil
}

private func fileType(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & S_IFMT
}

@Suite("directories Testbed did not make: moved aside, or never written into", .serialized)
struct ForeignDirectoryTests {
    @Test("mountinfo's octal escapes are decoded")
    func unescape() {
        #expect(HeldDirectory.unescape("/tmp/a\\040b\\011c\\134d") == "/tmp/a b\tc\\d")
        #expect(HeldDirectory.unescape("/plain") == "/plain")
        #expect(HeldDirectory.unescape("/short\\04") == "/short\\04")
    }

    @Test("a directory a step put in place of tests/ is moved aside (tests.foreign, then tests.foreign-2), never written into")
    func plainDirectoryMovedAside() throws {
        let tree = try TemporaryTree()
        try tree.directory("results/run")
        let layout = try RunLayout(directory: tree["results/run"])
        #expect(layout.openDirectory("tests/a").descriptor >= 0)
        try FileManager.default.removeItem(atPath: tree["results/run/tests"])
        try tree.write("results/run/tests/b/theirs", "theirs\n")
        try tree.write("results/run/tests.foreign/taken", "taken\n")
        let (log, failure) = layout.openDirectory("tests/b").createLog("output.log")
        #expect(failure == nil && log != nil)
        log?.append("mine\n")
        #expect(try String(contentsOfFile: tree["results/run/tests/b/output.log"], encoding: .utf8) == "mine\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["results/run/tests/b"]) == ["output.log"])
        #expect(try String(contentsOfFile: tree["results/run/tests.foreign-2/b/theirs"], encoding: .utf8) == "theirs\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["results/run/tests.foreign-2/b"]) == ["theirs"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["results/run/tests.foreign"]) == ["taken"])
        #expect(layout.results.takeRepairs().map(\.warning) == [
            "the directory \(tree["results/run"])/tests was deleted and another directory put in its place during the run; Testbed "
                + "moved that one to \(tree["results/run/tests.foreign-2"]) (it does not write into a directory put in the place of "
                + "one it made) and made its own again (the logs written in it before are lost)",
        ])
        #expect(layout.intact)
    }

    @Test("a bind mount over tests/ (same filesystem, same st_dev): refused with the mount named, logged once, used again once unmounted",
          .enabled(if: bindMountable, "needs root and a machine that allows bind mounts"))
    func bindMountOverTop() throws {
        let tree = try TemporaryTree(["outside/target/keep": "theirs\n"])
        try tree.directory("results/run")
        defer { _ = umount2(tree["results/run/tests"], Int32(MNT_DETACH)) }
        let layout = try RunLayout(directory: tree["results/run"])
        #expect(layout.openDirectory("tests/a").createLog("output.log").failure == nil)
        #expect(mountCommand(["--bind", tree["outside/target"], tree["results/run/tests"]]))
        var outside = stat()
        var run = stat()
        #expect(stat(tree["outside/target"], &outside) == 0 && stat(tree["results/run"], &run) == 0 && outside.st_dev == run.st_dev)
        let source = try #require(findmntSource(tree["results/run/tests"]))
        let refusal = "the directory tests in the run directory is covered by a mount of \(source), which Testbed does not write into"
        for id in ["b", "c"] {
            let step = layout.openDirectory("tests/\(id)")
            #expect(step.descriptor == -1 && step.failure == refusal)
            #expect(step.createLog("output.log").failure == "tests/\(id)/output.log cannot be written: " + refusal)
        }
        #expect(layout.intact, "a mount already refused is nothing to repair")
        layout.verify()
        #expect(layout.results.takeRepairs().map(\.warning) == [
            "the directory \(tree["results/run"])/tests was covered by a mount of \(source) during the run; Testbed does not write "
                + "into a directory put in the place of one it made: nothing more is written there while that mount is there (the "
                + "steps whose output belongs there do not keep it, their reasons say so; the logs written in it before are under the mount)",
        ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside/target"]) == ["keep"])
        #expect(umount2(tree["results/run/tests"], Int32(MNT_DETACH)) == 0)
        // Its own directory again, as it was: the log written before the mount, and the next one.
        let (log, failure) = layout.openDirectory("tests/d").createLog("output.log")
        #expect(failure == nil && log != nil)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: tree["results/run/tests"])) == ["a", "d"])
        #expect(layout.results.takeRepairs().isEmpty)
    }

    @Test("a directory below tests/ that is a mount (a step's mkdir + mount --bind) is never written into; its name is in the failure",
          .enabled(if: bindMountable, "needs root and a machine that allows bind mounts"))
    func bindMountBelowTop() throws {
        let tree = try TemporaryTree(["outside/target/keep": "theirs\n"])
        try tree.directory("results/run/tests/b")
        defer { _ = umount2(tree["results/run/tests/b"], Int32(MNT_DETACH)) }
        let layout = try RunLayout(directory: tree["results/run"])
        #expect(mountCommand(["--bind", tree["outside/target"], tree["results/run/tests/b"]]))
        let source = try #require(findmntSource(tree["results/run/tests/b"]))
        let step = layout.openDirectory("tests/b/deeper")
        #expect(step.descriptor == -1 && step.failure == "tests/b is a mount of \(source), which Testbed does not write into")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside/target"]) == ["keep"])
        #expect(fileType(tree["results/run/tests/c"]) == nil)
        #expect(layout.openDirectory("tests/c").descriptor >= 0)
        #expect(layout.results.takeRepairs().isEmpty)
    }
}
