@testable import Execution
import Foundation
import GRDB
import HostFacts
@testable import Requirements
@testable import Results
import TestSupport
import Testing

/// A snapshot of a host with two packages; `libvirt0` at `libvirt`.
func sampleSnapshot(libvirt: String = "9.0.0-4") -> RunSnapshot {
    RunSnapshot(facts: ["kernel": "6.1.0-13", "cpu-flag:vmx": ""], kernelCommandLine: "BOOT_IMAGE=/vmlinuz ro quiet",
                modules: ["kvm_intel", "kvm"], packages: ["libvirt0": libvirt, "qemu-system-x86": "1:8.2.2"],
                packageManager: "dpkg", binaries: ["qemu-src": "9.1.0"])
}

/// Records one whole run of `sampleInfo` with `provenance` (started at `started`, else `sampleInfo`'s time).
func recordRun(_ store: SQLiteRunStore, id: String, at directory: String, provenance: RunProvenance, started: Date? = nil) async {
    let sample = sampleInfo(directory, id: id)
    var info = RunInfo(id: id, environment: sample.environment, started: started ?? sample.started, directory: directory,
                       tests: sample.tests, decided: sample.decided, facts: sample.facts, jobs: sample.jobs)
    info.host = provenance.host
    info.machineID = provenance.machineID
    info.snapshot = provenance.snapshot
    info.labels = provenance.labels
    info.suiteCommit = provenance.suiteCommit
    info.suiteDirty = provenance.suiteDirty
    let recorder = store.recorder(runID: id)
    await recorder.record(.started(info))
    await recorder.record(.finished(sampleSummary(info)))
}

/// How many snapshot rows the database in `directory` holds.
func snapshotRows(_ directory: String) throws -> Int {
    try openDatabase(directory).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM snapshot") } ?? -1
}

/// The stored body of snapshot `hash` in the database in `directory`.
func snapshotBody(_ directory: String, _ hash: String) throws -> String? {
    try openDatabase(directory).read { try String.fetchOne($0, sql: "SELECT body FROM snapshot WHERE hash = ?", arguments: [hash]) }
}

/// The run row's `labels` and `counts` as stored.
func storedLabelsAndCounts(_ directory: String, _ id: String) throws -> (String?, String?) {
    let row = try openDatabase(directory).read { try Row.fetchOne($0, sql: "SELECT labels, counts FROM run WHERE id = ?", arguments: [id]) }
    return (row?["labels"], row?["counts"])
}

@Suite("Snapshots, host and labels in the store")
struct SnapshotStoreTests {
    let provenance = RunProvenance(host: "lab-r420", machineID: "0123456789abcdef0123456789abcdef", snapshot: sampleSnapshot(),
                                   labels: ["qemu": "9.1.0-rc2", "build": "abc123"],
                                   suiteCommit: "2ec0cf9a1b2c3d4e5f60718293a4b5c6d7e8f901", suiteDirty: true)

    @Test("a run's host, machine id, labels, suite revision, snapshot hash and counts read back")
    func readBack() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        await recordRun(store, id: "r1", at: tree.path, provenance: provenance)
        let run = try store.report("r1").run
        #expect(run.host == "lab-r420")
        #expect(run.machineID == "0123456789abcdef0123456789abcdef")
        #expect(run.labels == ["qemu": "9.1.0-rc2", "build": "abc123"])
        #expect(run.suiteCommit == "2ec0cf9a1b2c3d4e5f60718293a4b5c6d7e8f901")
        #expect(run.suiteDirty == true)
        #expect(run.snapshot == sampleSnapshot().hash)
        #expect(run.snapshot?.count == 64)
        let counts = try #require(run.counts)
        #expect(counts == [.fail: 1, .pass: 2, .unsupported: 1])
        let (labels, storedCounts) = try storedLabelsAndCounts(tree.path, "r1")
        #expect(labels == #"{"build":"abc123","qemu":"9.1.0-rc2"}"#)
        #expect(storedCounts == #"{"fail":1,"pass":2,"unsupported":1}"#)
    }

    @Test("a run without provenance: NULLs, empty labels, no snapshot row")
    func bare() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        await recordRun(store, id: "r1", at: tree.path, provenance: RunProvenance())
        let run = try store.report("r1").run
        #expect(run.host == nil)
        #expect(run.labels.isEmpty)
        #expect(run.suiteDirty == nil)
        #expect(run.snapshot == nil)
        #expect(try snapshotRows(tree.path) == 0)
        #expect(try storedLabelsAndCounts(tree.path, "r1").0 == "{}")
    }

    @Test("identical snapshots are stored once; a changed package makes a second")
    func dedup() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        await recordRun(store, id: "r1", at: tree.path, provenance: provenance)
        var other = provenance
        other.labels = ["qemu": "9.1.0"]
        await recordRun(store, id: "r2", at: tree.path, provenance: other)
        #expect(try snapshotRows(tree.path) == 1)
        #expect(try store.report("r1").run.snapshot == store.report("r2").run.snapshot)
        other.snapshot = sampleSnapshot(libvirt: "9.0.0-5")
        await recordRun(store, id: "r3", at: tree.path, provenance: other)
        #expect(try snapshotRows(tree.path) == 2)
        let hash = try #require(try store.report("r3").run.snapshot)
        #expect(hash != (try store.report("r1").run.snapshot))
        let body = try #require(try snapshotBody(tree.path, hash))
        #expect(RunSnapshot.decode(body) == sampleSnapshot(libvirt: "9.0.0-5"))
        #expect(RunSnapshot.hash(of: body) == hash)
    }

    @Test("the stored body is canonical: equal snapshots give equal bytes whatever the order they were built in")
    func canonical() {
        let a = RunSnapshot(facts: ["b": "2", "a": "1"], modules: ["z", "a"], packages: ["p": "1", "o": "2"])
        let b = RunSnapshot(facts: ["a": "1", "b": "2"], modules: ["a", "z"], packages: ["o": "2", "p": "1"])
        #expect(a.canonicalJSON() == b.canonicalJSON())
        #expect(a.canonicalJSON().hasPrefix(#"{"binaries":{},"facts":{"a":"1","b":"2"},"kernel_command_line":null,"#))
        #expect(a.hash == b.hash)
        #expect(a.hash != RunSnapshot().hash)
        // Every text survives: quotes, backslashes, control characters, slashes, non-ASCII.
        let odd = RunSnapshot(facts: ["file:/etc/x": "a \"b\" \\c\u{1}\u{7F}\t\n", "é": "ü/ñ"], kernelCommandLine: "root=/dev/sda1 \"x\"",
                              modules: ["m"], packages: ["libc6:amd64": "2.36-9+deb12u4"], packageManager: "dpkg", binaries: ["q": "9"])
        #expect(RunSnapshot.decode(odd.canonicalJSON()) == odd)
        #expect(RunSnapshot.decode(odd.prettyJSON()) == odd)
        #expect(odd.canonicalJSON().contains(#""root=/dev/sda1 \"x\"""#))
        #expect(!odd.canonicalJSON().contains("\n"), "one line")
        #expect(odd.prettyJSON().hasPrefix("{\n  \"binaries\" : {\n    \"q\" : \"9\"\n  },\n  \"facts\" : {\n"))
    }
}

@Suite("Schema v3 migration")
struct SchemaV3MigrationTests {
    @Test("a v2 database opens as v3: runs kept, finished runs get their counts, unfinished keep none")
    func backfill() throws {
        let tree = try TemporaryTree()
        do {
            let old = try DatabaseQueue(path: tree["testbed.sqlite"])
            try SQLiteRunStore.migrator.migrate(old, upTo: "v2")
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO run (id, environment, started, finished, exit_code, complete, directory, jobs)
                        VALUES ('old1', 'local', 1700000000, 1700000003, 1, 1, '/r/old1', 2);
                    INSERT INTO run (id, environment, started, directory, jobs) VALUES ('old2', 'local', 1700000010, '/r/old2', 2);
                    INSERT INTO test_result (run_id, position, id, outcome) VALUES
                        ('old1', 0, '/a', 'pass'), ('old1', 1, '/b', 'fail'), ('old1', 2, '/c', 'pass'), ('old1', 3, '/d', 'pending'),
                        ('old2', 0, '/a', 'pass'), ('old2', 1, '/b', 'pending');
                    """)
            }
        }
        let store = try SQLiteRunStore(directory: tree.path, create: false)
        #expect(try store.runs().map(\.id) == ["old2", "old1"])
        let old1 = try store.report("old1")
        #expect(old1.run.counts == [.pass: 2, .fail: 1, .interrupted: 1])
        #expect(old1.run.host == nil)
        #expect(old1.run.labels.isEmpty)
        #expect(old1.tests.map(\.outcome) == [.pass, .fail, .pass, .interrupted])
        // Unfinished: no counts in its row (the migration backfills finished runs only); read back, its results are counted.
        let old2 = try store.report("old2")
        #expect(old2.run.counts == RunReport.counts(of: old2.tests))
        #expect(try openDatabase(tree.path).read { try Row.fetchOne($0, sql: "SELECT counts FROM run WHERE id = 'old2'")?["counts"] as String? } == nil)
        let applied = try openDatabase(tree.path).read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(applied == ["v1", "v2", "v3", "v4", "v5", "v6", "v7"])
        let tables = try openDatabase(tree.path).read {
            try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name")
        }
        for name in ["snapshot", "test_attempt", "run_by_host"] { #expect(tables.contains(name), "\(name)") }
    }
}
