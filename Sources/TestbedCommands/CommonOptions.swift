import ArgumentParser
import CShim
import Catalog
import Declarations
import Execution
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Reporting
import Requirements
import Results
import Synchronization

/// Exit statuses shared by every command (DESIGN.md, "Exit codes").
enum ExitStatus {
    /// Testbed cannot work on this host as it is set up (a file descriptor
    /// limit under 64): the lab's problem, as run's infrastructure failures.
    static let cannotWork: Int32 = 2
    static let nothingSelected: Int32 = 4
    static let usage: Int32 = 64
    static let invalidDeclarations: Int32 = 65
    static let interrupted: Int32 = 130
}

/// `--environment FILE`.
struct EnvironmentOptions: ParsableArguments {
    @Option(name: [.customShort("e"), .long], help: ArgumentHelp(
        "An environment file (environments/NAME.yaml) describing the host; default: probe this host.",
        valueName: "file"))
    var environment: String?

    /// The environment, or exits 64 (missing file; `missing` when given) /
    /// `invalid` (65; 125 for bisect) for an invalid file.
    func load(invalid: Int32 = ExitStatus.invalidDeclarations, missing: Int32? = nil) throws -> Environment {
        stopHelpersOnSignals()
        // Every child of this process is a probe until a run's steps start:
        // what a probe leaves in another session is killed when it ends.
        HelperProcesses.adoptOrphans()
        guard let path = environment else { return Environment(local: HostProbe()) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            let message = "environment file \(path.escapingControls) does not exist; name a file such as environments/lab-r420.yaml"
            if let missing { fail(message, status: missing) }
            throw ValidationError(message)
        }
        do {
            return try Environment(contentsOf: path)
        } catch {
            fail(error.description, status: error.isTestbedLimit ? cannotWork(invalid: invalid) : invalid)
        }
    }
}

/// The exit status when Testbed cannot work here (out of file descriptors):
/// 2, or 125 where invalid declarations exit 125 (`run --exit-codes bisect`).
func cannotWork(invalid: Int32) -> Int32 {
    invalid == 125 ? 125 : ExitStatus.cannotWork
}

/// Positional suites and the selection options of `check`, `plan` and `run`.
struct SelectionOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "Suite directories, testbed.yaml files or executables to run as tests (default: the current directory).",
        valueName: "suite"))
    var suites: [String] = []

    @Option(name: .customLong("tag"), help: ArgumentHelp(
        "Select tests whose tags match EXPR: `migration`, `quick | smoke`, `migration & !slow` (parentheses nest at most 100 levels); repeat to select either.",
        valueName: "expr"))
    var tags: [String] = []

    @Option(name: [.customShort("k"), .customLong("id")], help: ArgumentHelp(
        "Select tests by id: a prefix (/migration) or a glob (/migration/*/tcp); repeat to select either.",
        valueName: "pattern"))
    var ids: [String] = []

    @Flag(name: .customLong("allow-dirty"), help: ArgumentHelp(
        "Run tests that declare `dirties: true` even where the environment declares no `restore` (default: unsupported)."))
    var allowDirty = false

    @Flag(help: "Refuse (exit 65) a requirement on a fact name nothing knows: no probe, not declared by the environment, provided by no setup (a warning otherwise).")
    var strict = false

    var paths: [String] { suites.isEmpty ? ["."] : suites }

    /// The suite roots the paths lie in, and standalone executables.
    var suitePaths: SuitePaths { SuitePaths(paths) }

    /// Refuses a suite path that does not exist: a usage error (64), or exit
    /// `missing` when given (`run --exit-codes bisect`: 125).
    func requireExistingPaths(missing: Int32? = nil) throws {
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            let message = "\(path.escapingControls) does not exist; name a suite directory, a testbed.yaml or an executable test"
            if let missing { fail(message, status: missing) }
            throw ValidationError(message)
        }
    }

    /// Every `--tag` and `--id` given, in order: those ArgumentParser read
    /// and those `RepeatedSelections` took off the command line before it.
    var allTags: [String] { tags + RepeatedSelections.taken.withLock { $0.tags } }
    var allIDs: [String] { ids + RepeatedSelections.taken.withLock { $0.ids } }

    func validate() throws {
        for tag in Self.distinct(allTags) {
            do { _ = try TagExpression(parsing: tag) } catch { throw ValidationError("--tag: \(error.description)") }
        }
    }

    /// The selection: each distinct expression and pattern once (20,000
    /// `--tag=a` are one expression to match).
    func selection() throws -> TestSelection {
        TestSelection(tags: try Self.distinct(allTags).map { try TagExpression(parsing: $0) }, ids: Self.distinct(allIDs))
    }

    /// `values` without repeats, in the order first given.
    static func distinct(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }

    /// Loads the catalog, or exits `invalid` (65; 125 for bisect) listing every invalid declaration.
    func loadCatalog(invalid: Int32 = ExitStatus.invalidDeclarations) async -> Catalog {
        do {
            let catalog = try await CatalogLoader().load(suitePaths)
            if !catalog.warnings.isEmpty { writeText(catalog.warnings.map { "testbed: warning: \($0)\n" }.joined(), to: STDERR_FILENO) }
            return catalog
        } catch {
            if !error.warnings.isEmpty { writeText(error.warnings.map { "testbed: warning: \($0)\n" }.joined(), to: STDERR_FILENO) }
            // Testbed out of descriptors: said alone (what else failed may follow from it), as the lab's problem.
            let limits = error.errors.filter(\.isTestbedLimit)
            if !limits.isEmpty { fail(CatalogError(limits).description, status: cannotWork(invalid: invalid)) }
            fail(error.description, status: invalid)
        }
    }

    /// Loads the catalog and resolves the plan, exiting `invalid` (65; 125
    /// for bisect) on invalid declarations. `steps: false` for a plan with
    /// verdicts only (`check`).
    func resolve(in environment: Environment, steps: Bool = true,
                 invalid: Int32 = ExitStatus.invalidDeclarations) async throws -> Plan {
        try await resolveCatalog(in: environment, steps: steps, invalid: invalid).plan
    }

    /// The catalog as well as the plan.
    func resolveCatalog(in environment: Environment, steps: Bool = true,
                        invalid: Int32 = ExitStatus.invalidDeclarations) async throws -> (catalog: Catalog, plan: Plan) {
        let catalog = await loadCatalog(invalid: invalid)
        let selection = try selection()
        do {
            let resolver = Resolver(catalog: catalog, facts: environment,
                                    refusesDirtyingTests: environment.restore == nil && !allowDirty)
            let plan = try resolver.resolve(selection, steps: steps)
            keepUntilExit(catalog, plan)
            reportUnknownFacts(plan, catalog: catalog, selection: selection, environment: environment, invalid: invalid)
            return (catalog, plan)
        } catch {
            fail(error.description, status: invalid)
        }
    }

    /// Warns about every fact name nothing knows (a typo turns a test off
    /// without a word); with --strict, exits 65 instead.
    func reportUnknownFacts(_ plan: Plan, catalog: Catalog, selection: TestSelection, environment: Environment,
                            invalid: Int32) {
        // Without --tag and --id the plan has every test of the catalog: no copy of the list.
        let unknown = UnknownFact.find(
            tests: selection.tags.isEmpty && selection.ids.isEmpty ? catalog.tests : plan.tests.map(\.test),
            setups: catalog.setups, facts: environment, names: catalog.factNames)
        guard !unknown.isEmpty else { return }
        if strict { fail(unknown.map(\.description).joined(separator: "\n"), status: invalid) }
        writeText(unknown.map { "testbed: warning: \($0)\n" }.joined(), to: STDERR_FILENO)
    }
}

/// Repeated `--tag` and `--id` (`-k`) options, taken off the command line
/// before ArgumentParser reads it: it handles each repeat of an option in
/// time proportional to all the repeats before it (20,000 `--tag=a` took
/// 8 s), this in constant time. The first of each stays on the command line,
/// so ArgumentParser still checks it and `--help` is unchanged.
enum RepeatedSelections {
    /// Values taken, in order (after the first `--tag` and `--id`, which ArgumentParser reads).
    static let taken = Mutex<(tags: [String], ids: [String])>(([], []))

    /// Subcommands with `SelectionOptions`, and their options that take the
    /// next argument whatever it is (`-t --tag` is a value of `-t`).
    static let subcommands: [String: Set<String>] = [
        "check": [], "plan": [], "run": ["-t", "--timeout-multiplier"],
    ]

    /// `arguments` (without the program's name) with every `--tag X`,
    /// `--tag=X`, `--id X`, `--id=X` and `-k X` after the first of its kind
    /// removed into `taken`; unchanged unless the subcommand selects tests.
    /// Nothing after `--` is touched, nor a value that looks like an option
    /// (`--tag -x`: ArgumentParser's error stays).
    static func take(from arguments: [String]) -> [String] {
        guard let command = arguments.first, let unconditional = subcommands[command] else { return arguments }
        var kept: [String] = [command]
        kept.reserveCapacity(arguments.count)
        var tags: [String] = []
        var ids: [String] = []
        var seenTag = false
        var seenID = false
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                kept += arguments[index...]
                break
            }
            if unconditional.contains(argument), index + 1 < arguments.count {
                kept += arguments[index...(index + 1)]
                index += 2
                continue
            }
            var option: String?
            var value: String?
            var width = 1
            if argument == "--tag" || argument == "--id" || argument == "-k" {
                if index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") {
                    option = argument == "--tag" ? "tag" : "id"
                    value = arguments[index + 1]
                    width = 2
                }
            } else if argument.hasPrefix("--tag=") {
                option = "tag"
                value = String(argument.dropFirst("--tag=".count))
            } else if argument.hasPrefix("--id=") {
                option = "id"
                value = String(argument.dropFirst("--id=".count))
            }
            if let option, let value {
                let first = option == "tag" ? !seenTag : !seenID
                if option == "tag" { seenTag = true } else { seenID = true }
                if first {
                    kept += arguments[index..<(index + width)]
                } else if option == "tag" {
                    tags.append(value)
                } else {
                    ids.append(value)
                }
                index += width
                continue
            }
            kept.append(argument)
            index += 1
        }
        taken.withLock { $0 = (tags, ids) }
        return kept
    }
}

extension SuitePaths {
    /// The suite root for a command's first line: `suite: examples (root of
    /// examples/image)`, or without the colon inside a sentence (`plan for
    /// environment local, suite examples: …`); nil for standalone executables.
    func firstLineLabel(colon: Bool = true) -> String? {
        label.map { "\($0.noun)\(colon ? ":" : "") \($0.text)" }
    }
}

/// SIGINT, SIGTERM and SIGHUP kill the probe commands running (their own
/// process groups, which a terminal's Ctrl-C does not reach) before Testbed
/// dies of the signal as before. A signal already ignored (`nohup`) or
/// handled (`run` forwards them to its executor, and calls
/// `HelperProcesses.interrupt()` itself) is left as it is. Installed once.
func stopHelpersOnSignals() {
    helperSignalSources.withLock { sources in
        guard sources.isEmpty else { return }
        for number in [SIGINT, SIGTERM, SIGHUP] {
            let previous = signal(number, SIG_IGN)
            // SIG_DFL is the null handler.
            guard unsafeBitCast(previous, to: Int.self) == 0 else {
                signal(number, previous)
                continue
            }
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                HelperProcesses.interrupt()
                // Die of the signal, as without the handler: unblocked on this
                // thread (Dispatch's threads block signals), then raised.
                signal(number, SIG_DFL)
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, number)
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
                raise(number)
                _exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }
}

private let helperSignalSources = Mutex<[any DispatchSourceSignal]>([])

/// Values the process keeps until it exits: freeing a catalog of 100,000
/// tests object by object takes longer than the exit that unmaps it (as
/// compilers skip freeing their ASTs).
nonisolated(unsafe) private var keptUntilExit: [Any] = []

func keepUntilExit(_ values: Any...) {
    keptUntilExit.append(contentsOf: values)
}

/// Prints `testbed: error: MESSAGE` (each line of it) to stderr and exits.
func fail(_ message: String, status: Int32) -> Never {
    var text = ""
    for line in message.split(separator: "\n", omittingEmptySubsequences: false) {
        text += "testbed: error: \(line)\n"
    }
    writeText(text, to: STDERR_FILENO)
    exit(status)
}

/// Writes text to a descriptor; a closed pipe or a full disk loses the text
/// but never stops Testbed (FileHandle.write traps on errors).
@discardableResult
func writeText(_ text: String, to fd: Int32) -> Bool {
    var text = text
    return text.withUTF8 { testbed_write_all(fd, $0.baseAddress, $0.count) == 0 }
}

/// Writes text to stdout in one go.
func emit(_ text: String) {
    writeText(text, to: STDOUT_FILENO)
}

/// Encodes a value as JSON for programs: sorted keys, slashes as they are,
/// and no character `isUnprintable` names raw (`\u001b`, `\u009b`, `\u200b`):
/// fact values and reasons quote the host, and the JSON reaches terminals too.
func encodeJSON<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    return escapingUnprintableInJSON(String(decoding: data, as: UTF8.self)) + "\n"
}

/// ANSI styling for a terminal, off when stdout is not a TTY or NO_COLOR is set.
struct Style {
    let enabled: Bool

    static let standard = Style(
        enabled: isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
            && ProcessInfo.processInfo.environment["TERM"] != "dumb")

    func paint(_ text: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func bold(_ text: String) -> String { paint(text, "1") }
    func green(_ text: String) -> String { paint(text, "32") }
    func yellow(_ text: String) -> String { paint(text, "33") }
    func red(_ text: String) -> String { paint(text, "31") }
    func dim(_ text: String) -> String { paint(text, "2") }
}

extension String {
    /// Pads with spaces to `width` characters.
    /// Columns the text takes in a terminal, counting characters; ASCII text without counting grapheme clusters.
    var displayWidth: Int {
        utf8.contains(where: { $0 >= 0x80 }) ? count : utf8.count
    }

    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
