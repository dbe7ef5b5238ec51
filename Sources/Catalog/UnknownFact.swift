import Declarations
import HostFacts
import Requirements

/// A fact name that a requirement names and nothing knows: no built-in probe
/// or probe family, not declared by the environment, provided by no setup of
/// the suite. Most likely a typo (`kernal >= 5.10`), which would make its
/// tests `unsupported` without a word; or a lab tag (`DELL_R420`) that only
/// an environment file declares.
public struct UnknownFact: Sendable, Hashable, CustomStringConvertible {
    /// The name as written.
    public let name: String
    /// Where it is first required.
    public let location: DeclarationLocation
    /// How many of the tests, and of the setups they could use, require it.
    public let tests: Int
    /// How many of the setups those tests could use require it.
    public let setups: Int
    /// The known name it is closest to, if any is close.
    public let suggestion: String?
    /// Whether a requirement compares it with a value (`scratch-space >= 1G`):
    /// then an environment declares it under `facts:`, not as a tag.
    public var compared = false

    /// `suite/testbed.yaml:7: "kernal" is no fact …; did you mean "kernel"? (1 test; …)`.
    public var description: String {
        var text = "\(location): \"\(name)\" is no fact Testbed probes, the environment declares or a setup provides"
        if let suggestion { text += "; did you mean \"\(suggestion)\"?" }
        var uses: [String] = []
        if tests > 0 { uses.append("\(tests) test\(tests == 1 ? "" : "s")") }
        if setups > 0 { uses.append("\(setups) setup\(setups == 1 ? "" : "s")") }
        let fix = compared ? "declare it in an environment file's facts: (\(name): VALUE) if the lab has it"
            : "declare it in an environment file's provides: if it is a lab tag"
        return text + " (\(uses.joined(separator: " and ")); \(fix))"
    }

    /// Every unknown name the tests require, and the setups they could use
    /// (named in `setup:`, providing a fact they require, and what those come
    /// `after` or need in turn), each once, in the order of first use.
    ///
    /// This runs before every `check` of 100,000 tests. `names`, every
    /// name the tests and setups may require (`SuiteCatalog.factNames`), lets it
    /// skip them when it knows each one; otherwise tests that share their
    /// lists (one `RequirementSetID`, as the loader gives them) are looked at once.
    ///
    /// - Parameters:
    ///   - tests: The tests loaded; evaluated only when `names` does not settle it.
    ///   - setups: Every setup of the catalog, providers of facts.
    ///   - facts: The host's facts; a name it `knows` is not unknown.
    ///   - names: Every fact name tests and setups may require, or nil to look at the tests.
    /// - Returns: The unknown names, in the order of their first use, each with its first location, how many tests and setups
    ///   require it, and the closest known name; empty when every name is known.
    public static func find(tests: @autoclosure () -> [TestDefinition], setups: [SetupDefinition], facts: any FactSource,
                            names: Set<String>? = nil) -> [UnknownFact] {
        var providers: [String: [Int]] = [:]
        var setupIndex: [String: Int] = [:]
        for (i, setup) in setups.enumerated() {
            if setupIndex[setup.name] == nil { setupIndex[setup.name] = i }
            for fact in setup.provides { providers[fact.name, default: []].append(i) }
        }
        var known: [String: Bool] = [:]
        func isKnown(_ name: String) -> Bool {
            if let cached = known[name] { return cached }
            // `autopkgtest:NAME` is what the autopkgtest format requires for a restriction no host meets
            // (`needs-reboot`, an unknown one): meant to be unmet, never a typo.
            let result = providers[name] != nil || facts.knows(name) || name.hasPrefix("autopkgtest:")
            known[name] = result
            return result
        }
        if let names, names.allSatisfy(isKnown) { return [] }
        let tests = tests()
        var order: [String] = []
        var first: [String: DeclarationLocation] = [:]
        var testCounts: [String: Int] = [:]
        var setupCounts: [String: Int] = [:]
        var compared: Set<String> = []
        func unknownNames(_ requirements: [Requirement]) -> [String] {
            var names: [String] = []
            for requirement in requirements {
                for alternative in requirement.alternatives where !isKnown(alternative.name) {
                    if case .compare = alternative { compared.insert(alternative.name) }
                    if !names.contains(alternative.name) { names.append(alternative.name) }
                }
            }
            return names
        }
        // Setups the tests could use: found from the names they require and the setups they name.
        var reached = [Bool](repeating: false, count: setups.count)
        var pending: [Int] = []
        func reach(_ i: Int) {
            if !reached[i] { reached[i] = true; pending.append(i) }
        }
        func reachProviders(_ requirements: [Requirement]) {
            for requirement in requirements {
                for alternative in requirement.alternatives { for i in providers[alternative.name] ?? [] { reach(i) } }
            }
        }
        // Lists by the id the loader interned them under, and the last one
        // seen: neighbours usually share theirs. A test without one (made by
        // hand) is looked at on its own.
        var lists: [RequirementSetID: Int] = [:]
        var listNames: [[String]] = []
        var listUses: [Int] = []
        var last: (key: RequirementSetID?, index: Int) = (nil, -1)
        var setupLists: Set<RequirementSetID> = []
        for test in tests {
            let key = test.requirementSet
            if !test.setups.isEmpty, key.map({ setupLists.insert($0).inserted }) ?? true {
                for name in test.setups { if let i = setupIndex[name] { reach(i) } }
            }
            guard !test.requires.isEmpty else { continue }
            if let key, key == last.key {
                listUses[last.index] += 1
                continue
            }
            if let key, let index = lists[key] {
                listUses[index] += 1
                last = (key, index)
                continue
            }
            last = (key, listNames.count)
            if let key { lists[key] = listNames.count }
            let names = unknownNames(test.requires)
            listNames.append(names)
            listUses.append(1)
            reachProviders(test.requires)
            for name in names where first[name] == nil {
                first[name] = test.requiresLocation
                order.append(name)
            }
        }
        for (index, names) in listNames.enumerated() {
            for name in names { testCounts[name, default: 0] += listUses[index] }
        }
        while let i = pending.popLast() {
            for name in setups[i].after { if let j = setupIndex[name] { reach(j) } }
            reachProviders(setups[i].requires)
        }
        for (i, setup) in setups.enumerated() where reached[i] {
            for name in unknownNames(setup.requires) {
                setupCounts[name, default: 0] += 1
                if first[name] == nil {
                    first[name] = setup.requiresLocation
                    order.append(name)
                }
            }
        }
        var candidates: [String]?
        return order.map { name in
            if candidates == nil { candidates = facts.knownNames + providers.keys.sorted() }
            return UnknownFact(name: name, location: first[name]!, tests: testCounts[name] ?? 0, setups: setupCounts[name] ?? 0,
                               suggestion: suggest(name, among: candidates!), compared: compared.contains(name))
        }
    }

    /// The closest known name; for a name with a prefix (`cpuflag:vmx`), the
    /// closest probe family with the same rest (`cpu-flag:vmx`).
    static func suggest(_ name: String, among candidates: [String]) -> String? {
        nearestFactName(to: name, among: candidates)
    }
}
