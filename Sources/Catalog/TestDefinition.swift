import Declarations
import HostFacts
import Requirements
import Subtests

/// A test: something to run whose exit status is its verdict, with what it
/// needs from the host and the setups it needs run first.
///
/// A value: two tests are equal when they declare the same thing. Its fields
/// live in one shared, immutable allocation, so that a copy (the catalog's,
/// the plan's, the executor's) costs a reference, not ~220 bytes: plans of
/// 100,000 tests hold a copy of each.
public struct TestDefinition: Sendable, Hashable, Codable {
    /// How the test is started.
    public enum Command: Sendable, Hashable, Codable {
        /// A command line from `testbed.yaml`, run by `/bin/sh -c`.
        case shell(String)
        /// An executable (drop-in or named on the command line), run as it stands.
        case executable(String)
    }

    /// Ten minutes, as DESIGN.md says.
    public static let defaultTimeout: Duration = .seconds(600)

    /// The test id: the declaring directory's path from the suite root joined
    /// with the test's key, e.g. `/migration/precopy/tcp`.
    @inlinable public var id: String { storage.fields.id }
    /// How the test is started.
    @inlinable public var command: Command { storage.fields.command }
    /// What it needs from the host, in declaration order.
    @inlinable public var requires: [Requirement] { storage.fields.requires }
    /// Setups it needs by name, besides those found through `provides`.
    @inlinable public var setups: [String] { storage.fields.setups }
    /// Its tags, for `--tag` expressions.
    @inlinable public var tags: [String] { storage.fields.tags }
    /// How long it may run (wall clock); zero for no limit.
    @inlinable public var timeout: Duration { storage.fields.timeout }
    /// Nothing else runs beside it.
    @inlinable public var exclusive: Bool { storage.fields.exclusive }
    /// The environment's `restore` runs after it.
    @inlinable public var dirties: Bool { storage.fields.dirties }
    /// The exit status that means "the test skipped itself".
    @inlinable public var skipCode: Int32 { storage.fields.skipCode }
    /// How its output reports subtests (`protocol:`); `.exitcode` (none) by default.
    @inlinable public var outputProtocol: OutputProtocol { storage.fields.outputProtocol }
    /// Whether a selection with no `--tag` and no `--id` takes it (false: only a tag or id that matches selects it,
    /// as kvm-unit-tests' `nodefault` group).
    @inlinable public var selectedByDefault: Bool { storage.fields.selectedByDefault }
    /// The working directory: the declaring file's directory.
    @inlinable public var directory: String { storage.fields.directory }
    /// Where the test was declared.
    @inlinable public var location: DeclarationLocation { storage.fields.location }
    /// Where the test's `setup:` list was written (for errors about it).
    @inlinable public var setupsLocation: DeclarationLocation { storage.fields.setupsLocation }
    /// Where the test's `requires:` list was written (for warnings about it).
    @inlinable public var requiresLocation: DeclarationLocation { storage.fields.requiresLocation }
    /// What the test checks, in words, if it says.
    @inlinable public var description: String? { storage.fields.description }
    /// Which `requires` and `setup` lists the test has, as the loader interned
    /// them: tests of one catalog with the same id have equal lists (and get
    /// the same verdict, which the resolver works out once). Nil for a test
    /// made by hand: its lists are looked at on their own.
    ///
    /// Not part of equality: which id a list gets depends on the order in
    /// which the loader's workers meet the lists.
    @inlinable public var requirementSet: RequirementSetID? {
        storage.requirementSet < 0 ? nil : RequirementSetID(Int(storage.requirementSet))
    }
    /// Its `flaky: K/N`, if it declares one: a failure counts only when it
    /// failed in K of its last N runs on this host and environment.
    public var flaky: FlakyPolicy? {
        storage.flaky == 0 ? nil : FlakyPolicy(threshold: Int(storage.flaky >> 16), window: Int(storage.flaky & 0xFFFF))
    }
    /// Which variant of its test this is (`[machine=pc,accel=tcg]`), when the test declares `variants:`; nil otherwise.
    public var variant: TestVariant? { storage.variant?.variant }
    /// The test's id without its variant (`/migration/precopy`); the id itself for a test without variants.
    public var baseID: String { storage.variant?.variant.baseID ?? storage.fields.id }
    /// The variables its process gets besides Testbed's own (`TESTBED_VARIANT_MACHINE=pc` and each value's `env`);
    /// empty for a test without variants.
    public var environment: [String: String] { storage.variant?.variant.environment ?? [:] }

    /// A test.
    /// - Parameters:
    ///   - id: The test id (`/migration/precopy/tcp`).
    ///   - command: How it is started.
    ///   - requires: What it needs from the host.
    ///   - setups: The setups it names.
    ///   - tags: Its tags.
    ///   - timeout: How long it may run (wall clock); zero for no limit. Ten minutes by default.
    ///   - exclusive: Nothing else runs beside it.
    ///   - dirties: The environment's `restore` runs after it.
    ///   - skipCode: The exit status that means "skipped" (77 by default).
    ///   - directory: The working directory.
    ///   - location: Where it was declared.
    ///   - setupsLocation: Where its `setup:` list was written (`location` by default).
    ///   - description: What it checks, in words.
    ///   - requiresLocation: Where its `requires:` list was written (`location` by default).
    ///   - requirementSet: The interned id of its `requires` and `setup` lists; nil when not interned.
    ///   - flaky: Its `flaky: K/N`, if it declares one.
    ///   - outputProtocol: How its output reports subtests (`.exitcode`: none).
    ///   - selectedByDefault: Whether a selection without `--tag` and `--id` takes it (true by default).
    ///   - variant: Which variant of its test it is; nil for a test without variants (`id` then holds the variant's suffix:
    ///     the caller passes `variant.id`).
    public init(
        id: String, command: Command, requires: [Requirement] = [], setups: [String] = [],
        tags: [String] = [], timeout: Duration = TestDefinition.defaultTimeout,
        exclusive: Bool = false, dirties: Bool = false, skipCode: Int32 = 77,
        directory: String, location: DeclarationLocation, setupsLocation: DeclarationLocation? = nil,
        description: String? = nil, requiresLocation: DeclarationLocation? = nil,
        requirementSet: RequirementSetID? = nil, flaky: FlakyPolicy? = nil, outputProtocol: OutputProtocol = .exitcode,
        selectedByDefault: Bool = true, variant: TestVariant? = nil
    ) {
        let fields = Fields(
            id: id, command: command, exclusive: exclusive, dirties: dirties, outputProtocol: outputProtocol,
            selectedByDefault: selectedByDefault, skipCode: skipCode, requires: requires,
            setups: setups, tags: tags, timeout: timeout, directory: directory, location: location,
            setupsLocation: setupsLocation ?? location, requiresLocation: requiresLocation ?? location,
            description: description)
        storage = Storage(fields, requirementSet: requirementSet, flaky: flaky, variant: variant)
    }

    /// Whether two tests declare the same thing (`requirementSet` aside).
    /// - Parameters:
    ///   - lhs: A test.
    ///   - rhs: Another test.
    /// - Returns: True when every declared field is equal.
    public static func == (lhs: TestDefinition, rhs: TestDefinition) -> Bool {
        lhs.storage === rhs.storage || (lhs.storage.fields == rhs.storage.fields && lhs.storage.flaky == rhs.storage.flaky
                                        && lhs.variant == rhs.variant)
    }

    /// Hashes the id and the location (equal tests have equal ones).
    /// - Parameter hasher: The hasher to feed.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.fields.id)
        hasher.combine(storage.fields.location)
    }

    /// Decodes a test encoded by `encode(to:)`: its fields, its `flaky` and its `requirementSet`.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` when a field is missing or invalid (a requirement that does not parse).
    public init(from decoder: any Decoder) throws {
        let fields = try Fields(from: decoder)
        let container = try decoder.container(keyedBy: InterningKey.self)
        storage = Storage(fields, requirementSet: try container.decodeIfPresent(RequirementSetID.self, forKey: .requirementSet),
                          flaky: try container.decodeIfPresent(FlakyPolicy.self, forKey: .flaky),
                          variant: try container.decodeIfPresent(TestVariant.self, forKey: .variant))
    }

    /// Encodes the fields, requirements as their text, `flaky` (`K/N`) and the `requirementSet`.
    /// - Parameter encoder: The encoder.
    /// - Throws: What the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        try storage.fields.encode(to: encoder)
        var container = encoder.container(keyedBy: InterningKey.self)
        try container.encodeIfPresent(requirementSet, forKey: .requirementSet)
        try container.encodeIfPresent(flaky, forKey: .flaky)
        try container.encodeIfPresent(variant, forKey: .variant)
    }

    /// The keys of `requirementSet`, `flaky` and `variant`, beside the fields' keys.
    enum InterningKey: String, CodingKey {
        case requirementSet
        case flaky
        case variant
    }

    /// What a test declares. (`@usableFromInline`, as the storage: the
    /// accessors above are inlined into other modules, as a stored
    /// property's access would be.)
    @usableFromInline
    struct Fields: Sendable, Hashable, Codable {
        // In this order, the small fields fill the padding after `command`:
        // 216 bytes would be 208, and the storage stays in malloc's 240-byte class.
        @usableFromInline let id: String
        @usableFromInline let command: Command
        @usableFromInline let exclusive: Bool
        @usableFromInline let dirties: Bool
        // One byte, in the padding before `skipCode`: the storage keeps its size.
        @usableFromInline let outputProtocol: OutputProtocol
        // One byte more in the same padding.
        @usableFromInline let selectedByDefault: Bool
        @usableFromInline let skipCode: Int32
        @usableFromInline let requires: [Requirement]
        @usableFromInline let setups: [String]
        @usableFromInline let tags: [String]
        @usableFromInline let timeout: Duration
        @usableFromInline let directory: String
        @usableFromInline let location: DeclarationLocation
        @usableFromInline let setupsLocation: DeclarationLocation
        @usableFromInline let requiresLocation: DeclarationLocation
        @usableFromInline let description: String?
    }

    /// The fields, shared by every copy of the test.
    @usableFromInline
    final class Storage: Sendable {
        // First: the resolver reads it for every test, and the fields' first
        // bytes (`id`, the lists) share its cache line. The id's number, -1
        // for none: an optional would take 16 bytes, and the allocation would
        // grow past malloc's 240-byte size class (the class's was 232 bytes).
        @usableFromInline let requirementSet: Int32
        /// `flaky: K/N` as K << 16 | N (N ≤ 1000), 0 for none: it shares the
        /// 8 bytes `requirementSet` had alone, so the allocation stays 232 bytes.
        let flaky: UInt32
        @usableFromInline let fields: Fields
        /// The variant, boxed: one pointer (nil for the tests without one), so the
        /// allocation grows 8 bytes (240, still malloc's 240-byte class).
        let variant: VariantBox?

        init(_ fields: Fields, requirementSet: RequirementSetID?, flaky: FlakyPolicy?, variant: TestVariant?) {
            precondition(requirementSet.map { $0.rawValue >= 0 && $0.rawValue <= Int(Int32.max) } ?? true,
                         "a requirement set's number is never negative and fits 32 bits")
            self.requirementSet = requirementSet.map { Int32($0.rawValue) } ?? -1
            self.flaky = flaky.map { UInt32($0.threshold) << 16 | UInt32($0.window) } ?? 0
            self.fields = fields
            self.variant = variant.map(VariantBox.init)
        }
    }

    /// A variant behind one pointer.
    final class VariantBox: Sendable {
        let variant: TestVariant

        init(_ variant: TestVariant) {
            self.variant = variant
        }
    }

    @usableFromInline let storage: Storage
}

/// Names one distinct pair of `requires` and `setup` lists of a catalog: the
/// loader gives every test with the same pair the same id, so that what
/// depends on the lists alone (a test's verdict, the unknown fact names it
/// requires) is worked out once per pair, not once per test.
///
/// An id means something only within the catalog (and the plans made from it)
/// whose loader assigned it.
public struct RequirementSetID: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The id's number, unique within one load; never negative.
    public let rawValue: Int

    /// An id.
    /// - Parameter rawValue: Its number, 0 or more.
    public init(_ rawValue: Int) {
        self.rawValue = rawValue
    }

    /// Encodes the id as its number.
    /// - Parameter encoder: The encoder.
    /// - Throws: What the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Decodes an id encoded as its number.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` when the value is not an integer.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int.self)
    }

    /// `#N`, for debugging.
    public var description: String { "#\(rawValue)" }
}
