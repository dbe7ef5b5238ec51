import Declarations
import HostFacts
import Requirements

/// Everything a suite declares: its tests and setups, in declaration order.
public struct SuiteCatalog: Sendable {
    /// The tests the command line named (every test of a suite named whole).
    public let tests: [TestDefinition]
    /// Every setup of the suites, named or not: any of them may be needed.
    public let setups: [SetupDefinition]
    /// The suite roots and executables it was loaded from.
    public let roots: [String]
    /// Every fact name the requirements of the loaded tests and setups
    /// mention (named or not), when the loader kept them: a superset that
    /// lets `UnknownFact.find` skip the tests when it knows every name.
    public let factNames: Set<String>?
    /// How many loaded tests' commands start with a relative path
    /// (`./x86/run`), when the loader counted them: none, and `check` has
    /// no program to look for.
    public let relativePrograms: Int?
    /// What the loader warns about, one line each without `testbed: warning:`
    /// (a link to a directory outside the suite, not walked).
    public let warnings: [String]
    /// The ids of the suites' tests the command line's paths left out (a
    /// sub-folder selects only the tests under it), in tree order: a
    /// pattern that selects nothing may name one of them.
    public internal(set) var unselectedIDs: [String] = []
    /// How many tests each suite declares, named or not, in the order of
    /// `SuitePaths.suites` (empty for a catalog made otherwise than by `CatalogLoader`).
    public internal(set) var declaredCounts: [Int] = []
    /// How many tests of each suite the paths selected, in the same order.
    public internal(set) var selectedCounts: [Int] = []

    /// A catalog of tests and setups made otherwise than by `CatalogLoader`
    /// (which checks the same): every setup that a test names or a setup
    /// comes `after` must be one of `setups`, as the resolver relies on.
    /// - Parameters:
    ///   - tests: The selected tests.
    ///   - setups: Every setup of the suites.
    ///   - roots: The suite roots and executables loaded.
    ///   - factNames: Every fact name the requirements mention, if known.
    ///   - relativePrograms: How many tests' commands start with a relative path, if counted.
    ///   - warnings: The loader's warnings.
    /// - Throws: `CatalogError` with one error per setup named and not declared,
    ///   worded as the loader words it.
    public init(tests: [TestDefinition], setups: [SetupDefinition], roots: [String],
                factNames: Set<String>? = nil, relativePrograms: Int? = nil, warnings: [String] = []) throws(CatalogError) {
        let errors = CatalogValidator.setupReferences(tests: tests, setups: setups)
        guard errors.isEmpty else { throw CatalogError(errors, warnings: warnings) }
        self.init(validated: tests, setups: setups, roots: roots, factNames: factNames, relativePrograms: relativePrograms,
                  warnings: warnings)
    }

    /// A catalog whose setup references `CatalogValidator` has checked.
    init(validated tests: [TestDefinition], setups: [SetupDefinition], roots: [String],
         factNames: Set<String>?, relativePrograms: Int?, warnings: [String]) {
        self.warnings = warnings
        self.tests = tests
        self.setups = setups
        self.roots = roots
        self.factNames = factNames
        self.relativePrograms = relativePrograms
    }
}

/// Every invalid declaration found while loading, each naming file and line.
public struct CatalogError: Error, Sendable, CustomStringConvertible {
    /// The invalid declarations, in the order found.
    public let errors: [DeclarationError]
    /// The loader's warnings, as in `SuiteCatalog.warnings`.
    public let warnings: [String]

    /// An error listing invalid declarations.
    /// - Parameters:
    ///   - errors: The invalid declarations.
    ///   - warnings: The loader's warnings.
    public init(_ errors: [DeclarationError], warnings: [String] = []) {
        self.errors = errors
        self.warnings = warnings
    }

    /// One error a line, each `file:line: message`.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
