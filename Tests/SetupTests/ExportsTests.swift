import Testing
@testable import Setup

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
