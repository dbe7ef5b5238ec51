import Declarations
import Foundation
import HostFacts
import Requirements

/// The paths of a command line sorted into suites, each root once however
/// many paths name parts of it, and standalone executables.
///
/// A directory selects the tests whose id lies under its path from the root,
/// a `testbed.yaml` the tests declared in it, an executable inside a suite its
/// own test. An executable in no suite (neither its directory nor the parent
/// holds a `testbed.yaml`) is a standalone test whose id is its path, as
/// given: naming `./my-test.sh` never loads the home directory around it.
public struct SuitePaths: Sendable {
    /// The suites, in the order the command line first names them.
    public internal(set) var suites: [SuiteRoot] = []
    /// Executables named outright that lie in no suite, as given.
    public internal(set) var executables: [String] = []
    /// Paths that do not exist, as given.
    public internal(set) var missing: [String] = []

    /// The results directory when none is given.
    public static let resultsDirectory = "testbed-results"

    /// Looks each path up to its suite root.
    /// - Parameters:
    ///   - paths: The paths as the user wrote them.
    ///   - workingDirectory: The directory relative paths start from.
    public init(_ paths: [String], workingDirectory: String = FileManager.default.currentDirectoryPath) {
        var identities: [String] = []
        for path in paths {
            let absolute = SuiteRoot.absolute(path, from: workingDirectory)
            var info = stat()
            guard stat(absolute, &info) == 0 else {
                missing.append(path)
                continue
            }
            let rootPath: String
            let target: String
            let kind: Kind
            if info.st_mode & S_IFMT == S_IFDIR {
                rootPath = SuiteRoot.find(from: absolute) ?? absolute
                (target, kind) = (absolute, .directory)
            } else {
                let directory = SuiteRoot.parentDirectory(of: absolute)
                let isDeclarations = absolute.hasSuffix("/" + CatalogLoader.declarationFile) && info.st_mode & S_IFMT == S_IFREG
                guard let found = SuiteRoot.find(from: directory) else {
                    executables.append(path)
                    continue
                }
                rootPath = found
                (target, kind) = isDeclarations ? (directory, .declarations) : (absolute, .executable)
            }
            // The same directory reached through different spellings (symlinks) is one suite.
            let identity = Self.identity(of: rootPath)
            let index = identities.firstIndex(of: identity) ?? suites.count
            if index == suites.count {
                identities.append(identity)
                suites.append(SuiteRoot(path: rootPath, workingDirectory: workingDirectory))
            }
            // Relative to the root as this path reached it (the stored one may be spelt otherwise).
            let relative = SuiteRoot(path: rootPath, workingDirectory: workingDirectory).relative(target) ?? ""
            suites[index].add(Self.part(kind, relative))
            suites[index].named.append(path)
        }
        foldNestedSuites()
    }

    enum Kind { case directory, declarations, executable }

    static func part(_ kind: Kind, _ relative: String) -> SuiteRoot.Part {
        switch kind {
        case .directory: relative.isEmpty ? .whole : .directory(idPrefix: "/" + relative)
        case .declarations: .declarations(directory: relative)
        case .executable: .executable(relative)
        }
    }

    static func identity(of directory: String) -> String {
        guard let resolved = realpath(directory, nil) else { return directory }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A root that lies inside another named root's tree is walked as part
    /// of the outer one: its files are loaded once, with ids from the outer
    /// root. (Not one that starts a suite of its own: the outer walk leaves it out.)
    mutating func foldNestedSuites() {
        var index = 0
        while index < suites.count {
            let inner = suites[index]
            guard !SuiteRoot.startsSuiteOfItsOwn(inner.path),
                  let outer = suites.indices.first(where: { $0 != index && (suites[$0].relative(inner.path).map { !$0.isEmpty } ?? false) }),
                  let prefix = suites[outer].relative(inner.path) else {
                index += 1
                continue
            }
            for part in inner.parts {
                let moved: SuiteRoot.Part = switch part {
                case .whole: .directory(idPrefix: "/" + prefix)
                case .directory(let idPrefix): .directory(idPrefix: "/" + prefix + idPrefix)
                case .declarations(let directory): .declarations(directory: directory.isEmpty ? prefix : prefix + "/" + directory)
                case .executable(let relative): .executable(prefix + "/" + relative)
                }
                suites[outer].add(moved)
            }
            suites[outer].named += inner.named
            suites.remove(at: index)
        }
    }

    /// Where results go when `--results` is not given: `ROOT/testbed-results`
    /// when every path lies in one suite, `./testbed-results` otherwise
    /// (several suites, or standalone executables).
    public var defaultResults: String {
        guard suites.count == 1, executables.isEmpty, missing.isEmpty else { return Self.resultsDirectory }
        return CatalogLoader.join(suites[0].shown, Self.resultsDirectory)
    }

    /// Which suite root was used, for a command's first line: `suite` and
    /// `examples` for a whole suite; for a part of one, what the paths
    /// select, with the counts when given: `examples (2 of its 6 tests: those
    /// under /image)`; `suites` and `a, b` for several; nil when only
    /// standalone executables were named.
    ///
    /// - Parameters:
    ///   - selected: how many tests the paths select in each suite (`SuiteCatalog.selectedCounts`), or empty.
    ///   - declared: how many tests each suite declares (`SuiteCatalog.declaredCounts`), or empty.
    /// - Returns: the noun and the text, or nil.
    public func label(selected: [Int] = [], declared: [Int] = []) -> (noun: String, text: String)? {
        guard !suites.isEmpty else { return nil }
        let text = suites.enumerated().map { index, suite in
            guard !suite.isWhole else { return suite.shown }
            let what = suite.selectionText
            guard index < selected.count, index < declared.count else { return suite.shown + " (" + what + ")" }
            let count = declared[index] == 1 ? "1 test" : "its \(declared[index]) tests"
            return suite.shown + " (\(selected[index]) of \(count): \(what))"
        }.joined(separator: ", ")
        // Paths as the command line gave them, but never a raw control character.
        return (suites.count == 1 ? "suite" : "suites", text.escapingControls)
    }

    /// `label()` without counts.
    public var label: (noun: String, text: String)? { label() }
}

extension SuiteRoot {
    /// What the parts named select, in words: `those under /net`, `those of
    /// net/testbed.yaml`, `/net/ping.sh`; `all` for the whole suite.
    public var selectionText: String {
        parts.map { part -> String in
            switch part {
            case .whole: "all"
            case .directory(let prefix): "those under \(prefix)"
            case .declarations(let directory): "those of " + (directory.isEmpty ? "" : directory + "/") + CatalogLoader.declarationFile
            case .executable(let relative): "/" + relative
            }
        }.joined(separator: ", ").escapingControls
    }

    /// Adds what one path selects, once.
    mutating func add(_ part: Part) {
        if !parts.contains(part) { parts.append(part) }
    }
}
