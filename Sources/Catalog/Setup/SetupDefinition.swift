import Declarations
import HostFacts
import Requirements

/// A declared setup: a step that makes the host ready (build, fetch, install,
/// start a service), with an optional teardown, and the facts it promises.
public struct SetupDefinition: Sendable, Hashable, Codable {
    /// How often a setup runs.
    public enum Scope: String, Sendable, Hashable, Codable, CaseIterable {
        /// Once for all the tests that need it (the default).
        case run
        /// Around each test that needs it.
        case test
    }

    /// The setup's name, unique in the suite.
    public let name: String
    /// The command line, run by `/bin/sh -c` in `directory`.
    public let run: String
    /// The command that undoes `run`, if any.
    public let teardown: String?
    /// A command whose exit 0 means the setup is already satisfied.
    public let check: String?
    /// Facts available once it has run.
    public let provides: [ProvidedFact]
    /// What the setup needs from the host, like a test's requirements.
    public let requires: [Requirement]
    /// Setups that must run first.
    public let after: [String]
    /// How often it runs: once for the run, or around each test.
    public let scope: Scope
    /// How long `run` may take (wall clock); zero for no limit.
    public let timeout: Duration
    /// The directory of the declaring file: the setup's working directory.
    public let directory: String
    /// Where the setup was declared.
    public let location: DeclarationLocation
    /// Where its `requires:` list was written (for warnings about it).
    public let requiresLocation: DeclarationLocation
    /// What the setup does, in words, if it says.
    public let description: String?

    /// A setup.
    /// - Parameters:
    ///   - name: Its name, unique in the suite.
    ///   - run: The command line that makes the host ready.
    ///   - teardown: The command line that undoes `run`, if any.
    ///   - check: A command whose exit 0 means the setup is already satisfied.
    ///   - provides: Facts available once it has run.
    ///   - requires: What it needs from the host.
    ///   - after: Setups that must run first.
    ///   - scope: How often it runs (`run` by default).
    ///   - timeout: How long `run` may take (wall clock); zero for no limit. Ten minutes by default.
    ///   - directory: Its working directory.
    ///   - location: Where it was declared.
    ///   - description: What it does, in words.
    ///   - requiresLocation: Where its `requires:` list was written (`location` by default).
    public init(
        name: String, run: String, teardown: String? = nil, check: String? = nil,
        provides: [ProvidedFact] = [], requires: [Requirement] = [], after: [String] = [],
        scope: Scope = .run, timeout: Duration = SetupDefinition.defaultTimeout,
        directory: String, location: DeclarationLocation, description: String? = nil,
        requiresLocation: DeclarationLocation? = nil
    ) {
        self.name = name
        self.run = run
        self.teardown = teardown
        self.check = check
        self.provides = provides
        self.requires = requires
        self.after = after
        self.scope = scope
        self.timeout = timeout
        self.directory = directory
        self.location = location
        self.requiresLocation = requiresLocation ?? location
        self.description = description
    }

    /// Setups get ten minutes unless they say otherwise, like tests.
    public static let defaultTimeout: Duration = .seconds(600)
}

/// A fact a setup promises: `qemu` (any version) or `image:alpine = 3.19`.
public struct ProvidedFact: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The fact's name.
    public let name: String
    /// nil: the promise meets any comparison on the fact while planning.
    public let value: String?

    /// A promised fact.
    /// - Parameters:
    ///   - name: The fact's name.
    ///   - value: Its value, or nil for any.
    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }

    /// Parses `NAME` or `NAME = VALUE`; nil when the name is not a fact name.
    /// - Parameter text: The promise as written in `provides:`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0]).trimmingCharacters(in: " \t")
        guard !name.isEmpty, name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || "_.:/@-".contains($0) }) else {
            return nil
        }
        if parts.count == 2 {
            let value = String(parts[1]).trimmingCharacters(in: " \t")
            guard !value.isEmpty, !value.contains(where: \.isWhitespace) else { return nil }
            self.init(name: name, value: value)
        } else {
            self.init(name: name, value: nil)
        }
    }

    /// `NAME` or `NAME = VALUE`, as written.
    public var description: String {
        value.map { "\(name) = \($0)" } ?? name
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
