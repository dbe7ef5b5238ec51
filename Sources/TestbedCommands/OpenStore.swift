import Results

/// Opens the store of the results directory `directory`: the one place that
/// chooses a `RunStore` implementation (SQLite today; a `--database URL`
/// will choose PostgreSQL here).
///
/// - Parameters:
///   - directory: the results directory, as the user gave it.
///   - create: make the directory and database when missing (`run`); false to read (`report`).
/// - Returns: the store.
/// - Throws: `StoreError` when it cannot be opened, or holds no runs yet (`create: false`).
func openStore(_ directory: String, create: Bool = true) throws(StoreError) -> any RunStore {
    try SQLiteRunStore(directory: directory, create: create)
}
