import Foundation
import Testing
import TestSupport

@Suite("The common YAML mistakes are named in plain words, with file and line")
struct YAMLPlainWordsTests {
    @Test("a tab, an unclosed quote, a key without its colon, misaligned indentation", arguments: [
        ("tests:\n\ta: 'true'\n", "testbed.yaml:2:", "most likely a tab indents this line (YAML indents with spaces only)"),
        ("tests:\n  a: \"echo hi\n  b: 'true'\n", "testbed.yaml:",
         "a quoted value is never closed (the file ends first); end it with the quote it starts with"),
        ("tests:\n  a 'true'\n  b: 'true'\n", "testbed.yaml:3:", "a line above lacks the `:` after its key"),
        ("tests:\n  a: {run: 'true'\n", "testbed.yaml:", "YAML syntax error"),
        ("tests:\n  a: 'true'\n   b: 'true'\n", "testbed.yaml:3:", "the indentation does not line up with the lines above"),
    ])
    func plainWords(text: String, location: String, words: String) throws {
        let tree = try TemporaryTree(["testbed.yaml": text])
        let result = try testbed(["check", "."], in: tree.path)
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("testbed: error: \(location)"), "\(result.stderr)")
        #expect(result.stderr.contains("YAML syntax error: "), "\(result.stderr)")
        #expect(result.stderr.contains(words), "\(result.stderr)")
        #expect(result.stderr.contains("; fix the YAML at that line"), "\(result.stderr)")
    }
}
