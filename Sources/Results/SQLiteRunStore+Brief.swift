import Execution
import Foundation
import GRDB

// A run's results in brief, for the dashboard: columns read by position, not by name.
extension SQLiteRunStore {
    /// A run's results in brief (see `RunStore.briefResults(ofRun:)`).
    ///
    /// - Parameter runID: the run's id.
    /// - Returns: the tests in plan order (pending ones left out), the setups in the order they ended.
    /// - Throws: `StoreError.cannotOpen` when the database cannot be read.
    public func briefResults(ofRun runID: String) throws(StoreError) -> (tests: [TestResult], setups: [SetupResult]) {
        try reading { db in
            var tests: [TestResult] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, outcome, started, duration, log FROM test_result WHERE run_id = ? AND outcome != 'pending' ORDER BY position
                """, arguments: [runID])
            while let row = try rows.next() {
                let started: Double? = row[2]
                tests.append(TestResult(id: row[0], outcome: TestOutcome(rawValue: row[1]) ?? .interrupted,
                                        started: started.map(Date.init(timeIntervalSince1970:)), duration: row[3], logDirectory: row[4]))
            }
            let setups = try Row.fetchAll(db, sql: """
                SELECT name, test_id, phase, outcome, reason FROM setup_result WHERE run_id = ? ORDER BY seq
                """, arguments: [runID]).map { row in
                SetupResult(name: row[0], test: row[1], phase: SetupPhase(rawValue: row[2]) ?? .setup,
                            outcome: SetupOutcome(rawValue: row[3]) ?? .failed, reason: row[4])
            }
            return (tests, setups)
        }
    }
}
