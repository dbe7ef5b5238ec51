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
    func unknownBit() throws {
        let taint = Taint(rawValue: 1 << 9 | 1 << 21)
        #expect(taint.letters == "W#21")
        #expect(taint.decoded == "W (the kernel issued a warning), #21 (bit 21, unknown to this Testbed)")
        #expect(try Taint.letters(taint.letters) == taint)
    }

    @Test("the flags a test added are the difference of after and before")
    func difference() throws {
        let before = try #require(Taint.parse("4096"))
        let after = try #require(Taint.parse("4608"))
        #expect(after.subtracting(before).letters == "W")
    }

    @Test("--taint-ignore letters: alone, with commas or spaces; an unknown letter names the table", arguments: [
        ("W", "W"), ("W,O", "WO"), ("O W", "WO"), ("DW", "DW"), ("", ""), ("w o", "WO"), ("dw", "DW"), ("O,21", "O#21"),
        ("W#21", "W#21"), ("#9 20", "W#20"), ("0", "P"),
    ])
    func letters(text: String, expected: String) throws {
        #expect(try Taint.letters(text).letters == expected)
    }

    @Test("letters are taken in either case: no two letters of the table differ only by case")
    func caseInsensitive() {
        #expect(Set(Taint.allLetters.map { $0.lowercased() }).count == Taint.flags.count)
        #expect(Taint.flag("l")?.bit == 14)
    }

    @Test("a letter the table lacks, or a bit number over 63, is an error that lists what is accepted")
    func badLetter() {
        #expect(throws: KernelHealthError.unknownTaintLetter("z")) { try Taint.letters("W,z") }
        #expect(throws: KernelHealthError.badTaintBit("#64")) { try Taint.letters("64") }
        #expect(throws: KernelHealthError.badTaintBit("#")) { try Taint.letters("W#") }
        #expect(KernelHealthError.badTaintBit("#64").description.contains("0 to 63"))
        let message = KernelHealthError.unknownTaintLetter("Z").description
        #expect(message.contains("'Z'") && message.contains(Taint.allLetters))
    }

    @Test("a taint file that is not an integer is said on one line, its content escaped")
    func malformedMessage() {
        let message = KernelHealthError.malformedTaint(path: "/r/tainted", text: "garbage\n").description
        #expect(message.hasPrefix(#"/r/tainted holds "garbage\n", not an integer; "#), "\(message)")
        #expect(!message.contains("\n"))
    }
}
