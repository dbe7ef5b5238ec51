import Declarations
import Foundation
import HostFacts
import Requirements

/// Parses requirements once per distinct text: suites repeat the same few
/// requirements across thousands of tests.
final class RequirementCache {
    var parsed: [String: Result<Requirement, RequirementError>] = [:]
    /// Whole `requires` lists: tests share a few lists, parsed (and stored) once each.
    var lists: [[String]: [Requirement]] = [:]
    /// Tag and setup lists, so that tests with equal lists share one array.
    var stringLists: [[String]: [String]] = [:]
    /// Every fact name a parsed requirement mentions.
    var factNames: Set<String> = []

    func parse(_ text: String) throws(RequirementError) -> Requirement {
        if let hit = parsed[text] { return try hit.get() }
        let result = Result { () throws(RequirementError) -> Requirement in try Requirement(parsing: text) }
        parsed[text] = result
        if case .success(let requirement) = result { note(requirement) }
        return try result.get()
    }

    /// The requirements of a list, in order; the first invalid one throws.
    func parse(_ texts: [String]) throws(RequirementError) -> [Requirement] {
        if let hit = lists[texts] { return hit }
        var result: [Requirement] = []
        result.reserveCapacity(texts.count)
        for text in texts { result.append(try parse(text)) }
        lists[texts] = result
        return result
    }

    /// Keeps the fact names a requirement mentions.
    func note(_ requirement: Requirement) {
        for alternative in requirement.alternatives { factNames.insert(alternative.name) }
    }

    /// An equal list seen before, or this one.
    func shared(_ list: [String]) -> [String] {
        if list.isEmpty { return list }
        if let hit = stringLists[list] { return hit }
        stringLists[list] = list
        return list
    }
}

/// Collected while loading.
struct LoadState {
    let requirements = RequirementCache()
    /// Standardized absolute directories, by the path as walked.
    var directories: [String: String] = [:]

    mutating func standardized(_ directory: String) -> String {
        if let known = directories[directory] { return known }
        let path = URL(fileURLWithPath: directory).standardizedFileURL.path
        directories[directory] = path
        return path
    }

    var tests: [TestDefinition] = []
    var setups: [SetupDefinition] = []
    var errors: [DeclarationError] = []
    /// How many tests' commands start with a relative path (`./x86/run`).
    var relativePrograms = 0

    /// Duplicate test ids and setup names. `idHashes` are the ids' hash
    /// values (computed by the workers): a table of integers finds the
    /// duplicates; only a (most unlikely) collision of two different ids
    /// falls back to a table of the ids themselves.
    mutating func checkDuplicates(idHashes: [Int]) {
        var firstByHash: [Int: Int] = [:]
        firstByHash.reserveCapacity(tests.count)
        var duplicates: [DeclarationError] = []
        var collided = false
        for (index, hash) in idHashes.enumerated() {
            if let first = firstByHash[hash] {
                guard tests[first].id == tests[index].id else { collided = true; break }
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
        errors += duplicates
        var setupSeen: [String: DeclarationLocation] = [:]
        for setup in setups {
            if let first = setupSeen[setup.name] {
                errors.append(setup.location.error("duplicate setup \"\(setup.name)\", first declared at \(first); rename one of them"))
            } else {
                setupSeen[setup.name] = setup.location
            }
        }
    }

    func duplicate(_ index: Int, of first: Int) -> DeclarationError {
        let test = tests[index]
        return test.location.error("duplicate test id \(test.id), first declared at \(tests[first].location); rename one of them")
    }

    mutating func checkSetupReferences() {
        let names = setups.map(\.name)
        let known = Set(names)
        func unknown(_ name: String, _ location: DeclarationLocation, _ owner: String) {
            var message = "\(owner) needs setup \"\(name)\", which no testbed.yaml declares"
            if let guess = closest(to: name, in: names) { message += "; did you mean \"\(guess)\"?" }
            else { message += "; declare it under `setups:` or remove it" }
            errors.append(location.error(message))
        }
        for test in tests {
            for name in test.setups where !known.contains(name) { unknown(name, test.setupsLocation, "test \(test.id)") }
        }
        for setup in setups {
            for name in setup.after where !known.contains(name) { unknown(name, setup.location, "setup \"\(setup.name)\" (after)") }
        }
    }
}
