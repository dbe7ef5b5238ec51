import Subtests
import Testing

@Suite("subtest streams: any output")
struct SubtestFuzzTests {
    /// Pieces of lines each protocol knows, and noise, for random outputs.
    static let pieces = [
        "ok", "not ok", " 1", " 2", " - ", "name", " # SKIP", " # TODO", " # XFAIL", "#", "\\", "1..", "3", "    ", "\t", "# ",
        "# Subtest: s", "KTAP version 1", "TAP version 14", "Bail out!", "  ---", "  ...", "PASS: ", "FAIL: ", "SKIP: ", "(why)",
        "[ RUN      ] A.B", "[       OK ] A.B", "[  FAILED  ] A.B", "\u{1B}[31m", "[  1.0] ", "é", "\r", "\n", "\n", "\n",
    ]

    @Test("random outputs in every protocol: no trap, ordinals 1…n, every subtest counted, kept or dropped",
          arguments: OutputProtocol.allCases)
    func invariants(outputProtocol: OutputProtocol) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var stream = SubtestStream(protocol: outputProtocol, maximumKept: 5)
            for _ in 0..<Int.random(in: 0...120, using: &generator) {
                let piece = Self.pieces.randomElement(using: &generator)!
                let bytes = Array(piece.utf8)
                // Split anywhere, a multi-byte character too.
                let cut = Int.random(in: 0...bytes.count, using: &generator)
                stream.feed(bytes[..<cut])
                stream.feed(bytes[cut...])
            }
            stream.finish()
            #expect(stream.subtests.map(\.ordinal) == Array(stride(from: 1, through: stream.subtests.count, by: 1)))
            #expect(stream.subtests.count <= 5)
            #expect(stream.counts.total == stream.subtests.count + stream.dropped)
            #expect(stream.subtests.allSatisfy { $0.name.utf8.count <= SubtestStream.maximumLineBytes })
            if outputProtocol == .exitcode { #expect(stream.counts.total == 0) }
        }
    }
}
