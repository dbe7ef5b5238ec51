@testable import Catalog
@testable import Declarations
@testable import HostFacts
@testable import Requirements
import Testing

@Suite("Setup exports")
struct ExportsTests {
    @Test("KEY=VALUE lines, comments, blank lines; a later line wins")
    func lines() throws {
        let exports = try Exports.parse("# made by fetch-image\nIMAGE=/var/tmp/alpine.qcow2\n\nPORT=4444\r\nIMAGE=/var/tmp/b.qcow2\nEMPTY=\n")
        #expect(exports["IMAGE"] == "/var/tmp/b.qcow2")
        #expect(exports["PORT"] == "4444")
        #expect(exports["EMPTY"] == "")
        #expect(exports.dictionary.count == 3)
    }

    @Test("values are literal text, never evaluated")
    func literal() throws {
        let exports = try Exports.parse("DANGER=$(rm -rf ~)\nQUOTED=\"a b\"\nSPACES=  x  \n")
        #expect(exports["DANGER"] == "$(rm -rf ~)")
        #expect(exports["QUOTED"] == "\"a b\"")
        #expect(exports["SPACES"] == "  x  ")
    }

    @Test("multi-line values with KEY<<DELIMITER")
    func heredoc() throws {
        let exports = try Exports.parse("CERT<<EOF\nline 1\nline=2\nEOF\nNEXT=1\n")
        #expect(exports["CERT"] == "line 1\nline=2")
        #expect(exports["NEXT"] == "1")
    }

    @Test("bad lines name the line and the fix", arguments: [
        ("GOOD=1\nno equals sign\n", 2, "expected KEY=VALUE"),
        ("1BAD=x\n", 1, "is not a variable name"),
        ("BAD-NAME=x\n", 1, "is not a variable name"),
        ("=x\n", 1, "is not a variable name"),
        ("CERT<<EOF\nnever closed\n", 1, "is never closed"),
        ("CERT<<\n", 1, "needs a delimiter"),
        ("A=1\nB=x\u{0}y\nC=3\n", 2, "contains a NUL byte, which no environment variable can hold"),
        ("A=1\nCERT<<EOF\nok\nbad\u{0}\nEOF\n", 4, "contains a NUL byte"),
        ("\u{0}", 1, "contains a NUL byte"),
    ])
    func errors(text: String, line: Int, message: String) {
        do {
            _ = try Exports.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.line == line)
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("each variable keeps the line it was written on")
    func lineNumbers() throws {
        let exports = try Exports.parse("# c\nA=1\n\nCERT<<EOF\nx\nEOF\nB=2\n")
        #expect(exports.variables.map(\.key) == ["A", "CERT", "B"])
        #expect(exports.lines == [2, 4, 7])
    }

    @Test("bytes that are not UTF-8 are refused naming their line; NUL bytes never truncate a value")
    func bytes() throws {
        #expect(try Exports.parse(bytes: Array("A=é\n".utf8))["A"] == "é")
        do {
            _ = try Exports.parse(bytes: Array("A=1\nB=2\n".utf8) + [0x43, 0x3D, 0xFF, 0x0A])
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.line == 3)
            #expect(error.message == "is not UTF-8 text")
        }
        do {
            _ = try Exports.parse(bytes: Array("A=1\nB=x".utf8) + [0] + Array("y\nC=3\n".utf8))
            Issue.record("accepted a NUL byte")
        } catch {
            #expect(error.line == 2)
            #expect(error.fix == "write binary data to a file and export its path")
        }
    }

    @Test("a KEY=VALUE over 131072 bytes with its NUL cannot be passed on: its line and the fix")
    func tooLongVariable() throws {
        // KEY=VALUE plus its NUL: exactly the limit passes, one byte more does not.
        let fits = try Exports.parse("A=1\nBIG=" + String(repeating: "x", count: 131072 - 5) + "\n")
        try fits.checkPassable(environmentBytes: 0, limit: 1 << 30) { _ in 0 }
        let over = try Exports.parse("A=1\n# note\nBIG=" + String(repeating: "x", count: 131072 - 4) + "\n")
        do {
            try over.checkPassable(environmentBytes: 0, limit: 1 << 30) { _ in 0 }
            Issue.record("accepted a variable over MAX_ARG_STRLEN")
        } catch {
            #expect(error.line == 3)
            #expect(error.message == "`BIG` is 131073 bytes as BIG=VALUE, over the 131072 bytes Linux passes in one environment "
                    + "variable (MAX_ARG_STRLEN, its NUL included)")
            #expect(error.fix == "write the value to a file and export its path")
        }
    }

    @Test("exports that push the environment past the limit: the line where it stops fitting; replaced variables count once")
    func tooLargeEnvironment() throws {
        let exports = try Exports.parse("A=" + String(repeating: "a", count: 89) + "\nB=" + String(repeating: "b", count: 89)
                                        + "\nA=" + String(repeating: "a", count: 89) + "\nC=" + String(repeating: "c", count: 89) + "\n")
        // Each variable costs 2 + 89 + 1 + 8 = 100 bytes (KEY=, VALUE, NUL, pointer).
        #expect(Exports.cost(key: "A", value: String(repeating: "a", count: 89)) == 100)
        // 1,000 bytes of environment; the A written twice counts once: 1,300 in all.
        try exports.checkPassable(environmentBytes: 1000, limit: 1300) { _ in 0 }
        do {
            try exports.checkPassable(environmentBytes: 1000, limit: 1299) { _ in 0 }
            Issue.record("accepted 1,300 bytes for a limit of 1,299")
        } catch {
            #expect(error.line == 4)
            #expect(error.message.hasPrefix("with `C` the exports make the environment of the steps after this setup 1300 bytes, over the 1299 bytes"))
            #expect(error.fix == "write large values to files and export their paths")
        }
        // A variable the environment has already (B, 50 bytes) is replaced, not added.
        try exports.checkPassable(environmentBytes: 1050, limit: 1300) { $0 == "B" ? 50 : 0 }
    }

    @Test("provided facts", arguments: [
        ("qemu", "qemu", nil as String?),
        ("image:alpine = 3.19", "image:alpine", "3.19"),
        ("cmd:qemu-img", "cmd:qemu-img", nil),
    ])
    func provided(text: String, name: String, value: String?) throws {
        let fact = try #require(ProvidedFact(parsing: text))
        #expect(fact.name == name)
        #expect(fact.value == value)
    }

    @Test(arguments: ["", "bad name", "x = ", "x = a b", "a$b"])
    func badProvided(text: String) {
        #expect(ProvidedFact(parsing: text) == nil)
    }
}
