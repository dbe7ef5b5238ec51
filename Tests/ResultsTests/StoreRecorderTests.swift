@testable import Execution
import Foundation
import GRDB
@testable import Requirements
@testable import Reporting
@testable import Results
import TestSupport
import Testing

/// The run of `sampleInfo`: /a fails, /b and /c pass, /u is unsupported.
func sampleResults() -> [TestResult] {
    [
        TestResult(id: "/a", outcome: .fail, duration: 1, exitStatus: 2, reason: "exit 2"),
        TestResult(id: "/b", outcome: .pass, duration: 0.5, exitStatus: 0),
        TestResult(id: "/c", outcome: .pass, duration: 0.1, exitStatus: 0),
    ]
}

func sampleSummary(_ info: RunInfo, interrupted: Bool = false) -> RunSummary {
    RunSummary(id: info.id, started: info.started, finished: info.started.addingTimeInterval(3),
               tests: sampleResults() + [TestResult(id: "/u", outcome: .unsupported, reason: "needs kvm")],
               setups: [], interrupted: interrupted, haltedBy: nil)
}

/// Opens the test's own connection to the results database (as another process would).
func openDatabase(_ directory: String) throws -> DatabaseQueue {
    try DatabaseQueue(path: directory + "/" + SQLiteRunStore.databaseName)
}

@Suite("Store recorder: nothing lost, nothing false", .serialized)
struct StoreRecorderTests {
    @Test("the exit code has one rule: recording trouble sets bit 2 (standard only; 130 and bisect keep theirs)")
    func exitCodeRule() {
        let info = sampleInfo("/r")
        let summary = sampleSummary(info)
        #expect(summary.exitCode(.standard, recordingFailed: false) == 1)
        #expect(summary.exitCode(.standard, recordingFailed: true) == 3)
        #expect(summary.exitCode(.bisect, recordingFailed: true) == 1)
        let interrupted = sampleSummary(info, interrupted: true)
        #expect(interrupted.exitCode(.standard, recordingFailed: true) == 130)
        let passing = RunSummary(id: "r1", started: info.started, finished: info.started, tests: [TestResult(id: "/b", outcome: .pass)],
                                 setups: [], interrupted: false, haltedBy: nil)
        #expect(passing.exitCode(.standard, recordingFailed: true) == 2)
        #expect(passing.exitCode(.bisect, recordingFailed: true) == 0)
    }

    @Test("a database written before recording_error existed opens, keeps its runs, and takes new ones")
    func oldDatabase() async throws {
        let tree = try TemporaryTree()
        // The v1 schema, and a run written as the code before v2 wrote it.
        do {
            let queue = try DatabasePool(path: tree.path + "/" + SQLiteRunStore.databaseName)
            try SQLiteRunStore.migrator.migrate(queue, upTo: "v1")
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO run (id, environment, started, finished, exit_code, complete, interrupted, directory, jobs)
                    VALUES ('old', 'lab', 1600000000, 1600000003, 1, 1, 0, '/results/old', 2);
                    INSERT INTO test_result (run_id, position, id, outcome, duration, exit_status, reason)
                    VALUES ('old', 0, '/a', 'fail', 1, 2, 'exit 2');
                    INSERT INTO fact (run_id, name, value, source) VALUES ('old', 'kernel', '6.1.0', 'uname -r');
                    """)
            }
            #expect(try queue.read { try Row.fetchAll($0, sql: "PRAGMA table_info(run)") }
                .contains { $0["name"] == "recording_error" } == false)
            try queue.close()
        }
        let store = try SQLiteRunStore(directory: tree.path)
        let old = try store.report("old")
        #expect(old.run.exitCode == 1)
        #expect(old.run.complete)
        #expect(old.run.recordingError == nil)
        #expect(old.tests.map(\.outcome) == [.fail])
        #expect(old.facts.map(\.value) == ["6.1.0"])

        let info = sampleInfo(tree.path, id: "new")
        let recorder = store.recorder(runID: "new")
        await recorder.record([.started(info)] + sampleResults().map { RunEvent.testFinished($0) })
        await recorder.record(.finished(sampleSummary(info)))
        #expect(recorder.outcome == RecordingOutcome(exitCode: 1, recordingError: nil, unrecorded: nil))
        #expect(try store.runs().map(\.id).sorted() == ["new", "old"])
        #expect(try store.report("new").run.recordingError == nil)
    }

    @Test("a database deleted between two batches is made again and the whole run written into it")
    func deletedDatabase() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree["results"])
        let info = sampleInfo(tree["results/r1"])
        try tree.directory("results/r1")
        // An earlier run, lost with the file.
        let earlier = store.recorder(runID: "r0")
        await earlier.record([.started(sampleInfo(tree["results/r0"], id: "r0")), .finished(sampleSummary(sampleInfo("", id: "r0")))])
        let recorder = store.recorder(runID: "r1")
        await recorder.record([.started(info), .testFinished(sampleResults()[0])])
        for suffix in ["", "-wal", "-shm"] { unlink(tree["results/testbed.sqlite" + suffix]) }
        await recorder.record(.testFinished(sampleResults()[1]))
        await recorder.record([.testFinished(sampleResults()[2]), .finished(sampleSummary(info))])

        let note = "the results database was deleted or replaced during the run; it was re-created and the whole run "
            + "recorded again (earlier runs in it are lost)"
        #expect(recorder.outcome == RecordingOutcome(exitCode: 3, recordingError: note, unrecorded: nil))
        // Read by a connection of its own, as `testbed report` would.
        let reader = try SQLiteRunStore(directory: tree["results"], create: false)
        #expect(try reader.runs().map(\.id) == ["r1"])
        let report = try reader.report("r1")
        #expect(report.run.complete)
        #expect(report.run.exitCode == 3)
        #expect(report.exitCode(.standard) == 3)
        #expect(report.run.recordingError == note)
        #expect(report.tests.map(\.outcome) == [.fail, .pass, .pass, .unsupported])
        #expect(report.facts.map(\.name) == ["kernel"])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: tree["results/latest"]) == "r1")
    }

    @Test("a database deleted again and again: made again a bounded number of times, the whole run written at the end")
    func deletedAgainAndAgain() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let info = sampleInfo(tree.path)
        let recorder = store.recorder(runID: "r1")
        let retired = SQLiteRunStore.retired.withLock { $0.count }
        await recorder.record(.started(info))
        for round in 0..<(StoreRecorder.maxReopens + 5) {
            for suffix in ["", "-wal", "-shm"] { unlink(tree["testbed.sqlite" + suffix]) }
            await recorder.record(.testFinished(sampleResults()[round % 3]))
        }
        await recorder.record(.finished(sampleSummary(info)))
        #expect(SQLiteRunStore.retired.withLock { $0.count } - retired == StoreRecorder.maxReopens + 1)
        #expect(recorder.outcome?.exitCode == 3)
        let report = try SQLiteRunStore(directory: tree.path, create: false).report("r1")
        #expect(report.run.complete)
        #expect(report.tests.map(\.outcome) == [.fail, .pass, .pass, .unsupported])
    }

    @Test("writes refused for a while are kept and written later; the run row says so, and nothing else is lost")
    func refusedThenAccepted() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let info = sampleInfo(tree.path)
        let recorder = StoreRecorder(store: store, runID: "r1", exitCodes: .standard, retryInterval: .zero)
        await recorder.record(.started(info))
        // A gate that SQLite itself enforces: every result update fails while it is closed.
        let outside = try openDatabase(tree.path)
        try await outside.write { db in
            try db.execute(sql: """
                CREATE TABLE gate (closed INTEGER);
                INSERT INTO gate VALUES (1);
                CREATE TRIGGER gate BEFORE UPDATE ON test_result WHEN (SELECT closed FROM gate)
                BEGIN SELECT RAISE(ABORT, 'the gate is closed'); END;
                """)
        }
        await recorder.record(.testFinished(sampleResults()[0]))
        await recorder.record(.testFinished(sampleResults()[1]))
        // Nothing of them yet.
        #expect(try store.report("r1").tests.map(\.outcome) == [.interrupted, .interrupted, .interrupted, .unsupported])
        try await outside.write { try $0.execute(sql: "UPDATE gate SET closed = 0") }
        await recorder.record([.testFinished(sampleResults()[2]), .finished(sampleSummary(info))])

        let note = "results could not be written for a while (the gate is closed); all were written later"
        #expect(recorder.outcome == RecordingOutcome(exitCode: 3, recordingError: note, unrecorded: nil))
        let report = try store.report("r1")
        #expect(report.tests.map(\.outcome) == [.fail, .pass, .pass, .unsupported])
        #expect(report.run.complete)
        #expect(report.run.exitCode == 3)
        #expect(report.run.recordingError == note)
    }

    @Test("a result the database never takes is dropped at the end, counted in the run row; the rest is written")
    func refusedForGood() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let info = sampleInfo(tree.path)
        let recorder = StoreRecorder(store: store, runID: "r1", exitCodes: .standard, retryInterval: .zero)
        await recorder.record(.started(info))
        let outside = try openDatabase(tree.path)
        try await outside.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse BEFORE UPDATE ON test_result WHEN NEW.id = '/b'
                BEGIN SELECT RAISE(ABORT, 'no /b here'); END;
                """)
        }
        await recorder.record(sampleResults().map { RunEvent.testFinished($0) })
        await recorder.record(.finished(sampleSummary(info)))

        let note = "1 record of this run could not be written (no /b here)"
        #expect(recorder.outcome == RecordingOutcome(exitCode: 3, recordingError: note, unrecorded: nil))
        let report = try store.report("r1")
        #expect(report.tests.map(\.outcome) == [.fail, .interrupted, .pass, .unsupported])
        #expect(report.tests[1].reason == "not run, or its result could not be recorded (the run's recording error says why)")
        #expect(report.run.recordingError == note)
        #expect(report.run.exitCode == 3)
        #expect(TextReport(report, color: false).render().contains("\nrecording: \(note)\n"))
    }

    @Test("a database that takes nothing at the end: the run stays incomplete there, the outcome says why")
    func neverWritable() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        let info = sampleInfo(tree.path)
        let recorder = StoreRecorder(store: store, runID: "r1", exitCodes: .standard, retryInterval: .zero)
        await recorder.record(.started(info))
        let outside = try openDatabase(tree.path)
        try await outside.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_tests BEFORE UPDATE ON test_result BEGIN SELECT RAISE(ABORT, 'read-only today'); END;
                CREATE TRIGGER refuse_runs BEFORE UPDATE ON run BEGIN SELECT RAISE(ABORT, 'read-only today'); END;
                """)
        }
        await recorder.record(sampleResults().map { RunEvent.testFinished($0) })
        await recorder.record(.finished(sampleSummary(info)))

        #expect(recorder.outcome == RecordingOutcome(
            exitCode: 3, recordingError: "the end of the run could not be recorded (read-only today)", unrecorded: "read-only today",
            unrecordedFix: "check the results directory or choose another --results DIR", inDatabase: true))
        let report = try store.report("r1")
        #expect(!report.run.complete)
        #expect(report.run.finished == nil)
        #expect(report.run.exitCode == nil)
        #expect(report.tests.map(\.outcome) == [.interrupted, .interrupted, .interrupted, .unsupported])
        #expect(report.tests[0].reason == "not finished: the run stopped before this test had a result (testbed was killed, or could not record it)")
    }

    @Test("at the end the log is copied into testbed.sqlite: the file alone holds the run")
    func checkpoint() async throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree["results"])
        let info = sampleInfo(tree["results/r1"])
        let recorder = store.recorder(runID: "r1")
        await recorder.record([.started(info)] + sampleResults().map { RunEvent.testFinished($0) })
        await recorder.record(.finished(sampleSummary(info)))
        let wal = try FileManager.default.attributesOfItem(atPath: tree["results/testbed.sqlite-wal"])[.size] as? Int
        #expect(wal == 0)
        try tree.directory("copy")
        try FileManager.default.copyItem(atPath: tree["results/testbed.sqlite"], toPath: tree["copy/testbed.sqlite"])
        let copy = try SQLiteRunStore(directory: tree["copy"], create: false).report()
        #expect(copy.run.id == "r1")
        #expect(copy.run.exitCode == 1)
        #expect(copy.tests.map(\.outcome) == [.fail, .pass, .pass, .unsupported])
    }
}
