import ArgumentParser
import Execution
import Foundation
import History
import Reporting
import Results

/// `testbed why TEST`: what changed since a test last passed.
struct WhyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Say what changed since a test last passed: its last pass, its first failure after it, and what differs.",
        discussion: """
        Looks at the runs on the host and environment of the latest run of TEST (or \
        --host and -e): the run where TEST last passed, the first run where it failed \
        after that, and every fact, package, loaded module, binary, kernel command-line \
        word, label and suite commit that differs between those two runs. If it never \
        passed there, or passes now, it says so.

          testbed why /net/virtio
          testbed why /net/virtio --host lab1 -e lab-r420 --json

        Exit codes: 0 answered, 64 bad command line, 66 no results, or no run has a result for TEST.
        """)

    @Argument(help: ArgumentHelp("The test's id (/net/virtio).", valueName: "test"))
    var test: String

    @OptionGroup var store: HistoryStoreOptions
    @OptionGroup var filter: RunFilterOptions

    @Option(help: ArgumentHelp("How many changes to name (default: 10; 0 for all).", valueName: "n"))
    var limit = 10

    func validate() throws {
        if limit < 0 { throw ValidationError("--limit must be 0 (all) or more, not \(limit)") }
    }

    func run() throws {
        let store = try self.store.open()
        let test = try knownTest(self.test, in: store)
        let why: Why
        let place: RunFilter
        do {
            (why, place) = try Self.answer(test, store: store, filter: filter.filter())
        } catch {
            throw historyFailure(error)
        }
        if self.store.json {
            emit(encodeJSON(Self.json(why, place: place)))
            return
        }
        let limit = self.limit == 0 ? Int.max : self.limit
        var text = why.text(limit: limit).escapingControls
        if case let .changed(pass, failure) = why.answer, let diff = why.diff, diff.changes.count > limit {
            text += " (`testbed diff \(pass.runID) \(failure.runID)` lists them all)"
        }
        emit(text + "\n")
    }

    /// The JSON value of `testbed why TEST --json` and `GET /api/why?test=TEST`.
    static func json(_ why: Why, place: RunFilter) -> WhyJSON { WhyJSON(why, host: place.host, environment: place.environment) }

    /// The answer for `test` on the host and environment of `filter`, or of the latest run of `test` where `filter` leaves one open.
    ///
    /// - Returns: the answer, and the host and environment it looked at.
    static func answer(_ test: String, store: any RunStore, filter: RunFilter) throws(StoreError) -> (Why, RunFilter) {
        var place = filter
        if place.host == nil || place.environment == nil, let latest = try store.testHistory(test, filter: RunFilter(
            host: filter.host, environment: filter.environment, limit: 1)).first {
            place.host = place.host ?? latest.host
            place.environment = place.environment ?? latest.environment
        }
        let entries = try store.testHistory(test, filter: place)
        let states = RunStates(store)
        return (Why(test: test, timeline: TestTimeline(entries), state: { states.state($0.runID) }), place)
    }
}

/// `testbed why --json`.
struct WhyJSON: Encodable {
    var test: String
    var host: String?
    var environment: String?
    /// `changed`, `passing` or `never_passed`.
    var answer: String
    var lastPass: HistoryEntryJSON?
    var firstFailure: HistoryEntryJSON?
    var changes: [SnapshotChangeJSON]?
    var snapshotNote: String?
    var text: String

    enum CodingKeys: String, CodingKey {
        case test, host, environment, answer, changes, text
        case lastPass = "last_pass"
        case firstFailure = "first_failure"
        case snapshotNote = "snapshot_note"
    }

    init(_ why: Why, host: String?, environment: String?) {
        test = why.test
        self.host = host
        self.environment = environment
        switch why.answer {
        case let .changed(pass, failure):
            answer = "changed"
            lastPass = HistoryEntryJSON(pass)
            firstFailure = HistoryEntryJSON(failure)
        case let .passing(entry):
            answer = "passing"
            lastPass = HistoryEntryJSON(entry)
        case .neverPassed:
            answer = "never_passed"
        }
        changes = why.diff.map { $0.changes.map(SnapshotChangeJSON.init) }
        snapshotNote = why.diff?.missingNote
        text = why.text(limit: Int.max)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(test, forKey: .test)
        try container.encode(host, forKey: .host)
        try container.encode(environment, forKey: .environment)
        try container.encode(answer, forKey: .answer)
        try container.encode(lastPass, forKey: .lastPass)
        try container.encode(firstFailure, forKey: .firstFailure)
        try container.encode(changes, forKey: .changes)
        try container.encode(snapshotNote, forKey: .snapshotNote)
        try container.encode(text, forKey: .text)
    }
}
