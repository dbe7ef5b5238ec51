@testable import Catalog
import Declarations
import Foundation
import Requirements
import TestSupport
import Testing

@Suite("Requirement sets: equal lists interned once")
struct RequirementSetTests {
    @Test("tests with equal requires and setup lists share an id; any difference gives another")
    func interned() async throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              disk:
                run: 'true'
            tests:
              a: {run: 'true', requires: [root, "kernel >= 5"]}
              b: {run: 'true', requires: [root, "kernel >= 5"]}
              c: {run: 'true', requires: [root, "kernel >= 5"], setup: [disk]}
              d: {run: 'true', requires: ["kernel >= 5", root]}
              e: {run: 'true', setup: [disk]}
              f: {run: 'true', requires: [root, "kernel >= 5"], tags: [other]}
              g: 'true'
              h: 'true'
            """,
            "drop-in": "#!/bin/sh\n# testbed-requires: root, kernel >= 5\n",
        ])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tree["drop-in"])
        let catalog = try await CatalogLoader().load([tree.path])
        var sets: [String: RequirementSetID] = [:]
        for test in catalog.tests { sets[test.id] = try #require(test.requirementSet, "\(test.id)") }
        #expect(sets["/a"] == sets["/b"])
        #expect(sets["/a"] == sets["/f"], "tags are no part of the set")
        #expect(sets["/g"] == sets["/h"])
        // One file is read by one worker: within it, every distinct pair of lists has its own id.
        let distinct: [String] = ["/a", "/c", "/d", "/e", "/g"]
        #expect(Set(distinct.map { sets[$0] }).count == distinct.count)
        // Another file may be read by another worker: equal lists may get another id, never one of different lists.
        #expect(sets["/drop-in"] == sets["/a"] || !distinct.map { sets[$0] }.contains(sets["/drop-in"]))
    }

    @Test("unknown names are counted once per test, whether the tests carry an interned set or not")
    func keyedBySet() throws {
        let kernel = try Requirement(parsing: "kernel >= 99")
        // Equal lists built apart (no shared storage), interned under one id: one verdict, one count.
        let tests = (0..<3).map { index in
            TestDefinition(id: "/t\(index)", command: .shell("true"), requires: [try! Requirement(parsing: "kernal >= 5"), kernel],
                           directory: "/", location: here, requirementSet: RequirementSetID(4))
        }
        let found = UnknownFact.find(tests: tests, setups: [], facts: host)
        #expect(found.map(\.name) == ["kernal"])
        #expect(found.map(\.tests) == [3])
        // Without an id (tests made by hand), each test is looked at: the same answer.
        let unset = tests.map { TestDefinition(id: $0.id, command: $0.command, requires: $0.requires, directory: "/", location: here) }
        #expect(UnknownFact.find(tests: unset, setups: [], facts: host) == found)
    }
}
