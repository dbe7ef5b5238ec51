import ArgumentParser
import Catalog
import Declarations
import Execution
import Foundation
import HostFacts
import Planning
import PostgresStore
import ProcessSupervision
import Reporting
import Requirements
import Results

extension ReportFormat: ExpressibleByArgument {}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show a past run (default: the latest) as text, JSON, JUnit XML or TAP.",
        discussion: """
        RUN is a run id from `testbed report --list` (or a unique prefix of one: \
        a prefix of several runs is an error that lists them). A run still going \
        shows what it recorded so far and says it is running (the pid of its \
        testbed and its run directory). A run that testbed did not finish (killed, \
        or the machine went down) shows every result that was recorded and says \
        it is incomplete. What went wrong \
        while a run was recorded (its database deleted, a full disk) is shown on a \
        `recording:` line (JSON: run.recording_error).

          testbed report
          testbed report --format junit > junit.xml
          testbed report 20261121 --format tap | prove --verbose -

        --json, --junit and --tap are short for --format json, junit and tap.

        --html FILE writes the dashboard of the newest runs (--last N, default 20) \
        to FILE: one self-contained page (no network) with the latest run's \
        summary, its diff against the previous run on the same host and \
        environment (regressions with what changed), a status strip per test \
        (each cell links to that run's log, relative to FILE), the flaky tests, \
        infrastructure failures per setup and per host, the slowest tests' \
        durations and the unsupported tests (docs/dashboard.md).

          testbed report --html testbed-results/index.html --last 50

        Exit codes: 0 shown (a running run too), 64 bad command line or a RUN prefix \
        of several runs, 66 no such run or no runs yet, 73 the --html file cannot be written.
        """)

    @Argument(help: ArgumentHelp("The run to show (default: the latest).", valueName: "run"))
    var runID: String?

    @Option(help: ArgumentHelp("The results directory (default: ./testbed-results if it exists, else "
        + "testbed-results at the root of the suite around the current directory).", valueName: "dir"))
    var results: String?

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The output format (default: text).", valueName: "name"))
    var format: ReportFormat?

    @Flag(help: "JSON: {\"run\": {...}, \"tests\": [...], \"setups\": [...]}.")
    var json = false

    @Flag(help: "JUnit XML: one testcase per test; blocked tests are errors naming the setup.")
    var junit = false

    @Flag(help: "TAP version 13.")
    var tap = false

    @Flag(help: ArgumentHelp("List the runs, newest first; with --json: {\"runs\": [{\"id\", \"environment\", \"started\", "
        + "\"finished\", \"exit_code\", \"state\", \"directory\"}]}."))
    var list = false

    @Option(help: ArgumentHelp("Write the dashboard of the newest runs to this HTML file (one self-contained page).",
                               valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("With --html: how many of the newest runs (default: 20).", valueName: "n"))
    var last: Int?

    /// How many runs `--html` shows without `--last`.
    static let defaultLast = 20

    /// The format a flag asks for (`--json`, `--junit`, `--tap`); nil without one.
    var flagFormat: ReportFormat? { json ? .json : junit ? .junit : tap ? .tap : nil }

    /// The format to write: `--format`, or its short flag, or text.
    var chosenFormat: ReportFormat { format ?? flagFormat ?? .text }

    func validate() throws {
        if list, json, !junit, !tap, format == nil { return }  // `--list --json`: the runs as JSON
        if [json, junit, tap, list].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --json, --junit, --tap and --list")
        }
        if html != nil, let other = [format != nil ? "--format" : nil, json ? "--json" : nil, junit ? "--junit" : nil,
                                     tap ? "--tap" : nil, list ? "--list" : nil, runID != nil ? "RUN" : nil].compactMap({ $0 }).first {
            throw ValidationError("--html writes the dashboard of the newest runs and takes no \(other); choose one")
        }
        if let last, html == nil || last < 1 {
            throw ValidationError(html == nil ? "--last \(last) goes with --html FILE; add it" : "--last must be 1 or more, not \(last)")
        }
        if let format, list || (flagFormat.map { $0 != format } ?? false) {
            throw ValidationError("--format \(format.rawValue) and \(list ? "--list" : "--" + (flagFormat?.rawValue ?? "")) "
                + "ask for different output; choose one")
        }
    }

    func run() throws {
        let store = try openStoreToRead(self.results, database: database.url)
        let results = (store as? PostgresRunStore)?.location ?? self.results ?? Self.defaultResults()
        for note in store.notes { writeText("testbed: warning: \(note)\n", to: STDERR_FILENO) }
        if let html {
            try writeDashboard(to: html, store: store)
            return
        }
        if list {
            let runs: [RunReport.Run]
            do { runs = try store.runs() } catch { throw CommandFailure(error.description, status: ExitPolicy.noSuchRun) }
            if runs.isEmpty { throw CommandFailure(StoreError.noRuns(results).description, status: ExitPolicy.noSuchRun) }
            if json {
                emit(encodeJSON(ListedRuns(runs: runs.map(ListedRuns.Run.init))))
                return
            }
            var out = ""
            for run in runs {
                let state = run.complete ? "exit \(run.exitCode.map(String.init) ?? "?")"
                    : run.interrupted ? "interrupted" : run.running != nil ? "running" : "incomplete"
                out += "\(run.id)  \(run.environment)  \(state)\n"
            }
            emit(out)
            return
        }
        let report: RunReport
        do {
            report = try store.report(runID)
        } catch {
            // A prefix of several runs is a RUN to be given in full: a bad command line.
            if case .ambiguousRun = error { throw CommandFailure(error.description, status: ExitPolicy.usage) }
            throw CommandFailure(error.description, status: ExitPolicy.noSuchRun)
        }
        emit(chosenFormat.render(report, color: Style.standard.enabled))
    }

    /// `./testbed-results` if it exists; else the one at the root of the
    /// suite the current directory lies in (where `testbed run` puts them);
    /// else `./testbed-results`.
    static func defaultResults() -> String {
        let here = FileManager.default.currentDirectoryPath
        var info = stat()
        if stat(SuitePaths.resultsDirectory, &info) == 0 { return SuitePaths.resultsDirectory }
        guard let root = SuiteRoot.find(from: SuiteRoot.absolute(here)) else { return SuitePaths.resultsDirectory }
        let shown = SuiteRoot.shown(root, from: here)
        return shown == "." ? SuitePaths.resultsDirectory : shown + "/" + SuitePaths.resultsDirectory
    }
}

/// `report --list --json`: the runs, newest first.
struct ListedRuns: Encodable {
    struct Run: Encodable {
        let id: String
        let environment: String
        let started: String
        let finished: String?
        let exitCode: Int32?
        /// `complete`, `interrupted`, `running` or `incomplete`.
        let state: String
        let directory: String

        enum CodingKeys: String, CodingKey {
            case id, environment, started, finished
            case exitCode = "exit_code"
            case state, directory
        }

        init(_ run: RunReport.Run) {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            id = run.id
            environment = run.environment
            started = formatter.string(from: run.started)
            finished = run.finished.map(formatter.string(from:))
            exitCode = run.exitCode
            state = run.complete ? "complete" : run.interrupted ? "interrupted" : run.running != nil ? "running" : "incomplete"
            directory = run.directory
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(environment, forKey: .environment)
            try container.encode(started, forKey: .started)
            try container.encode(finished, forKey: .finished)
            try container.encode(exitCode, forKey: .exitCode)
            try container.encode(state, forKey: .state)
            try container.encode(directory, forKey: .directory)
        }
    }
    let runs: [Run]
}
