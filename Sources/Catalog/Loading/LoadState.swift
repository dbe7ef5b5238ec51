import Declarations
import Foundation
import HostFacts
import Requirements
import Synchronization

/// Parses requirements once per distinct text: suites repeat the same few
/// requirements across thousands of tests. Also interns the lists: tests with
/// equal lists share one array, and each distinct pair of `requires` and
/// `setup` lists gets one `RequirementSetID`.
final class RequirementCache {
    var parsed: [String: Result<Requirement, RequirementError>] = [:]
    /// Whole `requires` lists: tests share a few lists, parsed (and stored) once
    /// each, numbered in the order met.
    var lists: [[String]: NumberedList<Requirement>] = [:]
    /// Tag lists, so that tests with equal lists share one array.
    var stringLists: [[String]: [String]] = [:]
    /// Setup lists, shared the same way, numbered in the order met.
    var setupLists: [[String]: NumberedList<String>] = [:]
    /// The id of each pair of list numbers with a setup list.
    var sets: [ListPair: RequirementSetID] = [:]
    /// The id of each `requires` list with no setup list, by its number + 1
    /// (0: no `requires` either). Most tests name no setup: an array costs
    /// no hashing per test.
    var withoutSetups: [RequirementSetID?] = []
    /// Where ids come from: shared by the workers of one load, so that ids
    /// are unique across them.
    let ids: RequirementSetCounter
    /// Every fact name a parsed requirement mentions.
    var factNames: Set<String> = []

    init(ids: RequirementSetCounter) {
        self.ids = ids
    }

    /// A list met before, and its number. (A struct, not a tuple: a
    /// dictionary's tuple values are copied through generic witnesses.)
    struct NumberedList<Element> {
        let number: Int
        let elements: [Element]
    }

    /// The numbers of a `requires` list and a `setup` list.
    struct ListPair: Hashable {
        let requires: Int
        let setups: Int
    }

    func parse(_ text: String) throws(RequirementError) -> Requirement {
        if let hit = parsed[text] { return try hit.get() }
        let result = Result { () throws(RequirementError) -> Requirement in try Requirement(parsing: text) }
        parsed[text] = result
        if case .success(let requirement) = result { note(requirement) }
        return try result.get()
    }

    /// The requirements of a list, in order, and the list's number; the first
    /// invalid one throws.
    func parse(_ texts: [String]) throws(RequirementError) -> NumberedList<Requirement> {
        if let hit = lists[texts] { return hit }
        var result: [Requirement] = []
        result.reserveCapacity(texts.count)
        for text in texts { result.append(try parse(text)) }
        let entry = NumberedList(number: lists.count, elements: result)
        lists[texts] = entry
        return entry
    }

    /// Keeps the fact names a requirement mentions.
    func note(_ requirement: Requirement) {
        for alternative in requirement.alternatives { factNames.insert(alternative.name) }
    }

    /// An equal tag list seen before, or this one.
    func shared(_ list: [String]) -> [String] {
        if list.isEmpty { return list }
        if let hit = stringLists[list] { return hit }
        stringLists[list] = list
        return list
    }

    /// An equal setup list seen before, or this one, and its number (-1 when empty).
    func sharedSetups(_ list: [String]) -> NumberedList<String> {
        if list.isEmpty { return NumberedList(number: -1, elements: list) }
        if let hit = setupLists[list] { return hit }
        let entry = NumberedList(number: setupLists.count, elements: list)
        setupLists[list] = entry
        return entry
    }

    /// The id of the pair of lists numbered `requires` and `setups` (-1 for an empty list).
    func requirementSet(requires: Int, setups: Int) -> RequirementSetID {
        if setups < 0 {
            let slot = requires + 1
            if slot < withoutSetups.count, let id = withoutSetups[slot] { return id }
            if slot >= withoutSetups.count { withoutSetups += repeatElement(nil, count: slot + 1 - withoutSetups.count) }
            let id = ids.next()
            withoutSetups[slot] = id
            return id
        }
        let pair = ListPair(requires: requires, setups: setups)
        if let id = sets[pair] { return id }
        let id = ids.next()
        sets[pair] = id
        return id
    }
}

/// Hands out `RequirementSetID`s to the workers of one load.
final class RequirementSetCounter: Sendable {
    let value = Atomic<Int>(0)

    /// A new id, never handed out before by this counter.
    func next() -> RequirementSetID {
        RequirementSetID(value.add(1, ordering: .relaxed).oldValue)
    }
}

/// Collected while loading.
struct LoadState {
    let requirements: RequirementCache

    init(ids: RequirementSetCounter = RequirementSetCounter()) {
        requirements = RequirementCache(ids: ids)
    }
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
}
