import HostFacts
import Requirements

/// A host described by a dictionary: no probing.
public struct StaticFacts: FactSource {
    /// The name facts are shown under (`static` by default).
    public var environmentName = "static"
    /// Fact names and their values (nil: a flag without a value).
    public let facts: [String: String?]

    /// A host with exactly these facts.
    /// - Parameters:
    ///   - environmentName: The name facts are shown under.
    ///   - facts: Fact names and their values (nil: a flag without a value).
    public init(environmentName: String = "static", facts: [String: String?]) {
        self.environmentName = environmentName
        self.facts = facts
    }

    /// The fact from `facts`, its source `static`.
    /// - Parameter name: A fact name.
    /// - Returns: The fact, or absent with `NAME is not present on this host`.
    public func lookup(_ name: String) -> FactLookup {
        if let value = facts[name] { return .present(Fact(name: name, value: value, source: "static")) }
        return .absent(reason: "\(name) is not present on this host")
    }

    /// Every fact of `facts`, unordered.
    /// - Returns: The facts, their source `static`.
    public func allFacts() -> [Fact] { facts.map { Fact(name: $0.key, value: $0.value, source: "static") } }
    /// Nothing to forget: the facts never change.
    /// - Parameter names: Ignored.
    public func invalidate(_ names: [String]) {}
    /// Nothing is probed.
    /// - Parameter name: Ignored.
    /// - Returns: False.
    public func canProbe(_ name: String) -> Bool { false }
    /// The same as `allFacts()`.
    /// - Returns: Every fact of `facts`.
    public func recordedFacts() -> [Fact] { allFacts() }
}
