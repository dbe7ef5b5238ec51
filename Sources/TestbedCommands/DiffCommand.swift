import ArgumentParser
import Execution
import Foundation
import History
import Reporting
import Results

/// `testbed diff [RUN_A] RUN_B`: two runs compared.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two runs: regressions, fixes, new infrastructure failures, still failing, new and gone tests; what changed.",
        discussion: """
        Tests are sorted into regressions (pass -> fail; fail is fail, timeout or error), \
        fixes (fail -> pass), still failing, new (only in RUN_B) and gone (only in RUN_A); \
        setups that failed in RUN_B and not in RUN_A are new infrastructure failures. \
        Then what differs between the runs' states: facts, packages, loaded modules, the \
        environment's binaries, the kernel command line, labels and the suite's commit.

        With one run, it is RUN_B and RUN_A is the run before it on the same host and \
        environment; with none, RUN_B is the latest run. Then each test of RUN_B is judged \
        against its latest earlier verdict on that host and environment, so that a partial \
        run in between (a sub-folder, a --tag) hides nothing: new tests are those with their \
        first verdict, and none is gone. Two runs given are compared as they are. A run is \
        an id or a unique prefix of one (`testbed runs` lists them).

          testbed diff
          testbed diff 20261129-1012 20261130-0901
          testbed diff --json | jq '.regressions[].id'

        Exit codes: 0 shown, 64 bad command line or a prefix of several runs, 66 no such run, \
        or no earlier run to compare with.
        """)

    @Argument(help: ArgumentHelp("RUN_A (older) and RUN_B, or RUN_B alone, or none (the latest).", valueName: "run"))
    var runIDs: [String] = []

    @OptionGroup var store: HistoryStoreOptions

    @Option(help: ArgumentHelp("How many tests or changes to list in each section of the text (default: 50; 0 for all).",
                               valueName: "n"))
    var limit = 50

    func validate() throws {
        if runIDs.count > 2 { throw ValidationError("give at most two runs (RUN_A RUN_B), not \(runIDs.count)") }
        if limit < 0 { throw ValidationError("--limit must be 0 (all) or more, not \(limit)") }
    }

    func run() throws {
        let store = try self.store.open()
        let result = try Self.compare(runIDs, store: store)
        if self.store.json {
            emit(encodeJSON(Self.json(result)))
            return
        }
        emit(Self.text(before: result.before, after: result.after, comparison: result.comparison, diff: result.diff,
                       limit: limit == 0 ? Int.max : limit, style: Style.standard, latestVerdicts: result.latestVerdicts))
    }

    /// Two runs compared: what `testbed diff` and `GET /api/diff` show.
    struct Comparison {
        /// RUN_A and RUN_B.
        var before: RunReport.Run
        var after: RunReport.Run
        /// Their tests and setups sorted into regressions, fixes, new infrastructure failures, ...
        var comparison: RunComparison
        /// What differs between their records.
        var diff: SnapshotDiff
        /// The tests were judged against each one's latest earlier verdict on the host and environment (RUN_A not given).
        var latestVerdicts: Bool
    }

    /// The JSON value of `testbed diff --json` and `GET /api/diff`.
    static func json(_ result: Comparison) -> DiffJSON {
        DiffJSON(before: result.before, after: result.after, comparison: result.comparison, diff: result.diff,
                 latestVerdicts: result.latestVerdicts)
    }

    /// The two runs `runIDs` name (RUN_A RUN_B: those two, literally; RUN_B alone or none: RUN_B or the latest run,
    /// against the previous run on its host and environment, each test judged against its latest earlier verdict there).
    ///
    /// - Throws: `CommandFailure`: 64 for a prefix of several runs, 66 for no such run or nothing to compare with.
    static func compare(_ runIDs: [String], store: any RunStore) throws -> Comparison {
        let before: RunReport.Run
        let after: RunReport.Run
        let outcomes: (before: (tests: [TestResult], setups: [SetupResult]), after: (tests: [TestResult], setups: [SetupResult]))
        var earlierVerdicts: [String: HistoryEntry]?
        do {
            after = try store.run(runIDs.last)
            if runIDs.count == 2 {
                before = try store.run(runIDs[0])
            } else {
                let comparable = try store.previousComparableRun(of: after)
                let previous = try comparable ?? store.runs(RunFilter()).first { $0.started < after.started }
                guard let previous else {
                    throw CommandFailure("run \(after.id) is the first recorded run: nothing to compare it with; "
                                         + "run again to have something to compare with", status: ExitPolicy.noSuchRun)
                }
                before = previous
            }
            outcomes = (try store.outcomes(ofRun: before.id), try store.outcomes(ofRun: after.id))
            if runIDs.count < 2 && before.host == after.host && before.environment == after.environment {
                // Only a verdict now (pass, or a test failure) is compared with an earlier one (`RunComparison`):
                // a test skipped or unsupported throughout is never looked up run after run.
                earlierVerdicts = try store.latestVerdicts(
                    of: outcomes.after.tests.filter { $0.outcome == .pass || $0.outcome.isTestFailure }.map(\.id), before: after)
            }
        } catch let error as StoreError {
            throw historyFailure(error)
        }
        let comparison = earlierVerdicts.map {
            RunComparison(after: outcomes.after.tests, earlierVerdicts: $0, setupsBefore: outcomes.before.setups,
                          setupsAfter: outcomes.after.setups)
        } ?? RunComparison(before: outcomes.before.tests, after: outcomes.after.tests, setupsBefore: outcomes.before.setups,
                           setupsAfter: outcomes.after.setups)
        let snapshots = (try? store.snapshot(ofRun: before.id), try? store.snapshot(ofRun: after.id))
        let diff = SnapshotDiff(from: SnapshotDiff.State(run: before, snapshot: snapshots.0 ?? nil),
                                to: SnapshotDiff.State(run: after, snapshot: snapshots.1 ?? nil))
        return Comparison(before: before, after: after, comparison: comparison, diff: diff, latestVerdicts: earlierVerdicts != nil)
    }

    /// What the reader should know before reading a comparison: RUN_A newer than RUN_B (comparing backwards),
    /// runs on different hosts or environments (not comparable).
    ///
    /// - Parameters:
    ///   - before: RUN_A.
    ///   - after: RUN_B.
    /// - Returns: the notes, in words; empty for none.
    static func notes(before: RunReport.Run, after: RunReport.Run) -> [String] {
        var notes: [String] = []
        if before.started > after.started { notes.append("RUN_A is newer than RUN_B: comparing backwards") }
        if before.host != after.host || before.environment != after.environment {
            notes.append("these runs are on different hosts/environments: not comparable, showing what differs")
        }
        return notes
    }

    /// The comparison as text: a header, each non-empty section bounded by `limit`, then what changed.
    /// With `latestVerdicts`, the tests were judged against each one's latest earlier verdict (RUN_A not given):
    /// the header says so, and a test whose earlier verdict is not from `before` names its run.
    static func text(before: RunReport.Run, after: RunReport.Run, comparison: RunComparison, diff: SnapshotDiff, limit: Int,
                     style: Style, latestVerdicts: Bool = false) -> String {
        var out = style.bold("diff \(before.id) → \(after.id)")
        let place = { (run: RunReport.Run) in "\((run.host ?? "-").escapingControls), \(run.environment.escapingControls)" }
        out += place(before) == place(after) ? " (\(place(after)))\n" : " (\(place(before)) → \(place(after)))\n"
        if latestVerdicts {
            out += "tests judged against their latest earlier verdict on this host and environment (new: first verdict)\n"
        }
        for note in notes(before: before, after: after) { out += style.yellow("note: " + note) + "\n" }
        func section(_ title: String, _ changes: [RunComparison.Change], paint: (String) -> String) {
            guard !changes.isEmpty else { return }
            out += "\n" + paint("\(title) (\(changes.count))") + "\n"
            let outcome = { (value: TestOutcome?) in value?.rawValue ?? "-" }
            for change in changes.prefix(limit) {
                let elsewhere = change.beforeRun.map { $0 == before.id ? "" : " (\(outcome(change.before)) in \($0))" } ?? ""
                out += "  \(change.id.escapingControls)  \(outcome(change.before)) → \(outcome(change.after))\(elsewhere)\n"
            }
            if changes.count > limit { out += "  and \(changes.count - limit) more (--limit 0 lists them all)\n" }
        }
        section("regressions", comparison.regressions, paint: style.red)
        section("fixes", comparison.fixes, paint: style.green)
        if !comparison.newInfrastructureFailures.isEmpty {
            let failures = comparison.newInfrastructureFailures
            out += "\n" + style.yellow("new infrastructure failures (\(failures.count))") + "\n"
            for setup in failures.prefix(limit) {
                let reason = setup.reason.map { ": " + ($0.split(separator: "\n").first.map(String.init) ?? "").escapingControls } ?? ""
                out += "  \(setup.label.escapingControls)  \(setup.outcome.rawValue)\(reason)\n"
            }
            if failures.count > limit { out += "  and \(failures.count - limit) more (--limit 0 lists them all)\n" }
        }
        section("still failing", comparison.stillFailing) { $0 }
        section("new tests", comparison.new) { $0 }
        section("gone tests", comparison.gone) { $0 }
        if comparison.isEmpty && comparison.stillFailing.isEmpty {
            out += "\nno regressions, fixes, new infrastructure failures, new or gone tests\n"
        }
        out += "\n" + style.bold("what changed") + "\n"
        for line in diff.lines(perSection: limit) { out += "  " + line + "\n" }
        return out
    }
}

/// `testbed diff --json`.
struct DiffJSON: Encodable {
    struct Change: Encodable {
        var id: String
        var before: String?
        var after: String?
        var beforeRun: String?

        enum CodingKeys: String, CodingKey {
            case id, before, after
            case beforeRun = "before_run"
        }

        init(_ change: RunComparison.Change) {
            id = change.id
            before = change.before?.rawValue
            after = change.after?.rawValue
            beforeRun = change.beforeRun
        }
    }

    struct Setup: Encodable {
        var name: String
        var test: String?
        var phase: String
        var outcome: String
        var reason: String?

        init(_ setup: SetupResult) {
            name = setup.name
            test = setup.test
            phase = setup.phase.rawValue
            outcome = setup.outcome.rawValue
            reason = setup.reason
        }
    }

    var from: String
    var to: String
    var regressions: [Change]
    var fixes: [Change]
    var newInfrastructureFailures: [Setup]
    var stillFailing: [Change]
    var new: [Change]
    var gone: [Change]
    var changes: [SnapshotChangeJSON]
    var snapshotNote: String?
    var latestVerdicts: Bool
    var notes: [String]

    enum CodingKeys: String, CodingKey {
        case from, to, regressions, fixes, new, gone, changes, notes
        case latestVerdicts = "latest_verdicts"
        case newInfrastructureFailures = "new_infrastructure_failures"
        case stillFailing = "still_failing"
        case snapshotNote = "snapshot_note"
    }

    init(before: RunReport.Run, after: RunReport.Run, comparison: RunComparison, diff: SnapshotDiff, latestVerdicts: Bool = false) {
        self.latestVerdicts = latestVerdicts
        notes = DiffCommand.notes(before: before, after: after)
        from = before.id
        to = after.id
        regressions = comparison.regressions.map(Change.init)
        fixes = comparison.fixes.map(Change.init)
        newInfrastructureFailures = comparison.newInfrastructureFailures.map(Setup.init)
        stillFailing = comparison.stillFailing.map(Change.init)
        new = comparison.new.map(Change.init)
        gone = comparison.gone.map(Change.init)
        changes = diff.changes.map(SnapshotChangeJSON.init)
        snapshotNote = diff.missingNote
    }
}

/// One `SnapshotDiff.Change` as JSON: `section`, `key`, `old` and `new` (null when absent), and `text`.
struct SnapshotChangeJSON: Encodable {
    var section: String
    var key: String
    var old: String?
    var new: String?
    var text: String

    init(_ change: SnapshotDiff.Change) {
        section = change.section.rawValue
        key = change.key
        old = change.old
        new = change.new
        text = change.text
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(section, forKey: .section)
        try container.encode(key, forKey: .key)
        try container.encode(old, forKey: .old)
        try container.encode(new, forKey: .new)
        try container.encode(text, forKey: .text)
    }

    enum CodingKeys: String, CodingKey { case section, key, old, new, text }
}
