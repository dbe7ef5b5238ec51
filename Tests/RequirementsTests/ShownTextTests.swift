@testable import Declarations
@testable import Requirements
import Foundation
import TestSupport
import Testing

@Suite("Text shown in messages: escaped, cut short")
struct ShownTextTests {
    @Test("control characters are escaped as in a Swift literal; printable text is left alone", arguments: [
        ("plain/id", "plain/id"), ("a\nb", "a\\nb"), ("cr\r", "cr\\r"), ("\t", "\\t"), ("\0", "\\0"),
        ("\u{1B}[2J", "\\u{1B}[2J"), ("\u{7F}", "\\u{7F}"), ("\u{85}", "\\u{85}"), ("x\u{202E}y", "x\\u{202E}y"),
        ("\u{2028}", "\\u{2028}"), ("é🙂e\u{301}", "é🙂e\u{301}"),
        ("a\u{200B}b", "a\\u{200B}b"), ("\u{FEFF}\u{AD}\u{FFF9}", "\\u{FEFF}\\u{AD}\\u{FFF9}"), ("x\u{E0001}", "x\\u{E0001}"),
    ])
    func escaping(text: String, shown: String) {
        #expect(text.escapingControls == shown)
        #expect((firstUnprintable(in: text) == nil) == (text == shown))
    }

    @Test("messages name a format character invisible, a control or bidirectional one a control character")
    func named() {
        #expect(firstUnprintableNamed(in: "a\u{200B}b") == "an invisible format character (`\\u{200B}`)")
        #expect(firstUnprintableNamed(in: "a\u{E0001}") == "an invisible format character (`\\u{E0001}`)")
        #expect(firstUnprintableNamed(in: "a\u{1B}") == "a control character (`\\u{1B}`)")
        #expect(firstUnprintableNamed(in: "a\u{202E}") == "a control character (`\\u{202E}`)")
        #expect(firstUnprintableNamed(in: "é🙂") == nil)
        // Emoji joiners print as the emoji they join, but a name refuses them: `/a<U+200D>b` prints as `/ab`.
        let family = "\u{1F468}\u{200D}\u{1F469}"
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"
        #expect(family.escapingControls == family && scotland.escapingControls == scotland && firstUnprintable(in: family + scotland) == nil)
        #expect(firstUnprintableNamed(in: "/a\u{200D}b") == "an invisible format character (`\\u{200D}`)")
        #expect(firstUnprintableNamed(in: scotland) == "an invisible format character (`\\u{E0067}`)")
        #expect(shortenedName("/a\u{200D}b") == "/a\\u{200D}b" && shortened("/a\u{200D}b") == "/a\u{200D}b")
    }

    @Test("JSON: \\u escapes, a surrogate pair beyond U+FFFF; only unprintable characters from U+007F up are touched")
    func json() throws {
        #expect(jsonEscaped("\u{1B}") == "\\u001b" && jsonEscaped("\u{200B}") == "\\u200b")
        #expect(jsonEscaped("\u{E0001}") == "\\udb40\\udc01")
        let text = "{\n  \"a\" : \"x\u{9B}\u{7F}\u{2028}\u{200B}\u{E0001}é🙂\\u001b\"\n}"
        let escaped = escapingUnprintableInJSON(text)
        #expect(escaped == "{\n  \"a\" : \"x\\u009b\\u007f\\u2028\\u200b\\udb40\\udc01é🙂\\u001b\"\n}")
        let read = try #require(JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String])
        #expect(read["a"] == "x\u{9B}\u{7F}\u{2028}\u{200B}\u{E0001}é🙂\u{1B}")
    }

    @Test("long text is cut to its first 60 characters (escapes counted whole) and its length")
    func shortening() {
        #expect(shortened(String(repeating: "a", count: 80)) == String(repeating: "a", count: 80))
        #expect(shortened(String(repeating: "a", count: 81)) == String(repeating: "a", count: 60) + "… (81 characters)")
        let escapes = shortened(String(repeating: "\u{1B}", count: 100))
        #expect(escapes == String(repeating: "\\u{1B}", count: 10) + "… (100 characters)")
    }

    @Test("a declaration error never prints a control character, whatever its file name or message")
    func declarationErrors() {
        let error = DeclarationError(file: "dir\u{1B}[31m/testbed.yaml", line: 3, message: "test \"a\nb\" is bad")
        #expect(error.description == "dir\\u{1B}[31m/testbed.yaml:3: test \"a\\nb\" is bad")
    }

    @Test("a requirement with a control character is refused at its column; a tab is a blank")
    func requirements() throws {
        let error = try #require(throws: RequirementError.self) { try Requirement(parsing: "qemu >= 8.2\u{1B}[2J") }
        #expect(error.column == 12 && error.problem == "control character `\\u{1B}`")
        #expect(try Requirement(parsing: "qemu\t>= 8.2").alternatives == [.compare("qemu", .greaterOrEqual, "8.2")])
    }

    @Test("did-you-mean skips names too long or too short to be close, with the same answers")
    func closestByLength() {
        #expect(closest(to: "kernal", in: ["kernel", "qemu"]) == "kernel")
        #expect(closest(to: String(repeating: "k", count: 100_000), in: ["kernel", "qemu"]) == nil)
        #expect(closest(to: "kvm", in: ["kvm-intel-nested", "kv"]) == "kv")
    }

    @Test("YAML nests at most 64 levels: deeper is an error at its line, not a recursion without end")
    func yamlNesting() throws {
        let reader = YAMLReader(file: "f.yaml")
        func nested(_ depth: Int) -> String { "a:\n  " + String(repeating: "[", count: depth) + "x" + String(repeating: "]", count: depth) + "\n" }
        #expect(try reader.parse(nested(63)) != nil)
        let error = try #require(throws: DeclarationError.self) { try reader.parse(nested(64)) }
        #expect(error.description == "f.yaml:2: YAML syntax error: lists or mappings nested more than 64 levels deep; fix the YAML at that line")
        #expect(throws: DeclarationError.self) { try reader.parse(nested(100_000)) }
    }

    @Test("a FIFO, a directory or a file over the limit is refused before it is read; a regular file is read whole")
    func regularFiles() throws {
        let tree = try TemporaryTree(["small": "hello\n"])
        #expect(mkfifo(tree["fifo"], 0o644) == 0)
        #expect(throws: FileReadProblem.notRegular("a FIFO")) { try readRegularFile(tree["fifo"], limit: 100) }
        #expect(throws: FileReadProblem.directory) { try readRegularFile(tree.path, limit: 100) }
        #expect(throws: FileReadProblem.tooLarge(6)) { try readRegularFile(tree["small"], limit: 5) }
        #expect(throws: FileReadProblem.cannotOpen(ENOENT)) { try readRegularFile(tree["missing"], limit: 5) }
        #expect(try readRegularFile(tree["small"], limit: 6) == Data("hello\n".utf8))
        let fifo = try #require(throws: DeclarationError.self) { try readDeclarationFile(tree["fifo"], shownAs: "fifo") }
        #expect(fifo.description == "fifo: is a FIFO, not a regular file; name a YAML file")
    }
}
