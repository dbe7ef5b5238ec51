@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

func load(_ tree: TemporaryTree, _ paths: [String]? = nil) async throws -> SuiteCatalog {
    try await CatalogLoader().load(paths ?? [tree.path])
}

/// The errors loading a tree gives, or an issue if it loads.
func loadErrors(_ tree: TemporaryTree, sourceLocation: SourceLocation = #_sourceLocation) async -> [DeclarationError] {
    do {
        _ = try await CatalogLoader().load([tree.path])
        Issue.record("the suite loaded", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.errors
    }
}

@Suite("Catalog loading")
struct CatalogLoaderTests {
    @Test("test ids join the directory path with the key; settings are read")
    func ids() async throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  top: 'true'\n",
            "migration/testbed.yaml": """
            setups:
              guest-image:
                run: fetch.sh
                teardown: rm -f image
                check: test -f image
                provides: ["image:alpine", "qemu = 9.0"]
                requires: ["cmd:curl"]
                after: [bridge]
                scope: test
                timeout: 90s
              bridge:
                run: ip link add br0 type bridge
            tests:
              precopy/tcp:
                run: ./precopy.sh tcp
                requires: ["qemu >= 8.2", kvm, root]
                setup: [guest-image]
                tags: [migration, quick]
                timeout: 2m
                exclusive: true
                dirties: yes
                skip-code: 4
            """,
            "migration/precopy.sh": "#!/bin/sh\n",
        ])
        let catalog = try await load(tree)
        #expect(catalog.tests.map(\.id) == ["/top", "/migration/precopy/tcp"])
        let test = catalog.tests[1]
        #expect(test.command == .shell("./precopy.sh tcp"))
        #expect(test.requires.map(\.text) == ["qemu >= 8.2", "kvm", "root"])
        #expect(test.setups == ["guest-image"])
        #expect(test.tags == ["migration", "quick"])
        #expect(test.timeout == .seconds(120))
        #expect(test.exclusive && test.dirties)
        #expect(test.skipCode == 4)
        #expect(test.directory == URL(fileURLWithPath: tree["migration"]).standardizedFileURL.path)
        #expect(test.location.line == 14)
        #expect(catalog.tests[0].timeout == .seconds(600), "tests get 10 minutes by default")
        let setup = try #require(catalog.setups.first)
        #expect(setup.name == "guest-image")
        #expect(setup.provides.map(\.description) == ["image:alpine", "qemu = 9.0"])
        #expect(setup.after == ["bridge"])
        #expect(setup.scope == .test)
        #expect(setup.timeout == .seconds(90))
        #expect(setup.teardown == "rm -f image")
        #expect(setup.check == "test -f image")
    }

    @Test("drop-in executables with headers are tests; others are not")
    func dropIns() async throws {
        let tree = try TemporaryTree([
            "kvm/boot.sh": "#!/bin/sh\n# testbed-requires: root, kernel >= 5.10, qemu >= 8.2\n"
                + "# testbed-setup: guest-image\n# testbed-tags: migration slow\n# testbed-timeout: 5m\nexit 0\n",
            "c/test.c.bin": "// testbed-requires: cmd:gcc\n// testbed-tags: c\n",
            "lua/t.lua": "-- testbed-requires: cmd:lua\n",
            "lisp/t.el": ";; testbed-tags: lisp\n",
            "helper.sh": "#!/bin/sh\necho not a test\n",
            "notexec.sh": "# testbed-tags: x\n",
            "binary": "\u{0}\u{1}# testbed-tags: x\n",
            ".hidden/t.sh": "# testbed-tags: x\n",
            "testbed-results/t.sh": "# testbed-tags: x\n",
            "testbed.yaml": "setups:\n  guest-image:\n    run: 'true'\n",
        ], executables: ["kvm/boot.sh", "c/test.c.bin", "lua/t.lua", "lisp/t.el", "helper.sh", "binary", ".hidden/t.sh", "testbed-results/t.sh"])
        let catalog = try await load(tree)
        #expect(catalog.tests.map(\.id) == ["/c/test.c.bin", "/kvm/boot.sh", "/lisp/t.el", "/lua/t.lua"])
        let boot = catalog.tests[1]
        #expect(boot.requires.map(\.text) == ["root", "kernel >= 5.10", "qemu >= 8.2"])
        #expect(boot.setups == ["guest-image"])
        #expect(boot.tags == ["migration", "slow"])
        #expect(boot.timeout == .seconds(300))
        #expect(boot.command == .executable(URL(fileURLWithPath: tree["kvm/boot.sh"]).standardizedFileURL.path))
        #expect(catalog.tests[2].tags == ["lisp"])
    }

    @Test("an executable named outright is a test, headers or not")
    func namedExecutable() async throws {
        let tree = try TemporaryTree(["t/plain.sh": "#!/bin/sh\nexit 0\n"], executables: ["t/plain.sh"])
        let catalog = try await load(tree, [tree["t/plain.sh"]])
        #expect(catalog.tests.map(\.id) == [tree["t/plain.sh"]])
        #expect(catalog.tests[0].requires.isEmpty)
    }

    @Test("a testbed.yaml named outright loads with its directory as the root")
    func namedDeclarationFile() async throws {
        let tree = try TemporaryTree(["s/testbed.yaml": "tests:\n  a: 'true'\n"])
        #expect(try await load(tree, [tree["s/testbed.yaml"]]).tests.map(\.id) == ["/a"])
    }

    @Test("invalid declarations name file, line and fix", arguments: [
        ("tests:\n  a:\n    run: x\n    timout: 1m\n", 4, "unknown key \"timout\" in test \"a\"; did you mean \"timeout\"?"),
        ("tests:\n  a:\n    run: x\n    timeout: soon\n", 4, "timeout of test /a is \"soon\", not a duration"),
        ("tests:\n  a:\n    run: x\n    requires: [\"qemu >=\"]\n", 4, "invalid requirement \"qemu >=\""),
        ("tests:\n  a:\n    requires: [kvm]\n", 2, "test \"a\" has no `run`"),
        ("tests:\n  a:\n    run: x\n    exclusive: maybe\n", 4, "write true or false"),
        ("tests:\n  a:\n    run: x\n    skip-code: 300\n", 4, "skip-code"),
        ("tests:\n  a:\n    run: ' '\n", 3, "test \"a\": the command is empty; write the command line to run"),
        ("setups:\n  s:\n    run: x\n    teardown: ''\n", 4, "teardown of setup \"s\": the command is empty"),
        ("root: maybe\ntests:\n  a: x\n", 1, "root must be true or false, not \"maybe\""),
        ("tests:\n  ../escape:\n    run: x\n", 2, "not a valid id part"),
        ("tests:\n  a//b:\n    run: x\n", 2, "not a valid id part"),
        ("tests:\n  a:\n    run: x\n  a:\n    run: y\n", 4, "duplicate key"),
        ("tests: [a, b]\n", 1, "tests must be a mapping"),
        ("test:\n  a: x\n", 1, "did you mean \"tests\""),
        ("tests:\n  a:\n    run: x\n   bad indent: 1\n", 4, "YAML syntax error"),
        ("tests:\n  a:\n    run: x\n    setup: [nope]\n", 4, "needs setup \"nope\", which no testbed.yaml declares"),
        ("setups:\n  s:\n    run: x\n    after: [t]\n", 2, "needs setup \"t\""),
        ("setups:\n  s:\n    run: x\n    scope: always\n", 4, "use `run` (once for all tests) or `test`"),
        ("setups:\n  s:\n    run: x\n    provides: [\"a b\"]\n", 4, "is not a fact"),
        ("setups:\n  s:\n    teardown: x\n", 2, "setup \"s\" has no `run`"),
        ("setups:\n  \"bad name\":\n    run: x\n", 2, "setup name \"bad name\" is not valid"),
        ("setups:\n  s:\n    run: x\n    timeout: 5 parsecs\n", 4, "not a duration"),
    ])
    func invalid(yaml: String, line: Int, message: String) async throws {
        let tree = try TemporaryTree(["testbed.yaml": yaml])
        let errors = await loadErrors(tree)
        #expect(errors.count == 1, "\(errors)")
        let error = try #require(errors.first)
        #expect(error.file == tree["testbed.yaml"])
        #expect(error.line == line, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test("duplicate ids across files and drop-ins are reported with both places")
    func duplicates() async throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  a/t.sh: 'true'\nsetups:\n  s:\n    run: x\n",
            "a/testbed.yaml": "setups:\n  s:\n    run: y\n",
            "a/t.sh": "#!/bin/sh\n# testbed-tags: x\n",
        ], executables: ["a/t.sh"])
        let errors = await loadErrors(tree)
        #expect(errors.count == 2)
        #expect(errors.contains { $0.message.contains("duplicate test id /a/t.sh, first declared at \(tree["testbed.yaml"]):2") })
        #expect(errors.contains { $0.message.contains("duplicate setup \"s\"") && $0.file == tree["a/testbed.yaml"] })
    }

    @Test("every error in a suite is reported, not just the first")
    func collects() async throws {
        let tree = try TemporaryTree([
            "a/testbed.yaml": "tests:\n  x:\n    run: y\n    tags: [a\n",
            "b/testbed.yaml": "tests:\n  x:\n    run: y\n    timeout: never\n",
            "c/t.sh": "#!/bin/sh\n# testbed-requirez: root\n",
        ], executables: ["c/t.sh"])
        let errors = await loadErrors(tree)
        #expect(errors.map(\.file).sorted() == [tree["a/testbed.yaml"], tree["b/testbed.yaml"], tree["c/t.sh"]])
        #expect(errors.contains { $0.message.contains("did you mean \"testbed-requires\"") && $0.line == 2 })
    }

    @Test("each invalid requirement of each test is reported, however many tests share the list")
    func invalidRequirementLists() async throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              a:
                run: 'true'
                requires: ["qemu >=", root, "kernel <> 1"]
              b:
                run: 'true'
                requires: ["qemu >=", root, "kernel <> 1"]
              c:
                run: 'true'
                requires: [root, "qemu >= 8.2"]
            """,
        ])
        let errors = await loadErrors(tree)
        #expect(errors.count == 4, "\(errors)")
        #expect(errors.map(\.line) == [4, 4, 7, 7])
        #expect(errors.filter { $0.message.contains("test /a: invalid requirement \"qemu >=\"") }.count == 1)
        #expect(errors.filter { $0.message.contains("test /b: invalid requirement \"kernel <> 1\"") }.count == 1)
    }

    @Test("files load in parallel, yet tests and errors come out in tree order")
    func treeOrder() async throws {
        var files: [String: String] = [:]
        var expected: [String] = []
        for d in 0..<40 {
            let dir = String(format: "d%02d", d)
            files["\(dir)/testbed.yaml"] = "tests:\n" + (0..<(d % 7 + 1)).map { "  t\($0): 'true'\n" }.joined()
            expected += (0..<(d % 7 + 1)).map { "/\(dir)/t\($0)" }
        }
        let tree = try TemporaryTree(files)
        for _ in 0..<3 {
            #expect(try await load(tree).tests.map(\.id) == expected)
        }
        var broken = files
        for d in [3, 17, 31] { broken[String(format: "d%02d/testbed.yaml", d)] = "tests:\n  x:\n    timeout: never\n    run: 'true'\n" }
        let errors = await loadErrors(try TemporaryTree(broken))
        #expect(errors.map { URL(fileURLWithPath: $0.file).deletingLastPathComponent().lastPathComponent } == ["d03", "d17", "d31"])
    }

    @Test("tests with equal requirement lists get equal requirements")
    func sharedRequirementLists() async throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  a:\n    run: 'true'\n    requires: [root, kvm]\n    tags: [x, y]\n"
                + "  b:\n    run: 'true'\n    requires: [root, kvm]\n    tags: [x, y]\n"
                + "  c:\n    run: 'true'\n    requires: [kvm, root]\n    tags: [y]\n",
        ])
        let tests = try await load(tree).tests
        #expect(tests.map { $0.requires.map(\.text) } == [["root", "kvm"], ["root", "kvm"], ["kvm", "root"]])
        #expect(tests.map(\.tags) == [["x", "y"], ["x", "y"], ["y"]])
    }

    @Test("a missing path is an error; an empty suite is empty")
    func paths() async throws {
        let tree = try TemporaryTree()
        #expect(try await load(tree).tests.isEmpty)
        await #expect(throws: CatalogError.self) { try await CatalogLoader().load([tree["nope"]]) }
        let empty = try TemporaryTree(["testbed.yaml": ""])
        #expect(try await load(empty).tests.isEmpty)
    }
}

@Suite("Drop-in headers")
struct DropInHeaderTests {
    @Test("leaders and keys")
    func parse() {
        let header = DropInHeader(bytes: Array("""
        #!/bin/sh
        # testbed-requires: root, kernel >= 5.10
        #testbed-tags: a b
          // testbed-timeout: 5m
        -- testbed-exclusive: true
        ;; testbed-dirties: false
        /* testbed-description: c style */
        echo testbed-requires: not a comment
        # a comment that mentions testbed- without a key
        """.utf8))
        #expect(header.lines.map(\.key) == ["requires", "tags", "timeout", "exclusive", "dirties"])
        #expect(header.lines[0].value == "root, kernel >= 5.10")
        #expect(header.lines[0].line == 2)
        #expect(header.lines[2].line == 4)
    }

    @Test("a NUL byte in the head means binary: no header")
    func binary() {
        #expect(DropInHeader(bytes: Array("\u{7f}ELF\u{0}\n# testbed-tags: x\n".utf8)).isEmpty)
    }

    @Test("only the first 8 KiB are read")
    func limit() {
        let text = String(repeating: "# filler\n", count: 1000) + "# testbed-tags: late\n"
        #expect(DropInHeader(bytes: Array(text.utf8)).isEmpty)
    }
}

@Suite("Test id parts")
struct IDPartTests {
    /// The rule as first written (split on `/`, no empty, `.` or `..` part,
    /// no NUL): the byte scan that replaced it must agree on every key.
    static func reference(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        return !key.isEmpty && !parts.contains { $0.isEmpty || $0 == "." || $0 == ".." } && !key.contains("\0")
    }

    @Test(arguments: [
        "a", "a/b", "precopy/tcp", "...", ".a", "a.", "a..b", "..a", "a/.../b", "v8.2/x", "ü/ß",
        "", "/", "a/", "/a", "a//b", ".", "..", "./a", "a/.", "a/..", "a/../b", "a\0b", "../escape",
    ])
    func scanAgreesWithTheRule(key: String) {
        #expect(TestbedYAMLDecoder.isValidIDPart(key) == Self.reference(key), "\(key.debugDescription)")
    }

    @Test func validAndInvalidExamples() {
        #expect(TestbedYAMLDecoder.isValidIDPart("migration/precopy/tcp"))
        #expect(TestbedYAMLDecoder.isValidIDPart("..."))
        #expect(!TestbedYAMLDecoder.isValidIDPart("a/../b"))
        #expect(!TestbedYAMLDecoder.isValidIDPart("a//b"))
    }
}

@Suite("Duplicate ids")
struct DuplicateTests {
    func state(_ ids: [String]) -> LoadState {
        var state = LoadState()
        state.tests = ids.enumerated().map { index, id in
            TestDefinition(id: id, command: .shell("true"), directory: "/",
                           location: DeclarationLocation(file: "testbed.yaml", line: index + 1))
        }
        return state
    }

    @Test("hash collisions between different ids are not duplicates", arguments: [
        nil, [7, 7, 7, 7, 7], [1, 2, 1, 3, 2], [9, 9, 8, 9, 8],
    ] as [[Int]?])
    func collisions(hashes: [Int]?) {
        let tests = state(["/a", "/b", "/a", "/c", "/b"]).tests
        let errors = CatalogValidator.duplicates(tests: tests, idHashes: hashes ?? tests.map(\.id.hashValue), setups: [])
        #expect(errors.map(\.line) == [3, 5])
        #expect(errors.map(\.message) == [
            "duplicate test id /a, first declared at testbed.yaml:1; rename one of them",
            "duplicate test id /b, first declared at testbed.yaml:2; rename one of them",
        ])
    }
}

@Suite("Test fields")
struct FieldTableTests {
    @Test(arguments: ["run", "requires", "setup", "tags", "timeout", "exclusive", "dirties", "skip-code", "flaky", "description", "other", "x"])
    func keepsEachKeyApart(key: String) {
        var table = FieldTable()
        let location = DeclarationLocation(file: "testbed.yaml", line: 3)
        table[key] = ([key], location)
        #expect(table[key]?.values == [key])
        for other in ["run", "requires", "setup", "tags", "timeout", "exclusive", "dirties", "skip-code", "flaky", "description", "other", "x"]
        where other != key {
            #expect(table[other] == nil, "setting \(key) set \(other)")
        }
    }
}
