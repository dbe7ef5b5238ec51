import Declarations
import Foundation
import HostFacts
import Requirements
import Synchronization

/// Loads suites: `testbed.yaml` files anywhere in a directory tree, drop-in
/// executables with `testbed-KEY:` headers, and executables named outright.
///
/// Every problem found is collected, so one run of `testbed check` lists all
/// of them, each with file and line.
///
/// Loading has three parts: `SuiteWalker` finds a suite's files (`Walk/`);
/// a decoder per format reads each (`Formats/`: `TestbedYAMLDecoder`,
/// `DropInDecoder`); `CatalogValidator` checks across them once all are read
/// (duplicates, setup references). Another suite format is a decoder in
/// `Formats/`, the files it reads found by the walker and dispatched in
/// `load(_:state:)`.
public struct CatalogLoader: Sendable {
    /// The name of declaration files.
    public static let declarationFile = "testbed.yaml"
    /// Directories never searched for tests.
    public static let skippedDirectories: Set<String> = ["testbed-results", "node_modules"]

    /// The format every suite is read as (`--format`); nil: each suite's own, recognised by its files.
    public let format: SuiteFormat?

    /// A loader.
    ///
    /// - Parameter format: the format every suite is read as (`--format NAME`), or nil to recognise each by its files.
    public init(format: SuiteFormat? = nil) {
        self.format = format
    }

    /// Loads every path: each is looked up to its suite root (`SuitePaths`),
    /// every suite is loaded whole, and the tests the paths name are kept.
    ///
    /// - Parameter paths: Files and directories as the user wrote them, relative to the working directory.
    /// - Returns: The catalog of the tests the paths name, every setup of their suites, and the loader's warnings.
    /// - Throws: `CatalogError` listing every invalid declaration (a missing path, a file that does not parse, a duplicate id,
    ///   an unknown setup), with the warnings.
    public func load(_ paths: [String]) async throws(CatalogError) -> SuiteCatalog {
        try await load(SuitePaths(paths))
    }

    /// Loads each suite whole (its setups are all there), keeping the tests
    /// its named parts select, and the standalone executables.
    ///
    /// Files are read concurrently, one worker per core; results are
    /// merged back in tree order, so ids and errors come out in the same order
    /// every time.
    ///
    /// - Parameter paths: The paths looked up to their suite roots, standalone executables and missing paths.
    /// - Returns: The catalog: the selected tests in tree order, every setup of the suites, the roots, the fact names required,
    ///   and the loader's warnings.
    /// - Throws: `CatalogError` listing every invalid declaration across the suites (named parts or not), in tree order, with
    ///   the warnings.
    public func load(_ paths: SuitePaths) async throws(CatalogError) -> SuiteCatalog {
        var units: [Unit] = paths.missing.map { .missing($0) }
        var warnings: [String] = []
        for (index, suite) in paths.suites.enumerated() {
            let format = self.format ?? SuiteFormat.recognise(suite.path)
            if format != .testbed {
                units.append(.field(format, root: suite.path, shown: suite.shown, suite: index))
                continue
            }
            var files: [SuiteFile] = []
            let walker = SuiteWalker()
            walker.walk(suite, into: &files, warnings: &warnings)
            walker.markNamedExecutables(of: suite, in: &files)
            units += files.map { .suiteFile($0, root: suite.shown, suite: index) }
        }
        units += paths.executables.map { .executable($0) }
        // One worker per core takes the next file as it finishes one, so
        // no core idles while another still has a queue of files. Each
        // worker keeps its own caches (equal requirement lists parsed once).
        // Workers also hash the ids, so the duplicate check after them is cheap.
        typealias Loaded = (tests: [TestDefinition], idHashes: [Int], setups: [SetupDefinition], errors: [DeclarationError])
        let next = UnitCounter()
        let ids = RequirementSetCounter()
        let allUnits = units
        let workers = max(1, min(units.count, ProcessInfo.processInfo.activeProcessorCount))
        typealias Worker = (loaded: [(Int, Loaded)], factNames: Set<String>, relativePrograms: Int)
        var factNames: Set<String> = []
        var relativePrograms = 0
        let results = await withTaskGroup(of: Worker.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var state = LoadState(ids: ids)
                    var loaded: [(Int, Loaded)] = []
                    while true {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        guard index < allUnits.count else { break }
                        self.load(allUnits[index], state: &state)
                        loaded.append((index, (state.tests, state.tests.map(\.id.hashValue), state.setups, state.errors)))
                        state.tests = []
                        state.setups = []
                        state.errors = []
                    }
                    return (loaded, state.requirements.factNames, state.relativePrograms)
                }
            }
            var results = [Loaded?](repeating: nil, count: units.count)
            for await worker in group {
                for (index, unit) in worker.loaded { results[index] = unit }
                factNames.formUnion(worker.factNames)
                relativePrograms += worker.relativePrograms
            }
            return results
        }
        var state = LoadState()
        var idHashes: [Int] = []
        // Whether the paths named each test of `state.tests`.
        var selected: [Bool] = []
        var declaredCounts = [Int](repeating: 0, count: paths.suites.count)
        var selectedCounts = declaredCounts
        for (index, result) in results.enumerated() {
            guard let result else { continue }
            state.tests += result.tests
            idHashes += result.idHashes
            state.setups += result.setups
            state.errors += result.errors
            let suite: Int? = switch allUnits[index] {
            case let .suiteFile(_, _, suite), let .field(_, _, _, suite): suite
            default: nil
            }
            if let suite { declaredCounts[suite] += result.tests.count }
            if let suite, !paths.suites[suite].isWhole {
                let named = result.tests.map { test in
                    if case let .suiteFile(file, _, _) = allUnits[index] { return Self.isNamed(test, from: file, by: paths.suites[suite]) }
                    return Self.isNamed(test, by: paths.suites[suite])
                }
                selectedCounts[suite] += named.count(where: { $0 })
                selected += named
            } else {
                if let suite { selectedCounts[suite] += result.tests.count }
                selected += repeatElement(true, count: result.tests.count)
            }
        }
        // Duplicates and setup references are checked over the whole suite, named or not.
        state.errors += CatalogValidator.duplicates(tests: state.tests, idHashes: idHashes, setups: state.setups)
        state.errors += CatalogValidator.setupReferences(tests: state.tests, setups: state.setups)
        state.errors += CatalogValidator.bracketedIDs(tests: state.tests)
        if !state.errors.isEmpty { throw CatalogError(state.errors, warnings: warnings) }
        let everyTest = selected.allSatisfy { $0 }
        let tests = everyTest ? state.tests : zip(state.tests, selected).compactMap { $1 ? $0 : nil }
        var catalog = SuiteCatalog(validated: tests, setups: state.setups, roots: paths.suites.map(\.path) + paths.executables,
                                   factNames: factNames, relativePrograms: relativePrograms, warnings: warnings)
        if !everyTest { catalog.unselectedIDs = zip(state.tests, selected).compactMap { $1 ? nil : $0.id } }
        catalog.declaredCounts = declaredCounts
        catalog.selectedCounts = selectedCounts
        return catalog
    }

    /// Whether a part of the suite the command line named selects a test
    /// loaded from `file`.
    static func isNamed(_ test: TestDefinition, from file: SuiteFile, by suite: SuiteRoot) -> Bool {
        suite.parts.contains { part in
            switch part {
            case .whole: true
            case .directory(let prefix): test.id == prefix || test.id.hasPrefix(prefix + "/")
            case .declarations(let directory): file.isDeclaration && file.relative == directory
            case .executable(let relative): !file.isDeclaration && file.relative == relative
            }
        }
    }

    /// Whether a part of a field suite the command line named selects `test`: a directory selects the ids under it.
    static func isNamed(_ test: TestDefinition, by suite: SuiteRoot) -> Bool {
        suite.parts.contains { part in
            switch part {
            case .whole: true
            case .directory(let prefix): test.id == prefix || test.id.hasPrefix(prefix + "/")
            case .declarations, .executable: false
            }
        }
    }

    /// The next unit to load, shared by the workers.
    final class UnitCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// One thing to read.
    enum Unit: Sendable {
        case missing(String)
        /// A standalone executable, as named.
        case executable(String)
        /// A file of suite number `suite`; `root` is the suite's root as shown.
        case suiteFile(SuiteFile, root: String, suite: Int)
        /// A whole suite of a field format; `root` absolute, `shown` as shown.
        case field(SuiteFormat, root: String, shown: String, suite: Int)
    }

    func load(_ unit: Unit, state: inout LoadState) {
        switch unit {
        case .missing(let path):
            state.errors.append(DeclarationError(file: path, line: nil,
                message: "no such file or directory; name a suite directory or an executable test"))
        case .executable(let path):
            var id = path
            while id.hasPrefix("./") { id = String(id.dropFirst(2)) }
            if !id.hasPrefix("/") { id = "/" + id }
            DropInDecoder().loadExecutable(path, shownAs: path, id: id, state: &state)
        case let .field(format, root, shown, _):
            format.decoder?.decode(root: root, shownAs: shown, state: &state)
        case let .suiteFile(file, root, _):
            if file.misnamed {
                state.errors.append(DeclarationError(file: Self.join(root, file.relative), line: nil, message:
                    "the name is not valid UTF-8, so it cannot become a test id; rename it"))
            } else if let code = file.outOfDescriptors {
                state.errors.append(.outOfDescriptors(file: file.relative.isEmpty ? root : Self.join(root, file.relative), errno: code))
            } else if let problem = file.unreadable {
                state.errors.append(DeclarationError(file: file.relative.isEmpty ? root : Self.join(root, file.relative),
                                                     line: nil, message: problem))
            } else if file.named {
                DropInDecoder().loadExecutable(file.path, shownAs: Self.join(root, file.relative), id: "/" + file.relative, state: &state)
            } else if file.isDeclaration {
                let shown = file.shownAs ?? Self.join(root, file.relative.isEmpty ? Self.declarationFile : file.relative + "/" + Self.declarationFile)
                TestbedYAMLDecoder().decode(file.path, shownAs: shown, suiteRoot: root, relativeDirectory: file.relative, state: &state)
            } else {
                DropInDecoder().loadDropIn(file.path, shownAs: Self.join(root, file.relative), id: "/" + file.relative, state: &state)
            }
        }
    }

    static func join(_ root: String, _ relative: String) -> String {
        if root == "." { return relative }
        return root.hasSuffix("/") ? root + relative : root + "/" + relative
    }
}
