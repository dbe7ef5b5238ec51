import ArgumentParser
import Foundation
import PostgresStore
import Results

/// `--database URL`: where the rows of the runs are kept (`run`, `report`, `runs`, `history`, `diff`, `why`, `hosts`, `serve`).
struct DatabaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The results database: a postgresql://USER:PASSWORD@HOST:PORT/DATABASE URL shared by many hosts "
        + "(default: $TESTBED_DATABASE; neither: testbed.sqlite in the results directory). Run directories and logs stay in the "
        + "results directory of the host that ran the run.", valueName: "url"))
    var database: String?

    /// The URL of `--database`, else of `TESTBED_DATABASE` (empty: unset); nil for SQLite.
    var url: String? {
        if let database { return database }
        guard let variable = ProcessInfo.processInfo.environment["TESTBED_DATABASE"], !variable.isEmpty else { return nil }
        return variable
    }
}

/// Opens the store of the results directory `directory`: the one place that chooses a `RunStore`
/// implementation. With a database URL (`--database`, `TESTBED_DATABASE`), PostgreSQL keeps the rows and the
/// results directory only the run directories; without, SQLite keeps both in the results directory.
///
/// - Parameters:
///   - directory: the results directory, as the user gave it.
///   - database: the database URL; nil for SQLite.
///   - create: make the directory and database when missing (`run`); false to read (`report`).
/// - Returns: the store.
/// - Throws: `StoreError` when it cannot be opened (`.unreachable` for a bad URL or a server that cannot be used),
///   or holds no runs yet (`create: false`).
func openStore(_ directory: String, database: String?, create: Bool = true) throws(StoreError) -> any RunStore {
    guard let database else { return try SQLiteRunStore(directory: directory, create: create) }
    return try PostgresRunStore(url: DatabaseURL(database), directory: directory, create: create)
}
