import Catalog
import HostFacts
import Requirements

extension Plan {
    /// Whether a setup kept its promise, once it has run: the promised
    /// requirement checked again. Facts a probe can tell are looked up again
    /// (as a process with `searchPath` for its `PATH` would see them: along
    /// the `PATH` its setups export); tags no probe knows are taken on the
    /// setup's word (its `provides`), with the source `setup NAME`.
    /// - Parameters:
    ///   - promise: One of a planned test's `promises`.
    ///   - facts: The host, whose answers for the promised facts the caller
    ///     has invalidated since the setup ran.
    ///   - searchPath: The `PATH` the test will run with; nil for the host's.
    /// - Returns: `.met`, or what the host shows for each alternative.
    public func verify(_ promise: Promise, against facts: any FactSource, searchPath: String? = nil) -> RequirementCheck {
        let promised = setups[promise.setup]?.provides ?? []
        return promise.requirement.check { name in
            if !facts.canProbe(name), let fact = promised.first(where: { $0.name == name }) {
                return .present(Fact(name: name, value: fact.value, source: "setup \(promise.setup)"))
            }
            return facts.lookup(name, searchPath: searchPath)
        }
    }
}
