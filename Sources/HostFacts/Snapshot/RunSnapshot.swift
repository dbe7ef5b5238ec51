import Foundation

/// What a host was when a run started: the state a later run is compared
/// with (`testbed diff`, `testbed why`). Recorded once per distinct value:
/// runs whose snapshots are equal share one stored copy, found by `hash`.
///
/// The host's identity (hostname, machine id), the user's labels and the
/// suite's git revision are not part of it (they are on the run itself), so
/// that two hosts in the same state, or one host on two suite commits, share
/// one snapshot.
public struct RunSnapshot: Sendable, Codable, Equatable {
    /// Every cheap fact of the probe table (`SnapshotProbe.cheapFacts`) and
    /// every fact the environment file declares, with the environment's
    /// effective value (a `facts:` override wins over the probe); a fact
    /// the host lacks is absent. A tag without a value maps to "".
    public var facts: [String: String]
    /// `/proc/cmdline`, without its trailing newline; nil when unreadable.
    public var kernelCommandLine: String?
    /// The names of the loaded modules (`/proc/modules`), sorted.
    public var modules: [String]
    /// Installed packages: name → version.
    public var packages: [String: String]
    /// Who listed `packages`: `dpkg`, `rpm`, or `command` (the environment
    /// file's `packages:`); nil when no list was taken.
    public var packageManager: String?
    /// The environment file's `binaries:`: fact name → the version its `--version` printed.
    public var binaries: [String: String]

    /// A snapshot from its parts.
    ///
    /// - Parameters:
    ///   - facts: fact name → value ("" for a tag).
    ///   - kernelCommandLine: `/proc/cmdline`.
    ///   - modules: the loaded modules' names (sorted here).
    ///   - packages: package name → version.
    ///   - packageManager: `dpkg`, `rpm` or `command`; nil when no list was taken.
    ///   - binaries: binary fact name → version.
    public init(facts: [String: String] = [:], kernelCommandLine: String? = nil, modules: [String] = [],
                packages: [String: String] = [:], packageManager: String? = nil, binaries: [String: String] = [:]) {
        self.facts = facts
        self.kernelCommandLine = kernelCommandLine
        self.modules = modules.sorted()
        self.packages = packages
        self.packageManager = packageManager
        self.binaries = binaries
    }

    /// The snapshot as stored: JSON with sorted keys and unescaped slashes,
    /// so that equal snapshots give equal bytes (and the same hash).
    ///
    /// - Returns: the JSON text.
    public func canonicalJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding dictionaries of strings, arrays and optionals cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A snapshot read back from `canonicalJSON()` (or any JSON of its shape).
    ///
    /// - Parameter json: the JSON text.
    /// - Returns: the snapshot; nil when the text is not one.
    public static func decode(_ json: String) -> RunSnapshot? {
        try? JSONDecoder().decode(RunSnapshot.self, from: Data(json.utf8))
    }

    enum CodingKeys: String, CodingKey {
        case facts
        case kernelCommandLine = "kernel_command_line"
        case modules, packages
        case packageManager = "package_manager"
        case binaries
    }

    /// Reads a snapshot; missing collections are empty (older or hand-written JSON).
    ///
    /// - Parameter decoder: the decoder.
    /// - Throws: `DecodingError` when a field has the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        facts = try container.decodeIfPresent([String: String].self, forKey: .facts) ?? [:]
        kernelCommandLine = try container.decodeIfPresent(String.self, forKey: .kernelCommandLine)
        modules = try container.decodeIfPresent([String].self, forKey: .modules) ?? []
        packages = try container.decodeIfPresent([String: String].self, forKey: .packages) ?? [:]
        packageManager = try container.decodeIfPresent(String.self, forKey: .packageManager)
        binaries = try container.decodeIfPresent([String: String].self, forKey: .binaries) ?? [:]
    }

    /// Writes every field; absent optionals as `null`, so the stored body always has every key.
    ///
    /// - Parameter encoder: the encoder.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(facts, forKey: .facts)
        try container.encode(kernelCommandLine, forKey: .kernelCommandLine)
        try container.encode(modules, forKey: .modules)
        try container.encode(packages, forKey: .packages)
        try container.encode(packageManager, forKey: .packageManager)
        try container.encode(binaries, forKey: .binaries)
    }
}
