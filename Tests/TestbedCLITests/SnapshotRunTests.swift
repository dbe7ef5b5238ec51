import Foundation
import Testing
import TestSupport

/// Runs `git` in `directory` with an identity; true when it exited 0.
@discardableResult
func gitIn(_ directory: String, _ arguments: [String]) throws -> Bool {
    try testbed(["-c", "user.name=Testbed", "-c", "user.email=testbed@localhost", "-C", directory] + arguments,
                in: directory, executable: "/usr/bin/git").status == 0
}

/// A one-test suite in a git repository, with an environment whose package list is a fixture file.
let snapshotSuite: [String: String] = [
    "suite/testbed.yaml": "tests:\n  one: 'true'\n",
    "env/lab.yaml": "facts:\n  kernel: 6.1.0-13-amd64\npackages: cat packages.txt\n",
    "env/packages.txt": "libvirt0\t9.0.0-4\nqemu-system-x86 1:8.2.2\n",
]

@Suite("Run snapshots, host and labels, end to end", .serialized)
struct SnapshotRunTests {
    @Test("run --label … -e env.yaml: report --json and text show labels, host, machine id, suite commit; snapshot.json holds the packages")
    func labelsAndSnapshot() throws {
        let tree = try TemporaryTree(snapshotSuite)
        try #require(try gitIn(tree.path, ["init", "-q"]))
        try #require(try gitIn(tree.path, ["add", "suite"]))
        try #require(try gitIn(tree.path, ["commit", "-q", "-m", "suite"]))
        let head = try testbed(["-C", tree.path, "rev-parse", "HEAD"], in: tree.path, executable: "/usr/bin/git").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // env/ is untracked: the work tree is dirty.
        let run = try testbed(["run", "suite", "--label", "qemu=9.1", "--label", "build=abc123", "-e", "env/lab.yaml"], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("labels: build=abc123 qemu=9.1\n"))
        let r = try report(tree.path, ["--results", "suite/testbed-results"])
        #expect(r.run["labels"] as? [String: String] == ["qemu": "9.1", "build": "abc123"])
        #expect((r.run["host"] as? String)?.isEmpty == false)
        #expect(r.run["suite_commit"] as? String == head)
        #expect(r.run["suite_dirty"] as? Bool == true)
        let hash = try #require(r.run["snapshot"] as? String)
        #expect(hash.count == 64 && hash.allSatisfy(\.isHexDigit))
        if let id = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !id.isEmpty {
            #expect(r.run["machine_id"] as? String == id)
        }
        let text = try testbed(["report", "--results", "suite/testbed-results"], in: tree.path)
        #expect(text.stdout.contains("labels: build=abc123 qemu=9.1\n"))
        let data = try #require(FileManager.default.contents(atPath: tree["suite/testbed-results/latest/snapshot.json"]))
        let snapshot = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(snapshot["packages"] as? [String: String] == ["libvirt0": "9.0.0-4", "qemu-system-x86": "1:8.2.2"])
        #expect(snapshot["package_manager"] as? String == "command")
        #expect((snapshot["facts"] as? [String: String])?["kernel"] == "6.1.0-13-amd64")
        // Committed, the work tree is clean: the results directory in it does not count.
        try #require(try gitIn(tree.path, ["add", "env"]))
        try #require(try gitIn(tree.path, ["commit", "-q", "-m", "env"]))
        #expect(try testbed(["run", "suite", "-e", "env/lab.yaml"], in: tree.path).status == 0)
        let clean = try report(tree.path, ["--results", "suite/testbed-results"])
        #expect(clean.run["suite_dirty"] as? Bool == false)
        #expect(clean.run["labels"] as? [String: String] == [:])
        #expect(clean.run["snapshot"] as? String == hash, "the same host state: the same snapshot")
    }

    @Test("a changed package makes another snapshot; packages: none records none")
    func snapshotChanges() throws {
        let tree = try TemporaryTree(snapshotSuite)
        #expect(try testbed(["run", "suite", "-e", "env/lab.yaml"], in: tree.path).status == 0)
        let first = try report(tree.path, ["--results", "suite/testbed-results"]).run["snapshot"] as? String
        try tree.write("env/packages.txt", "libvirt0\t9.0.0-5\nqemu-system-x86 1:8.2.2\n")
        #expect(try testbed(["run", "suite", "-e", "env/lab.yaml"], in: tree.path).status == 0)
        let second = try report(tree.path, ["--results", "suite/testbed-results"]).run
        #expect(second["snapshot"] as? String != first)
        #expect(second["suite_commit"] == nil, "not in git: no commit")
        #expect(second["suite_dirty"] == nil)
        try tree.write("env/lab.yaml", "packages: none\n")
        #expect(try testbed(["run", "suite", "-e", "env/lab.yaml"], in: tree.path).status == 0)
        let data = try #require(FileManager.default.contents(atPath: tree["suite/testbed-results/latest/snapshot.json"]))
        let snapshot = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(snapshot["packages"] as? [String: String] == [:])
    }

    @Test("a bad --label is a usage error (64) that says the fix; 128 under --exit-codes bisect")
    func badLabel() throws {
        let tree = try TemporaryTree(snapshotSuite)
        for (label, words) in [("qemu", "has no `=`; write KEY=VALUE"), ("=9.1", "the key is empty"),
                               ("q emu=1", "is not a label key; write a key of letters, digits, _ . and -")] {
            let result = try testbed(["run", "suite", "--label", label], in: tree.path)
            #expect(result.status == 64, "\(label)")
            #expect(result.stderr.contains(words), "\(label): \(result.stderr)")
        }
        let twice = try testbed(["run", "suite", "--label", "a=1", "--label", "a=2"], in: tree.path)
        #expect(twice.status == 64)
        #expect(twice.stderr.contains("--label a is given twice (1 and 2); give each key once"))
        #expect(try testbed(["run", "suite", "--label", "x", "--exit-codes", "bisect"], in: tree.path).status == 128)
        #expect(!FileManager.default.fileExists(atPath: tree["suite/testbed-results"]), "nothing ran")
    }
}
