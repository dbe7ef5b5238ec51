import Testing
@testable import Catalog

@Suite("Selection")
struct TestSelectionTests {
    @Test("tag expressions", arguments: [
        ("migration", ["migration", "quick"], true),
        ("migration", ["quick"], false),
        ("quick | smoke", ["smoke"], true),
        ("migration & !slow", ["migration", "slow"], false),
        ("migration & !slow", ["migration"], true),
        ("migration,quick", ["migration"], false),
        ("migration,quick", ["migration", "quick"], true),
        ("(kvm or tcg) and not flaky", ["tcg"], true),
        ("(kvm or tcg) and not flaky", ["tcg", "flaky"], false),
        ("!a | b & c", ["b", "c", "a"], true),
        ("!a | b & c", ["a", "b"], false),
    ])
    func tags(expression: String, tags: [String], matches: Bool) throws {
        #expect(try TagExpression(parsing: expression).matches(Set(tags)) == matches)
    }

    @Test("bad tag expressions", arguments: ["", "a &", "(a | b", "a b", "| a", ")"])
    func badTags(expression: String) {
        #expect(throws: TagExpression.ParseError.self) { try TagExpression(parsing: expression) }
    }

    @Test("id prefixes stop at a slash; globs cross them", arguments: [
        ("/migration", "/migration/precopy/tcp", true),
        ("migration", "/migration/precopy/tcp", true),
        ("/migration", "/migrations/x", false),
        ("/migration/", "/migration/x", true),
        ("/migration/precopy/tcp", "/migration/precopy/tcp", true),
        ("/migration/*/tcp", "/migration/precopy/tcp", true),
        ("/migration/*/tcp", "/migration/precopy/unix", false),
        ("*tcp", "/migration/precopy/tcp", true),
        ("/m*", "/migration/precopy/tcp", true),
        ("/basic/t?", "/basic/t1", true),
    ])
    func ids(pattern: String, id: String, matches: Bool) {
        #expect(TestSelection.idMatches(pattern: pattern, id: id) == matches)
    }
}
