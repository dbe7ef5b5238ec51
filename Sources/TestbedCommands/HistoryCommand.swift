import ArgumentParser
import Execution
import Foundation
import History
import Reporting
import Results
import Subtests

/// `testbed history TEST`: one test's outcomes over the runs, newest first.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show a test's outcomes over the runs, newest first, with its last pass, flips and fail ratio.",
        discussion: """
        One line per run that has a result for TEST (newest first, --limit of them): \
        the run, when it started, its host and environment, the outcome and how long \
        the test ran. Below: the run where it last passed, how many times it flipped \
        between pass and fail (runs where it was skipped, blocked or unsupported are \
        passed over), and its fail ratio among the runs with a verdict, with a 95% \
        interval: p +/- 1.96 * sqrt(p(1-p)/n), or "< 300/n %" when it never failed (the rule \
        of three), "> (100 - 300/n) %" when it always failed. The last pass, the flips and the ratio count every matching run, \
        not only those listed.

          testbed history /net/virtio
          testbed history /net/virtio --host lab1 -e lab-r420 --limit 50
          testbed history /net/virtio --json | jq .fail_ratio
          testbed history /migration/precopy     (each of its variants)
          testbed history '/migration/precopy[machine=pc,accel=tcg]'

        Exit codes: 0 shown, 64 bad command line, 66 no results, or no run has a result for TEST.
        """)

    @Argument(help: ArgumentHelp("The test's id (/net/virtio).", valueName: "test"))
    var test: String

    @OptionGroup var store: HistoryStoreOptions
    @OptionGroup var filter: RunFilterOptions

    @OptionGroup var runLimit: RunLimitOptions

    func run() throws {
        let store = try self.store.open()
        // A test with variants: each variant is its own test, shown one after another.
        if let variants = try variantIDs(of: self.test, in: store) {
            var sections: [String] = []
            var histories: [HistoryJSON] = []
            for id in variants {
                let entries: [HistoryEntry]
                do { entries = try store.testHistory(id, filter: filter.filter()) } catch { throw historyFailure(error) }
                if self.store.json { histories.append(Self.json(test: id, entries: entries, limit: runLimit.limit)) }
                else { sections.append(render(id, entries: entries)) }
            }
            let base = self.test.hasPrefix("/") ? self.test : "/" + self.test
            emit(self.store.json ? encodeJSON(VariantHistoryJSON(test: base, variants: histories)) : sections.joined(separator: "\n"))
            return
        }
        let test = try knownTest(self.test, in: store)
        let entries: [HistoryEntry]
        do { entries = try store.testHistory(test, filter: filter.filter()) } catch { throw historyFailure(error) }
        if self.store.json {
            emit(encodeJSON(Self.json(test: test, entries: entries, limit: runLimit.limit)))
            return
        }
        emit(render(test, entries: entries))
    }

    /// The ids of the variants of `test` (`/m/p[machine=pc]`…) the newest 50 runs have results for, when `test` itself
    /// has none; nil otherwise.
    func variantIDs(of test: String, in store: any RunStore) throws -> [String]? {
        do {
            let id = test.hasPrefix("/") ? test : "/" + test
            guard try !store.hasTest(test), try !store.hasTest(id) else { return nil }
            let variants = try store.recentTestIDs(runs: 50).filter { $0.hasPrefix(id + "[") && $0.hasSuffix("]") }
            return variants.isEmpty ? nil : variants
        } catch {
            throw historyFailure(error)
        }
    }

    /// One test's history as text: the table, the last pass, flips and fail ratio.
    func render(_ test: String, entries: [HistoryEntry]) -> String {
        let timeline = TestTimeline(entries)
        let shown = runLimit.count.map { Array(entries.prefix($0)) } ?? entries
        let style = Style.standard
        var out = style.bold("history of \(test.escapingControls)") + " (newest first)\n"
        guard !entries.isEmpty else {
            return out + "no run matching --host and -e has a result for it; `testbed history \(test.escapingControls)` shows every run\n"
        }
        // A SUBTESTS column when any run of it reported subtests.
        let subtests = shown.contains { $0.subtests != nil }
        let rows = shown.map { entry -> [String] in
            [entry.runID, HistoryText.date(entry.started), (entry.host ?? "-").escapingControls, entry.environment.escapingControls,
             entry.outcome.rawValue + (entry.flaky.map { " (flaky: \($0))" } ?? ""), HistoryText.duration(entry.duration)]
                + (subtests ? [Self.subtestsCell(entry)] : [])
        }
        let headers = ["RUN", "STARTED", "HOST", "ENVIRONMENT", "OUTCOME", "DURATION"] + (subtests ? ["SUBTESTS"] : [])
        out += HistoryText.table(headers, rows, style: style) { column, cell in
            guard column == 4 else { return cell }
            let outcome = TestOutcome(rawValue: String(cell.prefix { $0 != " " }))
            return outcome == .pass ? style.green(cell) : outcome?.isTestFailure == true ? style.red(cell) : cell
        }
        if shown.count < entries.count {
            out += style.dim("… and \(entries.count - shown.count) older runs (--limit 0 lists them all)") + "\n"
        }
        out += "last pass: " + (timeline.lastPass.map { "run \($0.runID) (\(HistoryText.date($0.started)))" } ?? "never") + "\n"
        out += "flips: \(timeline.flips)\n"
        out += "fail ratio: \(timeline.ratio.text)\n"
        return out
    }
}

extension HistoryCommand {
    /// `1 of 3 subtests failed: migrates`, `12 subtests, none failed`, `-` when it reported none. Names are
    /// joined with `; ` (kvm-unit-tests' names hold commas: `mov null, %ss`).
    static func subtestsCell(_ entry: HistoryEntry) -> String {
        guard let counts = entry.subtests else { return "-" }
        let total = "\(counts.total) subtest\(counts.total == 1 ? "" : "s")"
        guard counts.fail > 0 else { return total + ", none failed" }
        let more = counts.fail - entry.failedSubtests.count
        return "\(counts.fail) of \(total) failed: " + entry.failedSubtests.map(\.escapingControls).joined(separator: "; ")
            + (more > 0 ? "; …" : "")
    }

    /// The JSON value of `testbed history TEST --json` and `GET /api/tests/history?id=TEST`.
    ///
    /// - Parameters:
    ///   - test: the test's id.
    ///   - entries: its history, newest first.
    ///   - limit: how many entries to list (0: all).
    /// - Returns: the value.
    static func json(test: String, entries: [HistoryEntry], limit: Int) -> HistoryJSON {
        HistoryJSON(test: test, timeline: TestTimeline(entries), shown: limit == 0 ? entries : Array(entries.prefix(limit)))
    }
}

/// One history entry as JSON.
struct HistoryEntryJSON: Encodable {
    var run: String
    var started: String
    var host: String?
    var environment: String
    var outcome: String
    var duration: Double
    var flaky: String?
    /// Its subtests by outcome, when it reported any.
    var subtests: SubtestCounts?
    /// Its first failed subtests' names, when any failed.
    var failedSubtests: [String]?

    enum CodingKeys: String, CodingKey {
        case run, started, host, environment, outcome, duration, flaky, subtests
        case failedSubtests = "failed_subtests"
    }

    init(_ entry: HistoryEntry) {
        run = entry.runID
        started = HistoryText.iso8601(entry.started)
        host = entry.host
        environment = entry.environment
        outcome = entry.outcome.rawValue
        duration = (entry.duration * 1000).rounded() / 1000
        flaky = entry.flaky
        subtests = entry.subtests
        failedSubtests = entry.failedSubtests.isEmpty ? nil : entry.failedSubtests
    }
}

/// `testbed history TEST --json` for a test with variants: each variant's history.
struct VariantHistoryJSON: Encodable {
    /// The test's id without the variants.
    var test: String
    /// Each variant's history, by id.
    var variants: [HistoryJSON]
}

/// `testbed history --json`.
struct HistoryJSON: Encodable {
    var test: String
    /// The entries listed (--limit).
    var runs: [HistoryEntryJSON]
    /// How many runs have a result for the test (all, not only those listed).
    var total: Int
    var lastPass: HistoryEntryJSON?
    var flips: Int
    var failRatio: FailRatioJSON

    enum CodingKeys: String, CodingKey {
        case test, runs, total, flips
        case lastPass = "last_pass"
        case failRatio = "fail_ratio"
    }

    init(test: String, timeline: TestTimeline, shown: [HistoryEntry]) {
        self.test = test
        runs = shown.map(HistoryEntryJSON.init)
        total = timeline.entries.count
        lastPass = timeline.lastPass.map(HistoryEntryJSON.init)
        flips = timeline.flips
        failRatio = timeline.ratio.json
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(test, forKey: .test)
        try container.encode(runs, forKey: .runs)
        try container.encode(total, forKey: .total)
        try container.encode(lastPass, forKey: .lastPass)  // null when it never passed
        try container.encode(flips, forKey: .flips)
        try container.encode(failRatio, forKey: .failRatio)
    }
}
