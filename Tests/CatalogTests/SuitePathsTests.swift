@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

/// A tree of suites: a root with a setup, a sub-folder with and one without
/// its own testbed.yaml, a sibling whose name starts the same, a gap, and a
/// sub-suite that says `root: true`.
func suiteTree() throws -> TemporaryTree {
    try TemporaryTree([
        "suite/testbed.yaml": "setups:\n  scratch:\n    run: 'true'\n    provides: [\"disk:scratch\"]\ntests:\n  top: 'true'\n",
        "suite/image/testbed.yaml": "tests:\n  qcow:\n    run: ./qcow.sh\n    requires: [\"disk:scratch\"]\n",
        "suite/image/boot.sh": "#!/bin/sh\n# testbed-requires: disk:scratch\nexit 0\n",
        "suite/image/helper.sh": "#!/bin/sh\nexit 0\n",
        "suite/image/notes.txt": "not a test\n",
        "suite/images/testbed.yaml": "tests:\n  other: 'true'\n",
        "suite/kvm/api.sh": "#!/bin/sh\n# testbed-tags: kvm\nexit 0\n",
        "suite/kvm/deep/er/t.sh": "#!/bin/sh\n# testbed-tags: deep\nexit 0\n",
        "suite/lab/testbed.yaml": "root: true\ntests:\n  own: 'true'\n",
        "suite/lab/sub/testbed.yaml": "tests:\n  x: 'true'\n",
        "lone/t.sh": "#!/bin/sh\nexit 0\n",
        "outer/testbed.yaml": "tests:\n  o: 'true'\n",
        "outer/repo/.git/HEAD": "ref: refs/heads/main\n",
        "outer/repo/tests/t.sh": "#!/bin/sh\nexit 0\n",
        "outer/plain/sub/t.sh": "#!/bin/sh\nexit 0\n",
        "outer/gap/inner/testbed.yaml": "tests:\n  i: 'true'\n",
    ], executables: ["suite/image/boot.sh", "suite/image/helper.sh", "suite/kvm/api.sh", "suite/kvm/deep/er/t.sh", "lone/t.sh"])
}

@Suite("Suite roots: found from any path inside a suite")
struct SuitePathsTests {
    @Test("the root: the nearest testbed.yaml at or above, then up the chain of directories holding one", arguments: [
        ("suite", "suite"),
        ("suite/image", "suite"),
        ("suite/kvm", "suite"),             // no testbed.yaml of its own; its parent has one
        ("suite/kvm/deep", "suite"),        // the nearest testbed.yaml above, however far
        ("suite/kvm/deep/er", "suite"),
        ("suite/lab", "suite/lab"),         // root: true stops the walk
        ("suite/lab/sub", "suite/lab"),
        ("lone", nil),
        ("outer/plain/sub", "outer"),
        ("outer/repo/tests", nil),          // not above the top of a git work tree
        ("outer/repo", nil),
    ] as [(String, String?)])
    func find(start: String, root: String?) throws {
        let tree = try suiteTree()
        #expect(SuiteRoot.find(from: tree[start]) == root.map { tree[$0] })
    }

    @Test("root: is read only at the top level, and only as true", arguments: [
        ("root: true\n", true),
        ("root: yes\ntests: {}\n", true),
        ("{root: true}\n", true),
        ("\"root\" : true\n", true),
        ("root: false\n", false),
        ("root: maybe\n", false),           // invalid: not a root here; loading the file says why
        ("tests:\n  a:\n    run: x\n    requires: [root]\n", false),
        ("tests:\n  root: 'true'\n", false), // a test named root
        ("tests: [\n", false),
    ])
    func declaresRoot(yaml: String, isRoot: Bool) throws {
        let tree = try TemporaryTree(["testbed.yaml": yaml])
        #expect(SuiteRoot.declaresRoot(tree["testbed.yaml"]) == isRoot)
    }

    @Test("a directory named testbed.yaml does not make a suite")
    func directoryNamedLikeTheFile() throws {
        let tree = try TemporaryTree(["a/testbed.yaml/t.sh": "#!/bin/sh\n"])
        #expect(SuiteRoot.find(from: tree["a"]) == nil)
    }

    @Test("each path selects its part of its suite's root", arguments: [
        ("suite", SuiteRoot.Part.whole),
        ("suite/image", .directory(idPrefix: "/image")),
        ("suite/image/", .directory(idPrefix: "/image")),
        ("suite/image/../kvm", .directory(idPrefix: "/kvm")),
        ("suite/image/testbed.yaml", .declarations(directory: "image")),
        ("suite/testbed.yaml", .declarations(directory: "")),
        ("suite/image/boot.sh", .executable("image/boot.sh")),
        ("suite/kvm/api.sh", .executable("kvm/api.sh")),
    ])
    func parts(path: String, part: SuiteRoot.Part) throws {
        let tree = try suiteTree()
        let paths = SuitePaths([path], workingDirectory: tree.path)
        #expect(paths.suites.map(\.path) == [tree["suite"]])
        #expect(paths.suites.first?.parts == [part])
        #expect(paths.suites.first?.named == [path])
        #expect(paths.executables.isEmpty && paths.missing.isEmpty)
    }

    @Test("several paths in one suite: one root, their parts OR'ed, results at the root")
    func oneRoot() throws {
        let tree = try suiteTree()
        let paths = SuitePaths(["suite/image", "suite/kvm/api.sh", "suite/image"], workingDirectory: tree.path)
        #expect(paths.suites.count == 1)
        #expect(paths.suites[0].parts == [.directory(idPrefix: "/image"), .executable("kvm/api.sh")])
        #expect(paths.suites[0].shown == "suite")
        #expect(paths.defaultResults == "suite/testbed-results")
        #expect(paths.label?.noun == "suite")
        #expect(paths.label?.text == "suite (those under /image, /kvm/api.sh)")
        #expect(paths.label(selected: [3], declared: [7])?.text == "suite (3 of its 7 tests: those under /image, /kvm/api.sh)")
    }

    @Test("the default results directory and the label", arguments: [
        (["suite"], "suite/testbed-results", "suite suite"),
        (["."], "testbed-results", "suite ."),
        (["suite", "lone"], "testbed-results", "suites suite, lone"),
        (["suite/lab", "suite"], "testbed-results", "suites suite/lab, suite"),  // root: true, a suite of its own
        (["outer/gap/inner", "outer"], "outer/testbed-results", "suite outer"),   // inner lies in outer's walk: one suite
        (["lone/t.sh"], "testbed-results", nil),
        (["suite", "lone/t.sh"], "testbed-results", "suite suite"),
        (["suite/image", "nowhere"], "testbed-results", "suite suite (those under /image)"),
    ] as [([String], String, String?)])
    func defaults(paths: [String], results: String, label: String?) throws {
        let tree = try suiteTree()
        let resolved = SuitePaths(paths, workingDirectory: tree.path)
        #expect(resolved.defaultResults == results)
        #expect(resolved.label.map { "\($0.noun) \($0.text)" } == label)
    }

    @Test("an executable in no suite stays standalone, as given; a missing path is missing")
    func standalone() throws {
        let tree = try suiteTree()
        let paths = SuitePaths(["lone/t.sh", "gone.sh"], workingDirectory: tree.path)
        #expect(paths.suites.isEmpty)
        #expect(paths.executables == ["lone/t.sh"])
        #expect(paths.missing == ["gone.sh"])
    }

    @Test("the root is shown relative to the working directory below which it lies, absolute otherwise")
    func shown() throws {
        let tree = try suiteTree()
        #expect(SuitePaths(["."], workingDirectory: tree["suite/image"]).suites.map(\.shown) == [tree["suite"]])
        #expect(SuitePaths(["suite/image"], workingDirectory: tree.path).suites.map(\.shown) == ["suite"])
        #expect(SuitePaths([tree["suite"]], workingDirectory: tree["suite"]).suites.map(\.shown) == ["."])
    }

    @Test("one root reached through a symlink is one suite")
    func symlinkedRoot() throws {
        let tree = try suiteTree()
        try FileManager.default.createSymbolicLink(atPath: tree["link"], withDestinationPath: tree["suite"])
        let paths = SuitePaths(["suite/image", "link/kvm"], workingDirectory: tree.path)
        #expect(paths.suites.count == 1)
        #expect(paths.suites[0].parts == [.directory(idPrefix: "/image"), .directory(idPrefix: "/kvm")])
    }

    @Test("a named root inside another named root's walk is walked as part of the outer one; a root: true one is not")
    func nestedRoots() throws {
        let tree = try suiteTree()
        // Outside a git work tree the walk up stops at a directory without a testbed.yaml.
        #expect(SuiteRoot.find(from: tree["outer/gap/inner"]) == tree["outer/gap/inner"])
        let paths = SuitePaths(["outer/gap/inner", "outer/plain"], workingDirectory: tree.path)
        #expect(paths.suites.map(\.path) == [tree["outer"]])
        #expect(paths.suites[0].parts == [.directory(idPrefix: "/plain"), .directory(idPrefix: "/gap/inner")])
        #expect(paths.suites[0].named == ["outer/plain", "outer/gap/inner"])
        let own = SuitePaths(["suite/lab/sub", "suite/image"], workingDirectory: tree.path)
        #expect(own.suites.map(\.path) == [tree["suite/lab"], tree["suite"]])
    }

    @Test("inside a git work tree the walk crosses folders without a testbed.yaml, up to the work tree's top and no further")
    func gitWorkTree() throws {
        let tree = try TemporaryTree([
            "home/testbed.yaml": "tests: [\n",
            "home/proj/.git/HEAD": "ref: refs/heads/main\n",
            "home/proj/testbed.yaml": "tests:\n  p: 'true'\n",
            "home/proj/deep/a/b/testbed.yaml": "tests:\n  d: 'true'\n",
            "home/proj/deep/a/b/c/t.sh": "#!/bin/sh\n",
            "home/other/tests/testbed.yaml": "tests:\n  o: 'true'\n",
            "home/other/.git": "gitdir: ../.git/worktrees/other\n",
        ])
        #expect(SuiteRoot.find(from: tree["home/proj/deep/a/b"]) == tree["home/proj"])
        #expect(SuiteRoot.find(from: tree["home/proj/deep/a/b/c"]) == tree["home/proj"])
        #expect(SuiteRoot.find(from: tree["home/proj"]) == tree["home/proj"], "never above the work tree's top")
        #expect(SuiteRoot.find(from: tree["home/other/tests"]) == tree["home/other/tests"], "a .git file (worktree) is a top too")
        #expect(SuiteRoot.startsSuiteOfItsOwn(tree["home/proj"]))
    }

    @Test("paths are made absolute as text", arguments: [
        ("a/./b/../c", "/w/a/c"), ("/x//y/", "/x/y"), (".", "/w"), ("../..", "/"), ("/", "/"),
    ])
    func absolute(path: String, expected: String) {
        #expect(SuiteRoot.absolute(path, from: "/w") == expected)
    }
}

@Suite("Loading a suite from any path inside it")
struct SuiteLoadingTests {
    func ids(_ paths: [String], in tree: TemporaryTree) async throws -> [String] {
        try await CatalogLoader().load(SuitePaths(paths, workingDirectory: tree.path)).tests.map(\.id)
    }

    @Test("the path selects tests by id from the root; the whole suite's setups are loaded", arguments: [
        (["suite/image"], ["/image/qcow", "/image/boot.sh"]),
        (["suite/image/testbed.yaml"], ["/image/qcow"]),
        (["suite/image/boot.sh"], ["/image/boot.sh"]),
        (["suite/image/helper.sh"], ["/image/helper.sh"]),   // named, it is a test without a header
        (["suite/images"], ["/images/other"]),               // /image does not select /images
        (["suite/kvm"], ["/kvm/api.sh", "/kvm/deep/er/t.sh"]),
        (["suite/image", "suite/kvm/api.sh"], ["/image/qcow", "/image/boot.sh", "/kvm/api.sh"]),
        (["suite/testbed.yaml"], ["/top"]),
        (["suite/lab"], ["/own", "/sub/x"]),                 // root: true
        (["suite"], ["/top", "/image/qcow", "/image/boot.sh", "/images/other", "/kvm/api.sh", "/kvm/deep/er/t.sh"]),
        (["suite", "suite/lab"], ["/top", "/image/qcow", "/image/boot.sh", "/images/other", "/kvm/api.sh",
                                  "/kvm/deep/er/t.sh", "/own", "/sub/x"]),   // root: true is a suite of its own
    ])
    func selects(paths: [String], expected: [String]) async throws {
        let tree = try suiteTree()
        let catalog = try await CatalogLoader().load(SuitePaths(paths, workingDirectory: tree.path))
        #expect(catalog.tests.map(\.id) == expected)
        if !paths.contains("suite/lab") {
            #expect(catalog.setups.map(\.name) == ["scratch"], "the root's setups are there whatever the path")
        }
    }

    @Test("a test's program need not exist when the suite loads (a setup may build it)")
    func programBuiltLater() async throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              build:
                run: ./build.sh
                check: ./built.sh --check
                teardown: tools/clean
            tests:
              hello:
                run: ./bin/hello --greet
                setup: [build]
            """])
        let catalog = try await CatalogLoader().load([tree.path])
        #expect(catalog.tests.map(\.id) == ["/hello"])
        #expect(catalog.setups.map(\.run) == ["./build.sh"])
    }

    @Test("a named file in a suite that is not executable is refused, naming it as shown")
    func namedNotExecutable() async throws {
        let tree = try suiteTree()
        do {
            _ = try await CatalogLoader().load(SuitePaths(["suite/image/notes.txt"], workingDirectory: tree.path))
            Issue.record("loaded")
        } catch {
            #expect(error.errors.map(\.description) == [
                "suite/image/notes.txt: is not executable, so it cannot run as a test; chmod +x it, or name a suite directory or a testbed.yaml",
            ])
        }
    }

    @Test("an error anywhere in the suite is an error, whatever part is named")
    func errorsAnywhere() async throws {
        let tree = try suiteTree()
        try tree.write("suite/images/testbed.yaml", "tests:\n  other:\n    run: x\n    timeout: soon\n")
        await #expect(throws: CatalogError.self) {
            try await CatalogLoader().load(SuitePaths(["suite/image"], workingDirectory: tree.path))
        }
    }
}
