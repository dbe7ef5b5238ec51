import Foundation
import Testing
import TestSupport

/// A fenced block of a Markdown page: its language (`yaml`, `sh`, or empty) and its lines.
struct FencedBlock {
    let language: String
    let lines: [String]
}

/// The fenced blocks of a page of the repository, in order.
func fencedBlocks(of page: String) throws -> [FencedBlock] {
    let text = try String(contentsOf: packageRoot.appendingPathComponent(page), encoding: .utf8)
    var blocks: [FencedBlock] = []
    var language: String?
    var lines: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        guard line.hasPrefix("```") else {
            if language != nil { lines.append(line) }
            continue
        }
        if let open = language {
            blocks.append(FencedBlock(language: open, lines: lines))
            language = nil
            lines = []
        } else {
            language = String(line.dropFirst(3))
        }
    }
    return blocks
}

/// Lines made comparable between a page and the binary: run ids, durations,
/// `-j` and the home directory the page shows replaced, trailing blanks and
/// blank lines at the end dropped.
func normalizedOutput(_ lines: [String], home: String) -> [String] {
    var kept = lines.map { line in
        var line = line.replacingOccurrences(of: home, with: "/home/me")
        line = line.replacing(/\d{8}-\d{6}-[0-9a-f]{4}/) { _ in "RUN-ID" }
        line = line.replacing(/\d+\.\d+ s\b/) { _ in "N s" }
        line = line.replacing(/-j \d+/) { _ in "-j N" }
        while line.last == " " { line.removeLast() }
        return line
    }
    while kept.last == "" { kept.removeLast() }
    return kept
}

/// Whether `actual` is `expected`, where a `...` line of `expected` stands for any lines (none too).
func matchesWithEllipses(_ expected: ArraySlice<String>, _ actual: ArraySlice<String>) -> Bool {
    guard let first = expected.first else { return actual.isEmpty }
    if first == "..." {
        var rest = actual
        while true {
            if matchesWithEllipses(expected.dropFirst(), rest) { return true }
            guard !rest.isEmpty else { return false }
            rest = rest.dropFirst()
        }
    }
    guard actual.first == first else { return false }
    return matchesWithEllipses(expected.dropFirst(), actual.dropFirst())
}

@Suite("docs/first-suite.md: its files make the suite it shows, and its outputs are what the binary prints")
struct FirstSuiteDocTests {
    @Test("each `$ testbed …` block of first-suite.md, run on the files the page writes, prints what the page shows")
    func outputs() throws {
        let blocks = try fencedBlocks(of: "docs/first-suite.md")
        let home = try TemporaryTree()
        var files: [String] = []
        // A file block names its path in a comment on its first or second line: `# mysuite/testbed.yaml`.
        for block in blocks where block.language == "yaml" || block.language == "sh" {
            guard let comment = block.lines.prefix(2).first(where: { $0.hasPrefix("# ") }),
                  let path = comment.dropFirst(2).split(separator: " ").first.map(String.init) else { continue }
            try home.write(path, block.lines.joined(separator: "\n") + "\n", executable: comment.contains("(chmod +x)"))
            files.append(path)
        }
        #expect(files == ["mysuite/testbed.yaml", "mysuite/net/ping.sh", "mysuite/environments/lab.yaml"], "\(files)")
        let examples = blocks.filter { $0.lines.first?.hasPrefix("$ ") == true }
        #expect(examples.count == 4, "the check, the run, the run and the check from a sub-folder")
        for example in examples {
            var command = String(example.lines[0].dropFirst(2))
            var directory = home.path
            if let match = command.firstMatch(of: #/^cd (\S+) && /#) {
                directory = home[String(match.1)]
                command = String(command[match.range.upperBound...])
            }
            let words = command.split(separator: " ").map(String.init)
            try #require(words.first == "testbed", "\(command)")
            let result = try testbed(Array(words.dropFirst()), in: directory)
            let printed = (result.stderr + result.stdout).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let expected = normalizedOutput(Array(example.lines.dropFirst()), home: home.path)
            let actual = normalizedOutput(printed, home: home.path)
            #expect(matchesWithEllipses(expected[...], actual[...]),
                    "\(command) prints\n\(actual.joined(separator: "\n"))\n\nbut docs/first-suite.md shows\n\(expected.joined(separator: "\n"))")
        }
    }
}
