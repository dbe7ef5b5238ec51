import Declarations

/// What a host has: a named fact, with an optional value, and where it came from.
///
/// A fact without a value is a flag (`root`, `kvm`, `DELL_R420`); one with a
/// value can be compared (`kernel = 6.1.0-13-amd64`, `memory = 25769803776`).
public struct Fact: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The fact's name (`kernel`, `cpu-flag:vmx`).
    public let name: String
    /// Its value; nil for a flag.
    public let value: String?
    /// Where the fact came from: `uname`, `/proc/meminfo`, `environments/lab.yaml:7`…
    public let source: String
    /// Whether an environment file declares it (`provides:`, `facts:`) rather
    /// than the host being probed for it: a reason then says "the
    /// environment declares 20G (lab.yaml:5)", not "this host has 20G".
    /// Not encoded (the JSON shapes of facts and plans stay as they are).
    public var isDeclared = false

    enum CodingKeys: String, CodingKey {
        case name, value, source
    }

    /// A fact.
    /// - Parameters:
    ///   - name: Its name.
    ///   - value: Its value, nil for a flag.
    ///   - source: Where it came from.
    public init(name: String, value: String?, source: String) {
        self.name = name
        self.value = value
        self.source = source
    }

    /// `NAME` or `NAME = VALUE`.
    public var description: String {
        if let value { return "\(name) = \(value)" }
        return name
    }
}

/// The answer to "does this host have fact X?".
public enum FactLookup: Sendable, Hashable {
    /// The host has the fact.
    case present(Fact)
    /// The host does not have it; `reason` says why in words a user can act on,
    /// e.g. "qemu is not installed on this host (qemu-system-x86_64 is not on PATH)".
    case absent(reason: String)

    /// The fact when present; nil when absent.
    public var fact: Fact? {
        if case let .present(fact) = self { return fact }
        return nil
    }
}
