import KernelHealth
import Testing

@Suite("Taint: the flags of /proc/sys/kernel/tainted")
struct TaintTests {
    @Test("an integer decodes to its letters in bit order, with their meaning")
    func decode() throws {
        let taint = try #require(Taint.parse("640\n"))
        #expect(taint.letters == "DW")
        #expect(taint.decoded == "D (the kernel died recently: an oops or a BUG), W (the kernel issued a warning)")
        #expect(Taint.parse("0")?.isEmpty == true)
        #expect(Taint.parse("0")?.description == "none")
        #expect(Taint.parse("-1") == nil)
        #expect(Taint.parse("W") == nil)
        #expect(Taint.parse("") == nil)
    }

    @Test("the table has the 20 flags of tainted-kernels.rst, one letter each")
    func table() {
        #expect(Taint.flags.map(\.bit) == Array(0..<20))
        #expect(Taint.allLetters == "PFSRMBUDAWCIOELKXTNJ")
        #expect(Set(Taint.allLetters).count == 20)
        #expect(Taint.flag("L")?.bit == 14)
    }

    @Test("a bit beyond the table is shown by number, not dropped")
    func unknownBit() {
        let taint = Taint(rawValue: 1 << 9 | 1 << 21)
        #expect(taint.letters == "W#21")
        #expect(taint.decoded.contains("bit 21"))
    }

    @Test("the flags a test added are the difference of after and before")
    func difference() throws {
        let before = try #require(Taint.parse("4096"))
        let after = try #require(Taint.parse("4608"))
        #expect(after.subtracting(before).letters == "W")
    }

    @Test("--taint-ignore letters: alone, with commas or spaces; an unknown letter names the table", arguments: [
        ("W", "W"), ("W,O", "WO"), ("O W", "WO"), ("DW", "DW"), ("", ""),
    ])
    func letters(text: String, expected: String) throws {
        #expect(try Taint.letters(text).letters == expected)
    }

    @Test("a letter the table lacks (or lowercase) is an error that lists the letters")
    func badLetter() {
        #expect(throws: KernelHealthError.unknownTaintLetter("w")) { try Taint.letters("w") }
        let message = KernelHealthError.unknownTaintLetter("Z").description
        #expect(message.contains("'Z'") && message.contains(Taint.allLetters))
    }
}
