import Declarations
import HostFacts
import Requirements

/// A test: something to run whose exit status is its verdict, with what it
/// needs from the host and the setups it needs run first.
///
/// Immutable; a class so that plans of 100,000 tests pass it around by reference.
public final class TestDefinition: Sendable, Hashable {
    /// How the test is started.
    public enum Command: Sendable, Hashable {
        /// A command line from `testbed.yaml`, run by `/bin/sh -c`.
        case shell(String)
        /// An executable (drop-in or named on the command line), run as it stands.
        case executable(String)
    }

    /// The test id: the declaring directory's path from the suite root joined
    /// with the test's key, e.g. `/migration/precopy/tcp`.
    public let id: String
    public let command: Command
    public let requires: [Requirement]
    /// Setups it needs by name, besides those found through `provides`.
    public let setups: [String]
    public let tags: [String]
    public let timeout: Duration
    /// Nothing else runs beside it.
    public let exclusive: Bool
    /// The environment's `restore` runs after it.
    public let dirties: Bool
    /// The exit status that means "the test skipped itself".
    public let skipCode: Int32
    /// The working directory: the declaring file's directory.
    public let directory: String
    public let location: DeclarationLocation
    /// Where the test's `setup:` list was written (for errors about it).
    public let setupsLocation: DeclarationLocation
    /// Where the test's `requires:` list was written (for warnings about it).
    public let requiresLocation: DeclarationLocation
    public let description: String?

    public init(
        id: String, command: Command, requires: [Requirement] = [], setups: [String] = [],
        tags: [String] = [], timeout: Duration = TestDefinition.defaultTimeout,
        exclusive: Bool = false, dirties: Bool = false, skipCode: Int32 = 77,
        directory: String, location: DeclarationLocation, setupsLocation: DeclarationLocation? = nil,
        description: String? = nil, requiresLocation: DeclarationLocation? = nil
    ) {
        self.id = id
        self.command = command
        self.requires = requires
        self.setups = setups
        self.tags = tags
        self.timeout = timeout
        self.exclusive = exclusive
        self.dirties = dirties
        self.skipCode = skipCode
        self.directory = directory
        self.location = location
        self.setupsLocation = setupsLocation ?? location
        self.requiresLocation = requiresLocation ?? location
        self.description = description
    }

    public static func == (lhs: TestDefinition, rhs: TestDefinition) -> Bool {
        lhs === rhs || (lhs.id == rhs.id && lhs.command == rhs.command && lhs.requires == rhs.requires
            && lhs.setups == rhs.setups && lhs.tags == rhs.tags && lhs.timeout == rhs.timeout
            && lhs.exclusive == rhs.exclusive && lhs.dirties == rhs.dirties && lhs.skipCode == rhs.skipCode
            && lhs.directory == rhs.directory && lhs.location == rhs.location)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(location)
    }

    /// Ten minutes, as DESIGN.md says.
    public static let defaultTimeout: Duration = .seconds(600)
}

/// Everything a suite declares: its tests and setups, in declaration order.
public struct Catalog: Sendable {
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

    public init(tests: [TestDefinition], setups: [SetupDefinition], roots: [String],
                factNames: Set<String>? = nil, relativePrograms: Int? = nil, warnings: [String] = []) {
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
    public let errors: [DeclarationError]
    /// The loader's warnings, as in `Catalog.warnings`.
    public let warnings: [String]

    public init(_ errors: [DeclarationError], warnings: [String] = []) {
        self.errors = errors
        self.warnings = warnings
    }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
