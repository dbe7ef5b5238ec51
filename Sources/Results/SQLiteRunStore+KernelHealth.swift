import Execution
import Foundation
import GRDB

// Kernel health in the results database (docs/kernel-health.md): a test's
// kernel log, bounded, and the taint the kernel had as the run started.
extension SQLiteRunStore {
    /// Schema v6: `test_result.kernel_log` (at most `TestResult.kernelLogLimit`
    /// bytes of the test's `kmsg.log`; NULL when it had none) and
    /// `run.taint_at_start` (the flags as letters; NULL when untainted or not read).
    /// Runs recorded before keep NULL in both.
    static func migrateToV6(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE test_result ADD COLUMN kernel_log TEXT;
            ALTER TABLE run ADD COLUMN taint_at_start TEXT;
            """)
    }

    /// The run's taint at its start, on its row (written with its start; nothing when there is none).
    func recordTaintAtStart(_ db: Database, _ info: RunInfo) throws {
        guard let taint = info.taintAtStart else { return }
        try db.execute(sql: "UPDATE run SET taint_at_start = ? WHERE id = ?", arguments: [taint, info.id])
    }

    /// A test's kernel log, written with its result; a test without one costs nothing more.
    func writeKernelLog(_ db: Database, _ runID: String, _ result: TestResult) throws {
        guard let log = result.kernelLog else { return }
        try db.cachedStatement(sql: "UPDATE test_result SET kernel_log = ? WHERE run_id = ? AND id = ?")
            .execute(arguments: [log, runID, result.id])
    }
}
