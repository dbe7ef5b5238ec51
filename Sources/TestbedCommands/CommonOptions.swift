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

/// `--environment FILE`.
struct EnvironmentOptions: ParsableArguments {
    @Option(name: [.customShort("e"), .long], help: ArgumentHelp(
        "An environment file describing the host: a path (from the current directory, else from the suite root), "
            + "or NAME for environments/NAME.yaml at the suite root; default: probe this host.",
        valueName: "file"))
    var environment: String?

    /// The environment of `--environment`, or of this host when none is given.
    ///
    /// - Parameters:
    ///   - policy: the exit codes of the command (`run --exit-codes bisect` changes them).
    ///   - suite: the suites named, whose first root a relative file or a NAME is looked for in
    ///     (nil: the suite around the current directory).
    /// - Returns: the environment.
    /// - Throws: `ValidationError` (64) for a missing file, or `CommandFailure` with
    ///   `policy.missingInput` when it has one (bisect: 125); `policy.invalidDeclarations`
    ///   (65; 125 for bisect) for an invalid file; `policy.cannotWork` when Testbed ran out of descriptors.
    func load(policy: ExitPolicy = .standard, suite: SuitePaths? = nil) throws -> Environment {
        if Testbed.ownsProcess {
            stopHelpersOnSignals()
            // Every child of this process is a probe until a run's steps start:
            // what a probe leaves in another session is killed when it ends.
            HelperProcesses.adoptOrphans()
        }
        guard environment != nil else { return Environment(local: HostProbe()) }
        // Checked in `validate()` too; here again for a file removed since.
        guard let path = resolvedPath(suite: suite) else {
            let message = missingFileMessage(suite: suite) ?? "environment file does not exist"
            if let missing = policy.missingInput { throw CommandFailure(message, status: missing) }
            throw ValidationError(message)
        }
        do {
            let environment = try Environment(contentsOf: path)
            if !environment.warnings.isEmpty {
                writeText(environment.warnings.map { "testbed: warning: \($0.escapingControls)\n" }.joined(), to: STDERR_FILENO)
            }
            return environment
        } catch {
            throw CommandFailure(error.description, status: error.isTestbedLimit ? policy.cannotWork : policy.invalidDeclarations)
        }
    }
}

extension EnvironmentOptions {
    /// The suite root `--environment` is looked for in: the first suite
    /// named, else the suite around the current directory.
    static func suiteRoot(_ suite: SuitePaths?) -> SuiteRoot? {
        if let first = suite?.suites.first { return first }
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
        return SuiteRoot.find(from: here).map { SuiteRoot(path: $0) }
    }

    /// The file `--environment` names, as it is opened: the path from the
    /// current directory when a file is there; else, from the suite root, the
    /// path (`environments/lab.yaml` from a sub-folder), or for a NAME without
    /// `/` and `.yaml`, `environments/NAME.yaml`. Nil when none is a file.
    ///
    /// - Parameter suite: the suites named (nil: the suite around the current directory).
    /// - Returns: the path, relative to the current directory or absolute; nil when no file is found.
    func resolvedPath(suite: SuitePaths?) -> String? {
        guard let path = environment else { return nil }
        if Self.isFile(path) { return path }
        guard !path.hasPrefix("/"), let root = Self.suiteRoot(suite) else { return nil }
        var candidates = [path]
        if !path.contains("/"), !path.hasSuffix(".yaml"), !path.hasSuffix(".yml") { candidates.insert("environments/\(path).yaml", at: 0) }
        for candidate in candidates where Self.isFile(joinPath(root.path, candidate)) {
            return joinPath(root.shown, candidate)
        }
        return nil
    }

    static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Why `--environment` names no file, nil when it does (or is not given):
    /// where it was looked for, and the environment files the suite has.
    ///
    /// - Parameter suite: the suites named (nil: the suite around the current directory).
    /// - Returns: the message, or nil.
    func missingFileMessage(suite: SuitePaths?) -> String? {
        guard let path = environment, resolvedPath(suite: suite) == nil else { return nil }
        let root = Self.suiteRoot(suite)
        var message = "environment file \(path.escapingControls) does not exist"
        if let root, !path.hasPrefix("/") { message += " here nor at the suite root \(root.shown.escapingControls)" }
        if let guess = CommandLineTypos.nearestSibling(of: path) { return message + "; did you mean \(guess.escapingControls)?" }
        let directory = root.map { joinPath($0.path, "environments") } ?? "environments"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if let root, let guess = closest(to: name.hasSuffix(".yaml") || name.hasSuffix(".yml") ? name : name + ".yaml", in: files) {
            let stem = guess.hasSuffix(".yaml") ? String(guess.dropLast(5)) : guess
            return message + "; did you mean -e \(stem.escapingControls) (\(joinPath(root.shown, "environments/" + guess).escapingControls))?"
        }
        guard !files.isEmpty else {
            return message + "; write one (environments/NAME.yaml at the suite root, see docs/environments.md) or leave out -e to probe this host"
        }
        let shown = files.prefix(10).map { "environments/" + $0 }.joined(separator: ", ")
        return message + "; the suite's environment files: \(shown.escapingControls)\(files.count > 10 ? ", …" : "")"
            + " (-e NAME names environments/NAME.yaml)"
    }

    /// Refuses an `--environment` file that does not exist; called from the
    /// subcommands' `validate()`, so the error comes with their usage.
    ///
    /// - Parameters:
    ///   - policy: the exit codes of the command.
    ///   - suite: the suites named (nil: the suite around the current directory).
    /// - Throws: `ValidationError` (64), or, when the policy has a status for
    ///   missing input (`run --exit-codes bisect`: 125), the message printed
    ///   and `ExitCode` of that status (as `SelectionOptions.requireExistingPaths`).
    func requireExistingFile(policy: ExitPolicy = .standard, suite: SuitePaths? = nil) throws {
        guard let message = missingFileMessage(suite: suite) else { return }
        if let missing = policy.missingInput {
            writeText(CommandFailure(message, status: missing).description, to: STDERR_FILENO)
            throw ExitCode(missing)
        }
        throw ValidationError(message)
    }
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

    @Option(name: .customLong("id"), help: ArgumentHelp(
        "Select tests by id: a prefix (/migration; a test's id selects all its variants), an id as it stands "
            + "('/m/precopy[accel=kvm]') or a glob (/migration/*/tcp); repeat to select either.",
        valueName: "pattern"))
    var ids: [String] = []

    @Option(name: .customShort("k"), help: ArgumentHelp(
        "Select tests whose id contains WORD, as pytest's -k (`-k precopy`); a WORD with `/` or a glob character "
            + "is an --id pattern; repeat to select either.",
        valueName: "word"))
    var keywords: [String] = []

    @Option(name: .customLong("ids-from"), help: ArgumentHelp(
        "Select the tests whose ids FILE lists, one per line, each exactly as it stands (no prefix, no glob; blank and "
            + "# lines ignored); every id must be a test of the suite; with --id or -k, tests either selects.",
        valueName: "file"))
    var idsFrom: String?

    @Option(name: .customLong("variant"), help: ArgumentHelp(
        "Select the variants whose AXIS is VALUE (`--variant accel=kvm`); the same axis repeated selects either, different "
            + "axes all; a test without the axis is not filtered by it.",
        valueName: "axis=value"))
    var variants: [String] = []

    @Flag(name: .customLong("allow-dirty"), help: ArgumentHelp(
        "Run tests that declare `dirties: true` even where the environment declares no `restore` (default: unsupported)."))
    var allowDirty = false

    @Flag(help: ArgumentHelp("Refuse (exit 65) a requirement on a fact name nothing knows: no probe, not "
        + "declared by the environment, provided by no setup (a warning otherwise)."))
    var strict = false

    @Option(help: ArgumentHelp("Read every suite named as this format (default: recognised by its files): "
        + SuiteFormat.names + ".", valueName: "name"))
    var format: SuiteFormat?

    var paths: [String] { suites.isEmpty ? ["."] : suites }

    /// The suite roots the paths lie in, and standalone executables.
    var suitePaths: SuitePaths { SuitePaths(paths) }

    /// Refuses a suite path that does not exist; called from `validate()`.
    ///
    /// - Parameter policy: the exit codes of the command.
    /// - Throws: `ValidationError` (a usage error, 64), or, when the policy
    ///   has a status for missing input (`run --exit-codes bisect`: 125), the
    ///   message printed and `ExitCode` of that status: ArgumentParser wraps
    ///   any other error thrown from `validate()`, so a `CommandFailure`
    ///   would not reach `Testbed.start()` as itself.
    func requireExistingPaths(policy: ExitPolicy = .standard) throws {
        if let idsFrom, !EnvironmentOptions.isFile(idsFrom) {
            var message = "--ids-from \(idsFrom.escapingControls) is not a file"
            if let guess = CommandLineTypos.nearestSibling(of: idsFrom) { message += "; did you mean \(guess.escapingControls)?" }
            else { message += "; name a file of test ids, one per line" }
            if let missing = policy.missingInput {
                writeText(CommandFailure(message, status: missing).description, to: STDERR_FILENO)
                throw ExitCode(missing)
            }
            throw ValidationError(message)
        }
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            Self.missingPath.withLock { $0 = path }
            let message = if let guess = CommandLineTypos.nearestSibling(of: path) {
                "\(path.escapingControls) does not exist; did you mean \(guess.escapingControls)?"
            } else {
                "\(path.escapingControls) does not exist; name a suite directory, a testbed.yaml or an executable test"
            }
            if let missing = policy.missingInput {
                writeText(CommandFailure(message, status: missing).description, to: STDERR_FILENO)
                throw ExitCode(missing)
            }
            throw ValidationError(message)
        }
    }

    /// The suite path `requireExistingPaths` refused last, for
    /// `CommandLineTypos.testIDHint` (a test id given as a path).
    static let missingPath = Mutex<String?>(nil)

    /// Every `--tag` and `--id` given, in order: those ArgumentParser read
    /// and those `RepeatedSelections` took off the command line before it.
    var allTags: [String] { tags + RepeatedSelections.taken.withLock { $0.tags } }
    /// `-k` words are made `--id` patterns (`CommandLineTypos.keywordPattern`).
    var allIDs: [String] { idOptions.map(\.pattern) }

    /// Every `--id` and `-k` given, as written (`-k precopy`) and as the pattern matched (`*precopy*`).
    var idOptions: [(written: String, pattern: String)] {
        let (takenIDs, takenKeywords) = RepeatedSelections.taken.withLock { ($0.ids, $0.keywords) }
        return (ids + takenIDs).map { ("--id " + $0, $0) }
            + (keywords + takenKeywords).map { ("-k " + $0, CommandLineTypos.keywordPattern($0)) }
    }

    func validate() throws {
        for tag in Self.distinct(allTags) {
            do { _ = try TagExpression(parsing: tag) } catch { throw ValidationError("--tag: \(error.description)") }
        }
        _ = try variantPairs()
    }

    /// `--variant AXIS=VALUE` as pairs, in order.
    /// - Throws: `ValidationError` (64) for one without `=`, or with an axis or value that no variant could have.
    func variantPairs() throws -> [(axis: String, value: String)] {
        try variants.map { written in
            guard let equals = written.firstIndex(of: "=") else {
                throw ValidationError("--variant \(written.escapingControls) has no `=`; write --variant AXIS=VALUE, e.g. --variant accel=kvm")
            }
            let axis = String(written[..<equals])
            let value = String(written[written.index(after: equals)...])
            guard TestVariant.isValidAxis(axis), TestVariant.isValidValue(value) else {
                throw ValidationError("--variant \(written.escapingControls) is not AXIS=VALUE with an axis of a-z, 0-9, _ and - and a "
                    + "value of letters, digits, ., _, + and -; write e.g. --variant accel=kvm")
            }
            return (axis, value)
        }
    }

    /// The selection: each distinct expression and pattern once (20,000
    /// `--tag=a` are one expression to match), with the ids of `--ids-from` read from its file.
    ///
    /// - Parameter policy: the exit codes of the command.
    /// - Returns: the selection.
    /// - Throws: `TagExpression.ParseError` or `ValidationError` for an option that does not parse, `CommandFailure`
    ///   for an `--ids-from` file that cannot be read (`readIDsFile`).
    func selection(policy: ExitPolicy = .standard) throws -> TestSelection {
        try selection(idsFile: readIDsFile(policy: policy))
    }

    /// The selection, with the `--ids-from` file already read.
    ///
    /// - Parameter idsFile: the `--ids-from` file as read (`readIDsFile()`); nil when none is given.
    /// - Returns: the selection.
    /// - Throws: `TagExpression.ParseError` or `ValidationError` for an option that does not parse.
    func selection(idsFile: IDsFile?) throws -> TestSelection {
        var variantValues: [String: Set<String>] = [:]
        for (axis, value) in try variantPairs() { variantValues[axis, default: []].insert(value) }
        return TestSelection(tags: try Self.distinct(allTags).map { try TagExpression(parsing: $0) }, ids: Self.distinct(allIDs),
                             variants: variantValues, exactIDs: idsFile?.ids)
    }

    /// The `--ids-from` file, read; nil when none is given.
    ///
    /// - Parameter policy: the exit codes of the command.
    /// - Returns: the file's ids.
    /// - Throws: `CommandFailure` with `policy.missingInput` (bisect: 125), else `policy.badCommandLine` (64), when it
    ///   cannot be read.
    func readIDsFile(policy: ExitPolicy = .standard) throws(CommandFailure) -> IDsFile? {
        guard let idsFrom else { return nil }
        do { return try IDsFile(contentsOf: idsFrom) } catch {
            throw CommandFailure(error.description, status: policy.missingInput ?? policy.badCommandLine)
        }
    }

    /// Refuses a `--variant` whose axis, or whose value, none of the tests the rest of the selection takes has: a typo
    /// would otherwise select nothing, or every test, without a word.
    ///
    /// - Parameters:
    ///   - catalog: The catalog the paths loaded.
    ///   - selection: The selection (`selection()`).
    ///   - policy: The exit codes of the command.
    /// - Throws: `CommandFailure` with `policy.badCommandLine` (64), naming the nearest axis or value.
    func checkVariants(_ catalog: SuiteCatalog, selection: TestSelection, policy: ExitPolicy) throws {
        guard !selection.variants.isEmpty else { return }
        let others = TestSelection(tags: selection.tags, ids: selection.ids, exactIDs: selection.exactIDs)
        var axes: [String] = []
        var values: [String: [String]] = [:]
        for test in catalog.tests where test.variant != nil && others.matches(test) {
            for value in test.variant!.values {
                if values[value.axis] == nil { axes.append(value.axis) }
                if !(values[value.axis]?.contains(value.value) ?? false) { values[value.axis, default: []].append(value.value) }
            }
        }
        for (axis, value) in try variantPairs() {
            guard let known = values[axis] else {
                var message = "--variant \(axis)=\(value): no selected test has the axis \"\(axis)\""
                // A pair some test has, not the nearest axis with a value it may not have.
                let pairs = axes.flatMap { known in (values[known] ?? []).map { known + "=" + $0 } }
                if let guess = closest(to: axis + "=" + value, in: pairs) { message += "; did you mean --variant \(guess)?" }
                else if axes.isEmpty { message += "; none of them has variants" }
                else { message += "; their axes are " + axes.joined(separator: ", ") }
                throw CommandFailure(message, status: policy.badCommandLine)
            }
            guard known.contains(value) else {
                var message = "--variant \(axis)=\(value): no selected test has the value \"\(value)\" on the axis \"\(axis)\""
                if let guess = closest(to: value, in: known) { message += "; did you mean --variant \(axis)=\(guess)?" }
                else { message += "; its values are " + known.joined(separator: ", ") }
                throw CommandFailure(message, status: policy.badCommandLine)
            }
        }
    }

    /// `values` without repeats, in the order first given.
    static func distinct(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }

    /// Loads the catalog of the suites named, warning about what it found odd.
    ///
    /// - Parameter policy: the exit codes of the command.
    /// - Returns: the catalog.
    /// - Throws: `CommandFailure` listing every invalid declaration, with
    ///   `policy.invalidDeclarations` (65; 125 for bisect), or `policy.cannotWork`
    ///   when Testbed ran out of descriptors while loading.
    func loadCatalog(policy: ExitPolicy = .standard) async throws(CommandFailure) -> SuiteCatalog {
        do {
            let catalog = try await CatalogLoader(format: format).load(suitePaths)
            if !catalog.warnings.isEmpty { writeText(catalog.warnings.map { "testbed: warning: \($0)\n" }.joined(), to: STDERR_FILENO) }
            return catalog
        } catch {
            if !error.warnings.isEmpty { writeText(error.warnings.map { "testbed: warning: \($0)\n" }.joined(), to: STDERR_FILENO) }
            // Testbed out of descriptors: said alone (what else failed may follow from it), as the lab's problem.
            let limits = error.errors.filter(\.isTestbedLimit)
            if !limits.isEmpty { throw CommandFailure(CatalogError(limits).description, status: policy.cannotWork) }
            throw CommandFailure(error.description, status: policy.invalidDeclarations)
        }
    }

    /// Loads the catalog and resolves the plan.
    ///
    /// - Parameters:
    ///   - environment: the facts to resolve against.
    ///   - steps: false for a plan with verdicts only (`check`).
    ///   - policy: the exit codes of the command.
    /// - Returns: the plan.
    /// - Throws: `CommandFailure` with `policy.invalidDeclarations` (65; 125 for bisect)
    ///   on invalid declarations (see `resolveCatalog`).
    func resolve(in environment: Environment, steps: Bool = true, policy: ExitPolicy = .standard) async throws -> Plan {
        try await resolveCatalog(in: environment, steps: steps, policy: policy).plan
    }

    /// The catalog as well as the plan (see `resolve`).
    ///
    /// - Parameters:
    ///   - environment: the facts to resolve against.
    ///   - steps: false for a plan with verdicts only (`check`).
    ///   - policy: the exit codes of the command.
    ///   - command: the subcommand's name, for the commands a warning suggests (`check`).
    /// - Returns: the catalog the paths loaded and the plan.
    /// - Throws: `CommandFailure` with `policy.invalidDeclarations` (65; 125 for bisect) on invalid declarations.
    func resolveCatalog(in environment: Environment, steps: Bool = true, policy: ExitPolicy = .standard,
                        command: String = "check") async throws -> (catalog: SuiteCatalog, plan: Plan) {
        let idsFile = try readIDsFile(policy: policy)
        let catalog = try await loadCatalog(policy: policy)
        let selection = try selection(idsFile: idsFile)
        if let idsFile {
            let lines = idsFile.unknownLines(known: catalog.tests.map(\.id), elsewhere: catalog.unselectedIDs, narrowing: narrowingText)
            if !lines.isEmpty { throw CommandFailure(lines.joined(separator: "\n"), status: policy.badCommandLine) }
        }
        try checkVariants(catalog, selection: selection, policy: policy)
        let plan: Plan
        do {
            let resolver = Resolver(catalog: catalog, facts: environment,
                                    refusesDirtyingTests: environment.restore == nil && !allowDirty)
            plan = try resolver.resolve(selection, steps: steps)
        } catch {
            throw CommandFailure(error.description, status: policy.invalidDeclarations)
        }
        keepUntilExit(catalog, plan)
        if plan.tests.isEmpty, !selection.ids.isEmpty {
            var seen: Set<String> = []
            let options = idOptions.filter { seen.insert($0.written).inserted }
            let lines = CommandLineTypos.unmatchedIDs(options, ids: catalog.tests.map(\.id), elsewhere: catalog.unselectedIDs,
                                                      narrowing: narrowingText, command: command, root: rootFromHere)
            writeText(lines.map { "testbed: warning: \($0)\n" }.joined(), to: STDERR_FILENO)
        }
        try reportUnknownFacts(plan, catalog: catalog, selection: selection, environment: environment, policy: policy)
        return (catalog, plan)
    }

    /// What the paths narrowed the suite to, when they name part of one
    /// suite: `those under /net`; nil for a whole suite or several.
    var narrowingText: String? {
        let suites = suitePaths.suites
        guard suites.count == 1, !suites[0].isWhole else { return nil }
        return suites[0].selectionText
    }

    /// The way from the working directory to the suite root, when the paths
    /// name part of one suite: `..` from a sub-folder, else the root as shown.
    var rootFromHere: String? {
        let suites = suitePaths.suites
        guard suites.count == 1 else { return nil }
        let root = suites[0].path
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
        if here == root { return "." }
        guard here.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { return suites[0].shown }
        let depth = here.dropFirst(root.count).split(separator: "/").count
        return Array(repeating: "..", count: max(1, depth)).joined(separator: "/")
    }

    /// Why nothing is selected, with what to do: the paths hold none of the
    /// suite's tests (a sub-folder without any), the suite declares none, or
    /// `--tag`, `--id` and `-k` match none of those the paths select.
    ///
    /// - Parameters:
    ///   - catalog: the catalog the paths loaded.
    ///   - command: the subcommand, for the command suggested (`run ..`).
    /// - Returns: one line, starting `no tests selected:`.
    func nothingSelectedMessage(_ catalog: SuiteCatalog, command: String = "check") -> String {
        let declared = catalog.declaredCounts.reduce(0, +)
        if catalog.tests.isEmpty {
            if declared == 0, suitePaths.executables.isEmpty {
                return "no tests selected: the suite declares no tests; declare one under `tests:` in testbed.yaml, or give an "
                    + "executable a `# testbed-description:` header (docs/suites.md)"
            }
            let tests = declared == 1 ? "the suite's one test is not" : "none of the suite's \(declared) tests is"
            let narrowed = narrowingText.map { " \($0)" } ?? " what the path names"
            let reach = rootFromHere.map { "; name the suite root (`testbed \(command) \($0.escapingControls)`) or run from it" } ?? ""
            return "no tests selected: \(tests) among\(narrowed)\(reach)"
        }
        let count = catalog.tests.count == 1 ? "the one test" : "the \(catalog.tests.count) tests"
        let options = idsFrom == nil ? "--tag, --id and -k" : "--tag, --id, -k and --ids-from"
        return "no tests selected: \(options) match none of \(count) the path selects; check them "
            + "(`testbed check --json` lists the ids; -k WORD selects the ids containing WORD)"
    }

    /// Warns about every fact name nothing knows (a typo turns a test off
    /// without a word).
    ///
    /// - Throws: with --strict, `CommandFailure` naming each, with
    ///   `policy.invalidDeclarations` (65; 125 for bisect).
    func reportUnknownFacts(_ plan: Plan, catalog: SuiteCatalog, selection: TestSelection, environment: Environment,
                            policy: ExitPolicy) throws(CommandFailure) {
        // Without --tag and --id the plan has every test of the catalog: no copy of the list.
        let unknown = UnknownFact.find(
            tests: selection.tags.isEmpty && !selection.selectsByID ? catalog.tests : plan.tests.map(\.test),
            setups: catalog.setups, facts: environment, names: catalog.factNames)
        guard !unknown.isEmpty else { return }
        if strict { throw CommandFailure(unknown.map(\.description).joined(separator: "\n"), status: policy.invalidDeclarations) }
        writeText(unknown.map { "testbed: warning: \($0)\n" }.joined(), to: STDERR_FILENO)
    }
}

/// Repeated `--tag` and `--id` (`-k`) options, taken off the command line
/// before ArgumentParser reads it: it handles each repeat of an option in
/// time proportional to all the repeats before it (20,000 `--tag=a` took
/// 8 s), this in constant time. The first of each stays on the command line,
/// so ArgumentParser still checks it and `--help` is unchanged.
enum RepeatedSelections {
    /// Values taken, in order (after the first `--tag`, `--id` and `-k`, which
    /// ArgumentParser reads).
    static let taken = Mutex<(tags: [String], ids: [String], keywords: [String])>(([], [], []))

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
        var keywords: [String] = []
        var seen: Set<String> = []
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
                    option = String(argument.drop { $0 == "-" })
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
                if seen.insert(option).inserted {
                    kept += arguments[index..<(index + width)]
                } else if option == "tag" {
                    tags.append(value)
                } else {
                    if option == "k" { keywords.append(value) } else { ids.append(value) }
                }
                index += width
                continue
            }
            kept.append(argument)
            index += 1
        }
        taken.withLock { $0 = (tags, ids, keywords) }
        return kept
    }
}

extension SuitePaths {
    /// The suite root for a command's first line: `suite: examples (2 of its
    /// 6 tests: those under /image)`, or without the colon inside a sentence (`plan for
    /// environment local, suite examples: …`); nil for standalone executables.
    ///
    /// - Parameters:
    ///   - colon: a colon after `suite` (`check`'s first line), or none (`run`'s, inside a sentence).
    ///   - catalog: the catalog loaded, for how many tests the paths select of how many (`2 of its 6 tests`).
    /// - Returns: the label, or nil.
    func firstLineLabel(colon: Bool = true, catalog: SuiteCatalog? = nil) -> String? {
        label(selected: catalog?.selectedCounts ?? [], declared: catalog?.declaredCounts ?? []).map { "\($0.noun)\(colon ? ":" : "") \($0.text)" }
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
                // Noted first: the command may end as soon as its probe is
                // killed, and `Testbed.start()` then dies of the signal itself.
                caughtSignal.store(number, ordering: .sequentiallyConsistent)
                HelperProcesses.interrupt()
                dieOf(number)
            }
            source.resume()
            sources.append(source)
        }
    }
}

private let helperSignalSources = Mutex<[any DispatchSourceSignal]>([])

/// The signal `stopHelpersOnSignals` caught, 0 for none.
private let caughtSignal = Atomic<Int32>(0)

/// Dies of the signal `stopHelpersOnSignals` caught, if any: a command that
/// ended because the signal stopped its probes must not exit as if it had
/// finished (`Testbed.start()` calls this before it exits).
func dieOfCaughtSignal() {
    let number = caughtSignal.load(ordering: .sequentiallyConsistent)
    if number != 0 { dieOf(number) }
}

/// Dies of a signal, as without a handler: unblocked on this thread
/// (Dispatch's threads block signals), then raised. Only if the signal did
/// not kill the process (it is blocked elsewhere): exits as if it had. This
/// may run on a Dispatch thread in the middle of any command, where nothing
/// can be thrown to `Testbed.start()`; the process must end here.
private func dieOf(_ number: Int32) -> Never {
    signal(number, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    raise(number)
    _exit(ExitPolicy.killed(by: number))
}

/// Values the process keeps until it exits: freeing a catalog of 100,000
/// tests object by object takes longer than the exit that unmaps it (as
/// compilers skip freeing their ASTs).
nonisolated(unsafe) private var keptUntilExit: [Any] = []

func keepUntilExit(_ values: Any...) {
    keptUntilExit.append(contentsOf: values)
}

/// Why a command stops: its message and the status to exit with. Commands
/// and their option helpers throw it; `Testbed.start()` prints it as
/// `testbed: error: MESSAGE` (each line of it) on stderr and exits with
/// `status` — the only place that does.
public struct CommandFailure: Error, CustomStringConvertible, Equatable {
    /// What is wrong and what to do about it; one or more lines.
    public let message: String
    /// The exit status (`ExitPolicy`).
    public let status: Int32

    /// A failure.
    ///
    /// - Parameters:
    ///   - message: what is wrong, ending with the fix.
    ///   - status: the exit status, from `ExitPolicy`.
    public init(_ message: String, status: Int32) {
        self.message = message
        self.status = status
    }

    /// The message as printed: `testbed: error: ` before each line.
    public var description: String {
        message.split(separator: "\n", omittingEmptySubsequences: false).map { "testbed: error: \($0)\n" }.joined()
    }
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

/// `directory/relative`, or `relative` alone when the directory is `.`.
func joinPath(_ directory: String, _ relative: String) -> String {
    if directory == "." { return relative }
    return directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
}

extension SuiteFormat: ExpressibleByArgument {}
