import Declarations
import Glibc
import Testing

@Suite("YAML with locations")
struct YAMLReaderTests {
    let reader = YAMLReader(file: "suite/testbed.yaml")

    @Test("every key and value carries its line; errors name the file and that line")
    func lines() throws {
        let root = try #require(try reader.parse("tests:\n  a: x\n\n  b:\n    run: y\n"))
        let top = try reader.mapping(root, what: "a testbed.yaml file")
        #expect(top.map(\.key) == ["tests"])
        let tests = try reader.mapping(top[0].value, what: "tests")
        #expect(tests.map(\.key) == ["a", "b"])
        #expect(tests.map { reader.line($0.keyNode) } == [2, 4])
        let b = try reader.mapping(tests[1].value, what: "test \"b\"")
        #expect(reader.line(b[0].value) == 5)
        #expect(reader.error(b[0].value, "bad run; fix it").description == "suite/testbed.yaml:5: bad run; fix it")
        #expect(reader.error(nil, "whole file").description == "suite/testbed.yaml: whole file")
    }

    @Test("a syntax error names its line and ends with the fix")
    func syntaxError() {
        let error = #expect(throws: DeclarationError.self) { try reader.parse("tests:\n  a: [x\n") }
        #expect(error?.file == "suite/testbed.yaml")
        #expect(error?.line != nil)
        #expect(error?.message.hasPrefix("YAML syntax error") == true)
        #expect(error?.message.hasSuffix("; fix the YAML at that line") == true)
    }

    @Test("an unknown key is refused at its line, with the nearest known one or the list")
    func unknownKey() throws {
        let root = try #require(try reader.parse("run: x\ntimout: 5s\n"))
        let entries = try reader.mapping(root, what: "test \"qmp\"")
        let near = #expect(throws: DeclarationError.self) { try reader.checkKeys(entries, allowed: ["run", "timeout"], what: "test \"qmp\"") }
        #expect(near?.description == "suite/testbed.yaml:2: unknown key \"timout\" in test \"qmp\"; did you mean \"timeout\"?")
        let far = #expect(throws: DeclarationError.self) { try reader.checkKeys(entries, allowed: ["run", "zzz"], what: "test \"qmp\"") }
        #expect(far?.description == "suite/testbed.yaml:2: unknown key \"timout\" in test \"qmp\"; known keys are run, zzz")
    }

    @Test("values of the wrong shape say what they are and what was wanted")
    func shapes() throws {
        let root = try #require(try reader.parse("list: [a, b]\nmap: {k: v}\nflag: perhaps\nnone:\n"))
        let entries = try reader.mapping(root, what: "top")
        #expect(try reader.strings(entries[0].value, what: "tags") == ["a", "b"])
        #expect(try reader.strings(entries[3].value, what: "tags") == [])
        let notScalar = #expect(throws: DeclarationError.self) { try reader.string(entries[0].value, what: "run") }
        #expect(notScalar?.description == "suite/testbed.yaml:1: run must be a single value, not a list")
        let notList = #expect(throws: DeclarationError.self) { try reader.strings(entries[1].value, what: "tags") }
        #expect(notList?.description == "suite/testbed.yaml:2: tags must be a list such as [a, b], not a mapping")
        let notBool = #expect(throws: DeclarationError.self) { try reader.bool(entries[2].value, what: "exclusive") }
        #expect(notBool?.description == "suite/testbed.yaml:3: exclusive must be true or false, not \"perhaps\"")
    }

    @Test("a merge key adds the merged entries not written here, after them")
    func merge() throws {
        let root = try #require(try reader.parse("base: &b {run: x, timeout: 5s}\nt:\n  <<: *b\n  run: y\n"))
        let entries = try reader.mapping(root, what: "top")
        let merged = try reader.mapping(entries[1].value, what: "test \"t\"")
        #expect(merged.map(\.key) == ["run", "timeout"])
        #expect(try reader.string(merged[0].value, what: "run") == "y")
    }

    @Test("an empty document is nothing")
    func empty() throws {
        #expect(try reader.parse("") == nil)
        #expect(try reader.parse("~\n") == nil)
    }
}

@Suite("Declaration errors")
struct DeclarationErrorTests {
    @Test("file and line, or the file alone; control characters escaped so no line can be forged")
    func rendering() {
        #expect(DeclarationError(file: "a/testbed.yaml", line: 3, message: "bad; fix it").description == "a/testbed.yaml:3: bad; fix it")
        #expect(DeclarationError(file: "a/run", line: nil, message: "bad").description == "a/run: bad")
        let forged = DeclarationError(file: "x\ny", line: 1, message: "m\u{1B}[2J").description
        #expect(!forged.contains("\n") && !forged.contains("\u{1B}"))
        #expect(DeclarationLocation(file: "f", line: 9).error("oops").description == "f:9: oops")
    }

    @Test("running out of descriptors is Testbed's limit, said with the fix")
    func descriptors() {
        let error = DeclarationError.outOfDescriptors(file: "suite/t", errno: EMFILE)
        #expect(error.isTestbedLimit)
        #expect(error.line == nil)
        #expect(error.message.hasPrefix("cannot be read: testbed ran out of file descriptors ("))
        #expect(error.message.hasSuffix("raise it (ulimit -n 1024, or fs.file-max for the whole system) and run again"))
        #expect(DeclarationError.isDescriptorShortage(ENFILE))
        #expect(!DeclarationError.isDescriptorShortage(EACCES))
        #expect(!DeclarationError(file: "f", line: 1, message: "m").isTestbedLimit)
    }

    @Test("did-you-mean: same name in another case first, then the nearest within a third of the length", arguments: [
        ("timout", ["run", "timeout"], "timeout"),
        ("KERNEL", ["kernel", "kerne"], "kernel"),
        ("xyz", ["run", "timeout"], nil),
        ("", [], nil),
    ] as [(String, [String], String?)])
    func closestName(word: String, candidates: [String], expected: String?) {
        #expect(closest(to: word, in: candidates) == expected)
    }
}
