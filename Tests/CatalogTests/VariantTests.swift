@testable import Catalog
@testable import Declarations
import Foundation
@testable import Requirements
import TestSupport
import Testing

@Suite("Variants: a test over a matrix of axes")
struct VariantTests {
    static let matrix = """
    tests:
      precopy:
        run: ./precopy.sh
        requires: [root]
        setup: [image]
        timeout: 2m
        variants:
          machine: [pc, q35]
          accel:
            tcg: {}
            kvm: {requires: [kvm], setup: [modules], timeout: 5m, env: {ACCEL_FLAGS: "-enable-kvm"}}
    setups:
      image: {run: 'true'}
      modules: {run: 'true'}
    """

    @Test("the cross product gives one test each, axes in declaration order, the last axis fastest")
    func crossProduct() async throws {
        let tree = try TemporaryTree(["migration/testbed.yaml": Self.matrix])
        let catalog = try await load(tree)
        #expect(catalog.tests.map(\.id) == [
            "/migration/precopy[machine=pc,accel=tcg]", "/migration/precopy[machine=pc,accel=kvm]",
            "/migration/precopy[machine=q35,accel=tcg]", "/migration/precopy[machine=q35,accel=kvm]",
        ])
        #expect(Set(catalog.tests.map(\.baseID)) == ["/migration/precopy"])
        let tcg = catalog.tests[0]
        let kvm = catalog.tests[3]
        #expect(tcg.variant?.values == [.init(axis: "machine", value: "pc"), .init(axis: "accel", value: "tcg")])
        #expect(tcg.requires.map(\.text) == ["root"])
        #expect(tcg.setups == ["image"])
        #expect(tcg.timeout == .seconds(120))
        #expect(tcg.environment == ["TESTBED_VARIANT_MACHINE": "pc", "TESTBED_VARIANT_ACCEL": "tcg"])
        // A value's requires and setup are added to the test's, its timeout replaces the test's.
        #expect(kvm.requires.map(\.text) == ["root", "kvm"])
        #expect(kvm.setups == ["image", "modules"])
        #expect(kvm.timeout == .seconds(300))
        #expect(kvm.environment == ["TESTBED_VARIANT_MACHINE": "q35", "TESTBED_VARIANT_ACCEL": "kvm", "ACCEL_FLAGS": "-enable-kvm"])
        // The kvm variants share a requirement set; tcg and kvm do not.
        #expect(catalog.tests[1].requirementSet == kvm.requirementSet)
        #expect(tcg.requirementSet != kvm.requirementSet)
        // A test without variants has none.
        let plain = TestDefinition(id: "/a", command: .shell("true"), directory: "/", location: DeclarationLocation(file: "f", line: 1))
        #expect(plain.variant == nil)
        #expect(plain.baseID == "/a")
        #expect(plain.environment.isEmpty)
    }

    @Test("ids are the same on every load, and a variant survives encoding")
    func stable() async throws {
        let tree = try TemporaryTree(["testbed.yaml": Self.matrix])
        let first = try await load(tree).tests
        let second = try await load(tree).tests
        #expect(first.map(\.id) == second.map(\.id))
        #expect(first == second)
        let decoded = try JSONDecoder().decode([TestDefinition].self, from: JSONEncoder().encode(first))
        #expect(decoded == first)
        #expect(decoded[3].variant == first[3].variant)
        #expect(decoded[3].environment["ACCEL_FLAGS"] == "-enable-kvm")
    }

    @Test("the last axis in declaration order that sets a timeout wins")
    func timeoutOrder() async throws {
        let tree = try TemporaryTree(["testbed.yaml": """
        tests:
          t:
            run: 'true'
            variants:
              a: {slow: {timeout: 10m}, fast: {}}
              b: {x: {timeout: 1m}, y: ~}
        """])
        let tests = try await load(tree).tests
        let timeouts = Dictionary(uniqueKeysWithValues: tests.map { ($0.id, $0.timeout) })
        #expect(timeouts["/t[a=slow,b=x]"] == .seconds(60))
        #expect(timeouts["/t[a=slow,b=y]"] == .seconds(600))
        #expect(timeouts["/t[a=fast,b=x]"] == .seconds(60))
        #expect(timeouts["/t[a=fast,b=y]"] == TestDefinition.defaultTimeout)
    }

    @Test("exclude removes every combination matching all pairs of one entry")
    func exclude() async throws {
        let tree = try TemporaryTree(["testbed.yaml": """
        tests:
          t:
            run: 'true'
            variants:
              machine: [pc, q35, virt]
              accel: [tcg, kvm]
              exclude:
                - {machine: pc, accel: kvm}
                - machine: virt
        """])
        let tests = try await load(tree).tests
        #expect(tests.map(\.id) == ["/t[machine=pc,accel=tcg]", "/t[machine=q35,accel=tcg]", "/t[machine=q35,accel=kvm]"])
    }

    @Test("invalid matrices are errors naming file and line", arguments: [
        ("variants:\n      Machine: [pc]", 6, "axis \"Machine\" of test /t is not a valid axis name"),
        ("variants:\n      machine: [pc, 'a b']", 6, "value \"a b\" of axis \"machine\""),
        ("variants:\n      machine: [pc, 'x,y']", 6, "is not a valid variant value"),
        ("variants:\n      machine: []", 6, "axis \"machine\" of test /t has no values"),
        ("variants:\n      machine: [pc, pc]", 6, "is listed twice"),
        ("variants:\n      machine: pc", 6, "must be a list of values"),
        ("variants: {}", 5, "has no axis"),
        ("variants:\n      machine:\n        pc: {requirs: [kvm]}", 7, "did you mean \"requires\"?"),
        ("variants:\n      machine:\n        pc: {requires: ['qemu >=']}", 7, "value \"pc\" of axis \"machine\" of test /t"),
        ("variants:\n      machine:\n        pc: {timeout: soon}", 7, "timeout of value \"pc\""),
        ("variants:\n      machine:\n        pc: {env: {1X: a}}", 7, "is not a variable name"),
        ("variants:\n      machine:\n        pc: {env: {TESTBED_TEST_ID: a}}", 7, "starts with TESTBED_"),
        ("variants:\n      machine: [pc, q35]\n      exclude:\n        - {machin: pc}", 8, "did you mean \"machine\"?"),
        ("variants:\n      machine: [pc, q35]\n      exclude:\n        - {machine: q53}", 8, "did you mean \"q35\"?"),
        ("variants:\n      machine: [pc, q35]\n      exclude:\n        - {}", 8, "entry 1 of exclude of test /t is empty"),
        ("variants:\n      machine: [pc, q35]\n      exclude:\n        - {machine: pc}\n        - {}", 9,
         "entry 2 of exclude of test /t is empty"),
        ("variants:\n      machine: [pc]\n      exclude: [{machine: pc}]", 5, "removes every combination"),
        ("variants:\n      a: [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10]\n      b: [b1, b2, b3, b4, b5, b6, b7, b8, b9, b10]\n"
            + "      c: [c1, c2, c3, c4, c5, c6, c7, c8, c9, c10]\n      d: [d1, d2, d3, d4, d5, d6, d7, d8, d9, d10]\n"
            + "      e: [e1, e2]", 5, "more than 10000 combinations; use fewer axes or values"),
        // Past 10,000 after exclude.
        ("variants:\n      a: [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10]\n      b: [b1, b2, b3, b4, b5, b6, b7, b8, b9, b10]\n"
            + "      c: [c1, c2, c3, c4, c5, c6, c7, c8, c9, c10]\n      d: [d1, d2, d3, d4, d5, d6, d7, d8, d9, d10]\n"
            + "      e: [e1, e2, e3]\n      exclude: [{e: e1}]", 5, "leave more than 10000 combinations after exclude"),
        // Past what is enumerated to apply exclude: excluding cannot help, and the message does not say it would.
        ("variants:\n      a: [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10]\n      b: [b1, b2, b3, b4, b5, b6, b7, b8, b9, b10]\n"
            + "      c: [c1, c2, c3, c4, c5, c6, c7, c8, c9, c10]\n      d: [d1, d2, d3, d4, d5, d6, d7, d8, d9, d10]\n"
            + "      e: [e1, e2, e3, e4, e5, e6, e7, e8, e9, e10]\n      f: [f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11]\n"
            + "      exclude: [{f: f1}]", 5, "more than 1000000 combinations before exclude, more than Testbed enumerates; "
            + "use fewer axes or values"),
    ])
    func invalid(_ variants: String, line: Int, message: String) async throws {
        let tree = try TemporaryTree(["testbed.yaml": "\n\ntests:\n  t:\n    \(variants)\n    run: 'true'\n"])
        let errors = await loadErrors(tree)
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.file.hasSuffix("testbed.yaml"))
        #expect(error.line == line)
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test("the 10,000 limit counts the combinations exclude leaves")
    func limitAfterExclude() async throws {
        // 5 axes of 10 values: 100,000 combinations; excluding e1 to e9 leaves exactly 10,000.
        let axes = ["a", "b", "c", "d", "e"].map { axis in "      \(axis): [" + (1...10).map { "\(axis)\($0)" }.joined(separator: ", ") + "]" }
        let exclude = "      exclude: [" + (1...9).map { "{e: e\($0)}" }.joined(separator: ", ") + "]"
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  t:\n    run: 'true'\n    variants:\n"
            + axes.joined(separator: "\n") + "\n" + exclude + "\n"])
        let tests = try await load(tree).tests
        #expect(tests.count == 10_000)
        #expect(tests.allSatisfy { $0.variant?.value(of: "e") == "e10" })
    }

    @Test("a test id with [ or ] that is not a variant is an error naming the file", arguments: [
        ("testbed.yaml", "tests:\n  'z[q=1]': 'true'\n", "rename the test"),
        ("z[q=1]", "#!/bin/sh\n# testbed-tags: a\nexit 0\n", "rename the file or its directory"),
        ("d[1]/t.sh", "#!/bin/sh\n# testbed-tags: a\nexit 0\n", "rename the file or its directory"),
        ("testbed.yaml", "tests:\n  'a]b':\n    run: 'true'\n    variants: {q: ['1']}\n", "rename the test"),
    ])
    func bracketedID(_ file: String, _ text: String, fix: String) async throws {
        let tree = try TemporaryTree([file: text], executables: file.hasSuffix(".yaml") ? [] : [file])
        let errors = await loadErrors(tree)
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.file.hasSuffix(file))
        #expect(error.message.contains("holds `[` or `]`, which Testbed keeps for variants' ids"), "\(error.message)")
        #expect(error.message.contains(fix), "\(error.message)")
    }

    @Test("a drop-in's exclude may name an axis of a later testbed-variants: line")
    func dropInExcludeLater() async throws {
        let tree = try TemporaryTree([
            "t.sh": "#!/bin/sh\n# testbed-variants: {a: [x, y], exclude: [{a: x, b: '1'}]}\n# testbed-variants: {b: ['1', '2']}\nexit 0\n",
        ], executables: ["t.sh"])
        let tests = try await load(tree).tests
        #expect(tests.map(\.id) == ["/t.sh[a=x,b=2]", "/t.sh[a=y,b=1]", "/t.sh[a=y,b=2]"])
    }

    @Test("an error in the test's own fields is reported once, not once per variant")
    func errorOnce() async throws {
        let tree = try TemporaryTree(["testbed.yaml": """
        tests:
          t:
            run: 'true'
            requires: ['qemu >=']
            variants: {a: [x, y, z]}
        """])
        let errors = await loadErrors(tree)
        #expect(errors.count == 1)
        #expect(errors.first?.line == 4)
    }

    @Test("a literal test id that equals a variant's is a duplicate")
    func duplicate() async throws {
        let tree = try TemporaryTree(["testbed.yaml": """
        tests:
          t:
            run: 'true'
            variants: {a: [x]}
          t[a=x]: 'true'
        """])
        let errors = await loadErrors(tree)
        #expect(errors.contains { $0.message.contains("/t[a=x]") })
    }

    @Test("a testbed-variants: header in a drop-in: flow YAML, several lines merge their axes in order")
    func dropIn() async throws {
        let tree = try TemporaryTree([
            "testbed.yaml": "tests: {}\n",
            "mig/precopy.sh": """
            #!/bin/sh
            # testbed-requires: root
            # testbed-variants: {machine: [pc, q35]}
            # testbed-variants: {accel: {tcg: {}, kvm: {requires: [kvm]}}, exclude: [{machine: pc, accel: kvm}]}
            exit 0
            """,
        ], executables: ["mig/precopy.sh"])
        let tests = try await load(tree).tests
        #expect(tests.map(\.id) == ["/mig/precopy.sh[machine=pc,accel=tcg]", "/mig/precopy.sh[machine=q35,accel=tcg]",
                                    "/mig/precopy.sh[machine=q35,accel=kvm]"])
        #expect(tests[2].requires.map(\.text) == ["root", "kvm"])
        #expect(tests[2].requiresLocation.line == 2)
        #expect(tests[0].environment["TESTBED_VARIANT_MACHINE"] == "pc")
        #expect(tests[0].baseID == "/mig/precopy.sh")
    }

    @Test("a bad testbed-variants: line is an error at that line", arguments: [
        ("{machine: [pc, q35]", "YAML syntax error"),
        ("{machine: [pc, 'q 35']}", "is not a valid variant value"),
        ("{machine: [pc], exclude: [{accel: kvm}]}", "names axis \"accel\""),
        ("", "is empty"),
    ])
    func dropInInvalid(_ value: String, message: String) async throws {
        let tree = try TemporaryTree([
            "t.sh": "#!/bin/sh\n# testbed-tags: a\n# testbed-variants: \(value)\nexit 0\n",
        ], executables: ["t.sh"])
        let errors = await loadErrors(tree)
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.file.hasSuffix("t.sh"))
        #expect(error.line == 3)
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test("valid axis names and values")
    func grammar() {
        #expect(TestVariant.isValidAxis("cpu-model_2"))
        #expect(!TestVariant.isValidAxis("Cpu"))
        #expect(!TestVariant.isValidAxis(""))
        #expect(TestVariant.isValidValue("pc-q35-9.0+x_Y"))
        for bad in ["", "a b", "a,b", "a=b", "a[", "]", "a/b"] { #expect(!TestVariant.isValidValue(bad)) }
        #expect(TestVariant.variableName(axis: "cpu-model") == "TESTBED_VARIANT_CPU_MODEL")
        let variant = TestVariant(baseID: "/m/p", values: [.init(axis: "machine", value: "pc"), .init(axis: "accel", value: "tcg")])
        #expect(variant.id == "/m/p[machine=pc,accel=tcg]")
        #expect(variant.value(of: "accel") == "tcg")
        #expect(variant.value(of: "smp") == nil)
    }
}
