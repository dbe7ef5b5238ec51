import Declarations
import HostFacts
import Requirements

/// The checks across declarations, made once every file is read: no two
/// tests with one id, no two setups with one name, and every setup a test or
/// setup names declared. (What one declaration says on its own is checked
/// where it is read, in `Formats/`.)
enum CatalogValidator {
    /// Duplicate test ids and setup names, each naming where the first was declared.
    ///
    /// `idHashes` are the ids' hash values (computed by the loader's workers):
    /// a table of integers finds the duplicates; only a (most unlikely)
    /// collision of two different ids falls back to a table of the ids themselves.
    static func duplicates(tests: [TestDefinition], idHashes: [Int], setups: [SetupDefinition]) -> [DeclarationError] {
        var firstByHash: [Int: Int] = [:]
        firstByHash.reserveCapacity(tests.count)
        var duplicates: [DeclarationError] = []
        var collided = false
        func duplicate(_ index: Int, of first: Int) -> DeclarationError {
            let test = tests[index]
            return test.location.error("duplicate test id \(test.id), first declared at \(tests[first].location); rename one of them")
        }
        for (index, hash) in idHashes.enumerated() {
            if let first = firstByHash[hash] {
                guard tests[first].id == tests[index].id else {
                    collided = true
                    break
                }
                duplicates.append(duplicate(index, of: first))
            } else {
                firstByHash[hash] = index
            }
        }
        if collided {
            duplicates = []
            var seen: [String: Int] = [:]
            for (index, test) in tests.enumerated() {
                if let first = seen[test.id] { duplicates.append(duplicate(index, of: first)) } else { seen[test.id] = index }
            }
        }
        var setupSeen: [String: DeclarationLocation] = [:]
        for setup in setups {
            if let first = setupSeen[setup.name] {
                duplicates.append(setup.location.error("duplicate setup \"\(setup.name)\", first declared at \(first); rename one of them"))
            } else {
                setupSeen[setup.name] = setup.location
            }
        }
        return duplicates
    }

    /// Every test whose id (a variant's: its test's id) holds a `[` or a `]`: one error each. Those characters are kept for
    /// variants' ids (`/test[axis=value]`), so that a stored id ending in `[…]` is a variant for `history`, `why`, `--id`
    /// and the dashboard, and never a test named so.
    static func bracketedIDs(tests: [TestDefinition]) -> [DeclarationError] {
        var errors: [DeclarationError] = []
        for test in tests {
            let id = test.variant?.baseID ?? test.id
            guard id.utf8.contains(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }) else { continue }
            let rename = if case .executable = test.command { "rename the file or its directory without them" }
                else { "rename the test without them (to run it over several values, declare `variants:`)" }
            errors.append(test.location.error("test id \(shortenedName(id)) holds `[` or `]`, which Testbed keeps for variants' "
                + "ids (/test[axis=value]); \(rename)"))
        }
        return errors
    }

    /// Every setup a test names (`setup:`) or a setup comes `after` that no
    /// setup of `setups` is: one error each, with a guess at the name meant.
    /// The only check of setup references: the resolver relies on it.
    static func setupReferences(tests: [TestDefinition], setups: [SetupDefinition]) -> [DeclarationError] {
        let names = setups.map(\.name)
        let known = Set(names)
        var errors: [DeclarationError] = []
        func unknown(_ name: String, _ location: DeclarationLocation, _ owner: String) {
            var message = "\(owner) needs setup \"\(name)\", which no testbed.yaml declares"
            if let guess = closest(to: name, in: names) {
                message += "; did you mean \"\(guess)\"?"
            } else {
                message += "; declare it under `setups:` or remove it"
            }
            errors.append(location.error(message))
        }
        for test in tests {
            for name in test.setups where !known.contains(name) { unknown(name, test.setupsLocation, "test \(test.id)") }
        }
        for setup in setups {
            for name in setup.after where !known.contains(name) { unknown(name, setup.location, "setup \"\(setup.name)\" (after)") }
        }
        return errors
    }
}
