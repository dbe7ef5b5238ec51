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

    /// The snapshot as stored: JSON on one line, keys sorted (by their
    /// UTF-8 bytes), slashes as they are, so that equal snapshots give equal
    /// bytes (and the same hash). Written by hand: JSONEncoder takes ~5 ms
    /// for a few thousand packages, this a tenth of that.
    ///
    /// - Returns: the JSON text.
    public func canonicalJSON() -> String {
        render(pretty: false)
    }

    /// The same JSON for people (`snapshot.json`): one key a line, indented by two spaces.
    ///
    /// - Returns: the JSON text, ending in a newline.
    public func prettyJSON() -> String {
        render(pretty: true) + "\n"
    }

    func render(pretty: Bool) -> String {
        var out = JSONBytes(pretty: pretty, capacity: 48 * (packages.count + facts.count + modules.count) + 256)
        out.byte("{")
        out.field("binaries", first: true)
        out.object(binaries)
        out.field("facts")
        out.object(facts)
        out.field("kernel_command_line")
        if let kernelCommandLine { out.string(kernelCommandLine) } else { out.append("null") }
        out.field("modules")
        if modules.isEmpty {
            out.append("[]")
        } else {
            out.byte("[")
            for (index, module) in modules.enumerated() {
                if index > 0 { out.byte(",") }
                out.newline(2)
                out.string(module)
            }
            out.newline(1)
            out.byte("]")
        }
        out.field("package_manager")
        if let packageManager { out.string(packageManager) } else { out.append("null") }
        out.field("packages")
        out.object(packages)
        out.newline(0)
        out.byte("}")
        return String(decoding: out.bytes, as: UTF8.self)
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

    /// Writes every field; absent optionals as `null` (the shape of `canonicalJSON()`).
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

/// JSON written as bytes, for `RunSnapshot.canonicalJSON()` and `prettyJSON()`.
struct JSONBytes {
    let pretty: Bool
    var bytes: [UInt8] = []

    init(pretty: Bool, capacity: Int) {
        self.pretty = pretty
        bytes.reserveCapacity(capacity)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    mutating func byte(_ character: Unicode.Scalar) {
        bytes.append(UInt8(ascii: character))
    }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A line break and `level` indents when pretty; nothing otherwise.
    mutating func newline(_ level: Int) {
        guard pretty else { return }
        bytes.append(UInt8(ascii: "\n"))
        for _ in 0..<level { append("  ") }
    }

    mutating func colon() {
        pretty ? append(" : ") : append(":")
    }

    /// A string literal: `"` and `\` escaped, control characters as `\n`, `\t`, `\r` or `\u00XX`, the rest as it is.
    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case UInt8(ascii: "\n"): append("\\n")
                case UInt8(ascii: "\r"): append("\\r")
                case UInt8(ascii: "\t"): append("\\t")
                case 0..<0x20, 0x7F:
                    append("\\u00")
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0xF)])
                default: bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// An object of strings, its keys sorted by their UTF-8 bytes (the same order on every platform and locale).
    mutating func object(_ map: [String: String]) {
        guard !map.isEmpty else { return append("{}") }
        byte("{")
        // Plain byte order; Swift's String order (Unicode-aware) costs ten times as much.
        let sorted = map.map { (key: Array($0.key.utf8), value: $0.value) }.sorted { Self.precedes($0.key, $1.key) }
        for (index, entry) in sorted.enumerated() {
            if index > 0 { byte(",") }
            newline(2)
            string(String(decoding: entry.key, as: UTF8.self))
            colon()
            string(entry.value)
        }
        newline(1)
        byte("}")
    }

    /// Whether `a` sorts before `b`, byte by byte (`memcmp`, then the shorter first).
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let common = Swift.min(a.count, b.count)
        guard common > 0 else { return a.count < b.count }
        let order = a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, common) } }
        return order != 0 ? order < 0 : a.count < b.count
    }

    /// `"key":` of the top-level object.
    mutating func field(_ key: String, first: Bool = false) {
        if !first { byte(",") }
        newline(1)
        string(key)
        colon()
    }
}
