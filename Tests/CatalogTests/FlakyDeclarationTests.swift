import Catalog
import Declarations
import Foundation
import TestSupport
import Testing

@Suite("flaky: K/N in testbed.yaml and drop-in headers")
struct FlakyDeclarationTests {
    @Test("testbed.yaml's flaky: K/N is carried on the test; a test without it has none")
    func yamlKey() async throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests:\n  a:\n    run: x\n    flaky: 2/3\n  b:\n    run: y\n    flaky: \"9 / 10\"\n  c: z\n",
        ])
        let catalog = try await load(tree)
        #expect(catalog.tests.map { $0.flaky?.description } == ["2/3", "9/10", nil])
        #expect(catalog.tests[0].flaky?.threshold == 2)
        #expect(catalog.tests[0].flaky?.window == 3)
    }

    @Test("a drop-in's # testbed-flaky: K/N header")
    func dropInHeader() async throws {
        let tree = try TemporaryTree(["t/boot.sh": "#!/bin/sh\n# testbed-flaky: 1/5\nexit 0\n", "t/plain.sh": "#!/bin/sh\n# testbed-tags: x\n"],
                                     executables: ["t/boot.sh", "t/plain.sh"])
        let catalog = try await load(tree)
        #expect(catalog.tests.map(\.id) == ["/t/boot.sh", "/t/plain.sh"])
        #expect(catalog.tests.map { $0.flaky?.description } == ["1/5", nil])
    }

    @Test("an invalid flaky names file, line and the fix", arguments: [
        "0/3", "4/3", "2/1001", "2", "two/3", "2/3/4", "-1/3", "/3", "1.5/3", "",
    ])
    func invalidYAML(value: String) async throws {
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  a:\n    run: x\n    flaky: \"\(value)\"\n"])
        let errors = await loadErrors(tree)
        try #require(errors.count == 1)
        #expect(errors[0].line == 4)
        #expect(errors[0].description.contains("flaky of test /a is \"\(value)\"; write K/N with 1 <= K <= N <= 1000"))
    }

    @Test("an invalid drop-in header names the file and its line")
    func invalidHeader() async throws {
        let tree = try TemporaryTree(["t/boot.sh": "#!/bin/sh\n# testbed-tags: x\n# testbed-flaky: 3/2\n"], executables: ["t/boot.sh"])
        let errors = await loadErrors(tree)
        try #require(errors.count == 1)
        #expect(errors[0].line == 3)
        #expect(errors[0].description.contains("flaky of test /t/boot.sh is \"3/2\""))
    }

    @Test("FlakyPolicy reads K/N within bounds", arguments: [
        ("1/1", true), ("1000/1000", true), ("1/1000", true), (" 2 / 3 ", true),
        ("0/1", false), ("2/1", false), ("1/1001", false), ("00001/2", false), ("+1/2", false), ("1/2/", false),
    ])
    func parsing(text: String, valid: Bool) {
        #expect((FlakyPolicy(text) != nil) == valid)
    }

    @Test("two tests that differ only in flaky are different tests")
    func equality() {
        let here = DeclarationLocation(file: "testbed.yaml", line: 1)
        let plain = TestDefinition(id: "/a", command: .shell("x"), directory: "/", location: here)
        let flaky = TestDefinition(id: "/a", command: .shell("x"), directory: "/", location: here, flaky: FlakyPolicy("2/3"))
        #expect(plain != flaky)
        #expect(flaky == TestDefinition(id: "/a", command: .shell("x"), directory: "/", location: here, flaky: FlakyPolicy("2/3")))
    }
}
