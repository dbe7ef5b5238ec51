import HostFacts
import Requirements

/// A host described by a dictionary: no probing.
public struct StaticFacts: FactSource {
    public var environmentName = "static"
    /// Fact names and their values (nil: a flag without a value).
    public let facts: [String: String?]

    public init(environmentName: String = "static", facts: [String: String?]) {
        self.environmentName = environmentName
        self.facts = facts
    }

    public func lookup(_ name: String) -> FactLookup {
        if let value = facts[name] { return .present(Fact(name: name, value: value, source: "static")) }
        return .absent(reason: "\(name) is not present on this host")
    }

    public func allFacts() -> [Fact] { facts.map { Fact(name: $0.key, value: $0.value, source: "static") } }
    public func invalidate(_ names: [String]) {}
    public func canProbe(_ name: String) -> Bool { false }
    public func recordedFacts() -> [Fact] { allFacts() }
}
