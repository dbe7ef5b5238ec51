import ArgumentParser
import Catalog
import Declarations
import Execution
import Foundation
import History
import HostFacts
import Reporting
import Results

/// What `runs`, `history`, `diff` and `why` share: the results directory and `--json`.
struct HistoryStoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The results directory (default: ./testbed-results if it exists, else "
        + "testbed-results at the root of the suite around the current directory).", valueName: "dir"))
    var results: String?

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print JSON (keys sorted) instead of text.")
    var json = false

    /// The store of `--results` (or the default one), opened to read; its notes printed as warnings.
    ///
    /// - Returns: the store.
    /// - Throws: `CommandFailure` (66) when there is no results directory or no database yet.
    func open() throws -> any RunStore {
        let store = try openStoreToRead(results, database: database.url)
        for note in store.notes { writeText("testbed: warning: \(note)\n", to: STDERR_FILENO) }
        return store
    }
}

/// `--host H` and `-e ENV`: which runs a history command looks at.
struct RunFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only runs on this host (its hostname, as `testbed runs` shows it).", valueName: "host"))
    var host: String?

    @Option(name: [.customShort("e"), .long], help: ArgumentHelp(
        "Only runs in this environment (its name as `testbed runs` shows it; an environment file's path names its file's stem).",
        valueName: "name"))
    var environment: String?

    /// The environment's name: `--environment` as given, or the stem of a file path (`environments/lab.yaml`: `lab`).
    var environmentName: String? {
        guard let environment else { return nil }
        guard environment.contains("/") || environment.hasSuffix(".yaml") || environment.hasSuffix(".yml") else { return environment }
        return URL(fileURLWithPath: environment).deletingPathExtension().lastPathComponent
    }

    /// The filter, with `limit`.
    ///
    /// - Parameter limit: how many rows at most; nil for all.
    /// - Returns: the filter.
    func filter(limit: Int? = nil) -> RunFilter {
        RunFilter(host: host, environment: environmentName, limit: limit)
    }
}

/// The store of `results` (or the default results directory), opened to read.
///
/// - Parameters:
///   - given: `--results` as given; nil for the default (`ReportCommand.defaultResults()`).
///   - database: the PostgreSQL URL (`DatabaseOptions.url`); nil for the SQLite database of the results directory.
/// - Returns: the store.
/// - Throws: `CommandFailure` (66) naming the directory (or the database), with a hint when the default was looked in.
func openStoreToRead(_ given: String?, database: String?) throws -> any RunStore {
    let results = given ?? ReportCommand.defaultResults()
    if let database {
        // The rows are in the database; this host need not have a results directory.
        do { return try openStore(results, database: database, create: false) } catch { throw historyFailure(error) }
    }
    var isDirectory: ObjCBool = false
    if !FileManager.default.fileExists(atPath: results, isDirectory: &isDirectory) || !isDirectory.boolValue {
        if given == nil {
            let here = FileManager.default.currentDirectoryPath
            let place = results.hasPrefix("/") ? results : (here == "/" ? "" : here) + "/" + results
            throw CommandFailure("no results directory: \(place.escapingControls) does not exist; `testbed run` writes it at the "
                + "suite root (or pass --results SUITE/testbed-results for a suite elsewhere)", status: ExitPolicy.noSuchRun)
        }
        throw CommandFailure("results directory \(results.escapingControls) does not exist; name the directory `testbed run` wrote "
            + "(default: testbed-results at the suite root)", status: ExitPolicy.noSuchRun)
    }
    do {
        return try openStore(results, database: nil, create: false)
    } catch {
        // `testbed run` keeps results at the suite root; say so when we looked elsewhere.
        var none = false
        if case .noRuns = error { none = true }
        let hint = none && given == nil && results == SuitePaths.resultsDirectory
            ? ", or pass --results SUITE/testbed-results for a suite elsewhere (testbed run keeps results at the suite root)" : ""
        throw CommandFailure(error.description + hint, status: ExitPolicy.noSuchRun)
    }
}

/// A store error as the history commands report it: a prefix of several runs is a bad command line (64), the rest 66.
func historyFailure(_ error: StoreError) -> CommandFailure {
    if case .ambiguousRun = error { return CommandFailure(error.description, status: ExitPolicy.usage) }
    return CommandFailure(error.description, status: ExitPolicy.noSuchRun)
}

/// Refuses a test id no run has a result for, naming the nearest id of the latest runs (or the tests under it).
///
/// - Parameters:
///   - test: the id as given.
///   - store: the store.
/// - Returns: the id to use: `test`, or `/test` when only that has results.
/// - Throws: `CommandFailure` (66): `no run has a result for test X; did you mean Y?`, or for a prefix of ids
///   (`/flaky`) `/flaky is not a test id; tests under it: /flaky/a, /flaky/b`.
func knownTest(_ test: String, in store: any RunStore) throws -> String {
    do {
        if try store.hasTest(test) { return test }
        if !test.hasPrefix("/"), try store.hasTest("/" + test) { return "/" + test }
        let ids = try store.recentTestIDs(runs: 5)
        let under = (test.hasPrefix("/") ? test : "/" + test).trimmingSuffix("/") + "/"
        // A test with variants: its variants (`/m/p[machine=pc]`) are the tests under it.
        let variants = String(under.dropLast()) + "["
        let inside = Set(ids.filter { $0.hasPrefix(under) || $0.hasPrefix(variants) }).sorted()
        if !inside.isEmpty {
            let named = inside.prefix(10).map(\.escapingControls).joined(separator: ", ")
                + (inside.count > 10 ? ", and \(inside.count - 10) more" : "")
            throw CommandFailure("\(test.escapingControls) is not a test id; tests under it: \(named)", status: ExitPolicy.noSuchRun)
        }
        let fix = closest(to: test.hasPrefix("/") ? test : "/" + test, in: ids).map { "did you mean \($0.escapingControls)?" }
            ?? "`testbed report` lists the tests of the latest run"
        throw CommandFailure("no run has a result for test \(test.escapingControls); \(fix)", status: ExitPolicy.noSuchRun)
    } catch let error as StoreError {
        throw historyFailure(error)
    }
}

/// How the history commands show times and durations.
enum HistoryText {
    /// `2026-11-30 09:01:02`, local time (`localtime_r`: a `DateFormatter` a row costs more than the query).
    static func date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `2026-11-30T09:01:02.120Z`: for JSON (`ReportWriter.iso8601`).
    static func iso8601(_ date: Date) -> String { ReportWriter.iso8601(date) ?? "" }

    /// `0.012 s`, `4.2 s`, `2m05s`, `1h02m`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return String(format: "%.3f s", max(0, seconds)) }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        return ConsoleRecorder.shortDuration(.seconds(seconds))
    }

    /// `3 pass, 1 fail, 2 skip`: the counts in the order outcomes are declared, zeros left out; `no tests` when empty.
    static func counts(_ counts: [TestOutcome: Int], flaky: (forgiven: Int, rerunPasses: Int)? = nil, style: Style) -> String {
        let forgiven = flaky?.forgiven ?? 0
        let failures = TestOutcome.allCases.filter(\.isTestFailure).reduce(0) { $0 + (counts[$1] ?? 0) }
        let parts = TestOutcome.allCases.compactMap { outcome -> String? in
            guard let count = counts[outcome], count > 0 else { return nil }
            var text = "\(count) \(outcome.rawValue)"
            // `2 fail (2 forgiven)` (the forgiven failures after the last failing outcome), `1 pass (1 flaky)`.
            if outcome == .pass, let passes = flaky?.rerunPasses, passes > 0 { text += " (\(passes) flaky)" }
            if outcome.isTestFailure, forgiven > 0,
               TestOutcome.allCases.last(where: { $0.isTestFailure && (counts[$0] ?? 0) > 0 }) == outcome {
                text += " (\(forgiven) forgiven\(failures > count ? " of the \(failures) failures" : ""))"
            }
            return outcome == .pass ? style.green(text) : outcome.isTestFailure ? style.red(text) : outcome == .blocked ? style.yellow(text) : text
        }
        return parts.isEmpty ? "no tests" : parts.joined(separator: ", ")
    }

    /// `qemu=abc build=42`, sorted by key; `-` when none.
    static func labels(_ labels: [String: String]) -> String {
        labels.isEmpty ? "-" : labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)".escapingControls }.joined(separator: " ")
    }

    /// Rows as aligned columns (the header bold); the last column is not padded. Colour is applied by `paint` after padding.
    ///
    /// - Parameters:
    ///   - header: the column titles.
    ///   - rows: the cells, plain text.
    ///   - style: the colours.
    ///   - paint: colours a cell (column index, plain text) once padded.
    /// - Returns: the lines, each ended.
    static func table(_ header: [String], _ rows: [[String]], style: Style,
                      paint: (Int, String) -> String = { $1 }) -> String {
        var widths = header.map(\.displayWidth)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.displayWidth) }
        }
        func line(_ cells: [String], painting: Bool) -> String {
            cells.enumerated().map { index, cell in
                let padded = index == cells.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[index] - cell.displayWidth))
                return painting ? paint(index, padded) : padded
            }.joined(separator: "  ")
        }
        var out = style.bold(line(header, painting: false)) + "\n"
        for row in rows { out += line(row, painting: true) + "\n" }
        return out
    }
}

/// Reads what runs recorded (row and snapshot), once each.
final class RunStates {
    let store: any RunStore
    var runs: [String: RunReport.Run] = [:]
    var states: [String: SnapshotDiff.State?] = [:]

    init(_ store: any RunStore) { self.store = store }

    /// A run's row, read once.
    func run(_ id: String) throws(StoreError) -> RunReport.Run {
        if let run = runs[id] { return run }
        let run = try store.run(id)
        runs[id] = run
        return run
    }

    /// What run `id` recorded; nil when its row or snapshot cannot be read.
    func state(_ id: String) -> SnapshotDiff.State? {
        if let state = states[id] { return state }
        let state = (try? run(id)).map { SnapshotDiff.State(run: $0, snapshot: try? store.snapshot(ofRun: id)) }
        states[id] = state
        return state
    }
}

/// `--limit N` of `runs` and `history`: how many runs are listed, newest first.
struct RunLimitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How many runs to list, newest first (default: 20; 0 for all).", valueName: "n"))
    var limit = 20

    /// The limit, nil for all (`--limit 0`).
    var count: Int? { limit == 0 ? nil : limit }

    func validate() throws {
        if limit < 0 { throw ValidationError("--limit must be 0 (all) or more, not \(limit)") }
    }
}
