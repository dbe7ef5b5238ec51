@testable import Catalog
import Declarations
import Foundation
import Subtests
import Testing
import TestSupport

@Suite("meson intro-tests.json")
struct MesonDecoderTests {
    static let list = """
    [
      {"name": "tap count", "cmd": ["/b/tapper", "--fast"], "suite": ["tiny:fast", "tiny:slow"], "timeout": 30,
       "is_parallel": true, "env": {}, "workdir": null, "protocol": "tap", "depends": ["tapper@exe"], "priority": 0},
      {"name": "a/b", "cmd": ["/bin/sh", "-c", "exit 0"], "suite": ["tiny"], "timeout": 0, "is_parallel": false,
       "env": {"FOO": "it's $HOME"}, "workdir": "/src", "protocol": "exitcode", "depends": [], "priority": 5},
      {"name": "inverted", "cmd": ["/bin/false"], "suite": ["sub:x"], "timeout": 5, "is_parallel": true, "env": {},
       "workdir": null, "protocol": "gtest", "depends": [], "should_fail": true},
      {"name": "inverted", "cmd": ["/bin/true"], "suite": ["tiny"], "timeout": 5, "protocol": "rust", "depends": []}
    ]
    """

    @Test("each entry becomes a test: ids, tags from suites, timeout, exclusive, directory, protocol, the ninja setup")
    func decode() async throws {
        let tree = try TemporaryTree(["meson-info/intro-tests.json": Self.list])
        let catalog = try await CatalogLoader().load([tree.path])
        #expect(catalog.tests.map(\.id) == ["/tap count", "/a/b", "/sub/inverted", "/tiny/inverted"])
        let tap = catalog.tests[0]
        #expect(tap.tags == ["tiny:fast", "tiny", "fast", "tiny:slow", "slow"])
        #expect(tap.timeout == .seconds(30))
        #expect(!tap.exclusive)
        #expect(tap.outputProtocol == .tap)
        #expect(tap.setups == ["ninja"])
        #expect(tap.directory == URL(fileURLWithPath: tree.path).standardizedFileURL.path)
        let plain = catalog.tests[1]
        #expect(plain.timeout == .zero)
        #expect(plain.exclusive)
        #expect(plain.directory == "/src")
        #expect(plain.setups.isEmpty)
        #expect(plain.outputProtocol == .exitcode)
        #expect(catalog.tests[2].outputProtocol == .gtest)
        #expect(catalog.tests[3].outputProtocol == .exitcode)
        #expect(catalog.setups.map(\.name) == ["ninja"])
        #expect(catalog.setups[0].run == "ninja")
    }

    @Test("the command line quotes every word and the environment; should_fail inverts the exit status but for 77 and 99")
    func commandLine() throws {
        let tests = try MesonTest.list(from: Data(Self.list.utf8)).get()
        let env = tests[1].commandLine
        #expect(env.contains(#"FOO='it'\''s $HOME' exec /bin/sh -c 'exit 0'"#), "\(env)")
        let tree = try TemporaryTree()
        let argv = MesonTest.make(name: "x", cmd: ["/bin/sh", "-c", #"printf '%s|' "$@" > out; echo "$FOO" >> out"#, "sh", "a b", "it's", "$X"],
                                  env: ["FOO": "it's $HOME"])
        #expect(try shell("cd \(tree.path) && " + argv.commandLine).status == 0)
        let written = try String(contentsOfFile: tree["out"], encoding: .utf8)
        #expect(written == "a b|it's|$X|it's $HOME\n")
        for (code, expected): (Int32, Int32) in [(0, 1), (1, 0), (3, 0), (77, 77), (99, 99)] {
            let inverted = MesonTest.make(name: "x", cmd: ["/bin/sh", "-c", "exit \(code)"], shouldFail: true)
            #expect(try shell(inverted.commandLine).status == expected, "exit \(code)")
        }
    }

    @Test("a list that is not JSON, an entry without cmd or an unknown protocol is an error naming the file")
    func errors() async throws {
        for (text, words) in [("{", "not a JSON array"), (#"[{"name": "x"}]"#, "test #1 (x) has no cmd"),
                              (#"[{"name": "x", "cmd": ["a"], "protocol": "subunit"}]"#, "protocol \"subunit\"")] {
            let tree = try TemporaryTree(["meson-info/intro-tests.json": text])
            let errors = await loadErrors(tree)
            #expect(errors.count == 1)
            #expect(errors.first?.file.hasSuffix("meson-info/intro-tests.json") == true)
            #expect(errors.first?.message.contains(words) == true, "\(errors)")
        }
    }
}

extension MesonTest {
    /// An entry read from the fields given, as meson writes them.
    static func make(name: String, cmd: [String], env: [String: String] = [:], shouldFail: Bool = false) -> MesonTest {
        let entry: [String: Any] = ["name": name, "cmd": cmd, "env": env, "should_fail": shouldFail]
        guard case .success(let test) = read(index: 0, entry) else { fatalError("the entry does not read") }
        return test
    }
}

@Suite("Shell quoting of generated command lines")
struct FieldShellTests {
    @Test("plain words stay; anything the shell reads specially is single-quoted and reads back as written",
          arguments: ["/usr/bin/sh", "-c", "a b", "it's", "$HOME", "*", "", "A=b", "~x", "x;y", "back\\slash", "new\nline", "é"])
    func quote(word: String) throws {
        let quoted = FieldShell.quote(word)
        if word.allSatisfy({ FieldShell.plain.contains($0) }) && !word.isEmpty { #expect(quoted == word) }
        let echoed = try shell("printf '%s' " + quoted)
        #expect(echoed.stdout == word)
    }
}
