@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Planning
import PropertyBased
@testable import Requirements
import TestSupport
import Testing

/// Lines that declaration files are made of, well-formed or not.
let declarationLines = [
    "tests:", "setups:", "  a:", "  b:", "  s:", "  a/b:", "  \"..\":", "  \"x y\":", "  c: 'true'", "  d: ./missing.sh",
    "    run: 'true'", "    run: ''", "    requires: [root]", "    requires: [\"qemu >= 8\"]", "    requires: \"kernel >=\"",
    "    requires: [\"image:alpine\"]", "    tags: [x, y]", "    tags: 3", "    timeout: 5s", "    timeout: soon",
    "    setup: [s]", "    setup: [ghost]", "    after: [s]", "    after: [a]", "    provides: [image:alpine]",
    "    provides: [\"qemu = 9.0\"]", "    teardown: 'true'", "    check: 'false'", "    exclusive: true", "    scope: test",
    "    dirties: true", "    skip-code: 77", "    unknown: 1", "- x", "  - y", "x: &a [1, 2]", "y: *a", "z: *nope",
    "{", "}", "[", "]", "'", "\"", ":", "\t", "# comment", "---", "...", "? complex", "!!binary aGk=", "%YAML 1.2",
]

let declarationText = Gen.element(of: declarationLines).array(of: 0...16).map { $0.compactMap { $0 }.joined(separator: "\n") }

/// Loads a suite with one testbed.yaml and resolves it: a plan, or errors
/// that name the file (and a line inside it); never a crash.
func loadAndResolve(_ yaml: Data, in tree: TemporaryTree) async {
    // A plain write: createFile writes atomically with an fsync, which made each input cost milliseconds.
    try? yaml.write(to: URL(fileURLWithPath: tree["testbed.yaml"]))
    let lines = yaml.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
    do {
        let catalog = try await CatalogLoader().load([tree.path])
        do {
            let plan = try Resolver(catalog: catalog, facts: host).resolve()
            #expect(plan.tests.count == catalog.tests.count)
        } catch {
            #expect(!error.description.isEmpty)
        }
    } catch {
        #expect(!error.errors.isEmpty)
        for item in error.errors {
            #expect(item.file.hasSuffix("testbed.yaml"), "\(item)")
            if let line = item.line { #expect(line >= 1 && line <= lines + 1, "line \(line) of \(lines): \(item)") }
        }
    }
}

@Suite("fuzzing the declaration loader (TESTBED_FUZZ_SECONDS=600 runs each target ten minutes)", .serialized)
struct DeclarationFuzzTests {
    @Test("random declaration files load or fail with file:line errors; what loads resolves")
    func randomFiles() async throws {
        let tree = try TemporaryTree()
        await fuzzRounds {
            await propertyCheck(count: fuzzCount, input: declarationText) { text in
                await loadAndResolve(Data(text.utf8), in: tree)
            }
        }
    }

    @Test("a valid file with random bytes overwritten (invalid UTF-8, NULs, control bytes) never crashes the loader")
    func mutatedBytes() async throws {
        let tree = try TemporaryTree()
        let valid = Array("""
            setups:
              s:
                run: 'true'
                provides: [image:alpine]
                teardown: 'true'
            tests:
              a:
                run: 'true'
                requires: ["qemu >= 7", image:alpine]
                tags: [x]
                timeout: 5s
              b: 'true'
            """.utf8)
        let mutation = zip(Gen.int(in: 0...(valid.count - 1)), Gen.uint8()).array(of: 1...6)
        await fuzzRounds {
            await propertyCheck(count: fuzzCount, input: mutation) { edits in
                var bytes = valid
                for (position, byte) in edits { bytes[position] = byte }
                await loadAndResolve(Data(bytes), in: tree)
            }
        }
    }

    /// Inputs that broke the loader once, or nearly: kept as regression tests.
    @Test("found declaration files stay handled", arguments: [
        "tests:\n  a:\n    run: 'true'\n    after: [a]",
        "setups:\n  s:\n    run: 'true'\n    after: [s]\ntests:\n  a:\n    run: 'true'\n    setup: [s]",
        "tests:\n  \"..\":\n    run: 'true'",
        "tests:\n? complex\n",
        "tests:\n  a: *nope",
        "x: &a [1, 2]\ny: *a\ntests:\n  c: 'true'",
        "tests: !!binary aGk=",
        "%YAML 1.2\n---\ntests:\n  c: 'true'",
        "tests:\n  c: 'true'\n...\n",
        "setups:\n  s:\n    run: ''\n    scope: test\ntests:\n  a:\n    run: 'true'\n    setup: [s]",
        "tests:\n  a:\n    run: 'true'\n    requires: \"kernel >=\"",
        "tests:\n  a/b:\n    run: ''",
        "\t",
        "tests:\n  a: 'true'\n  a/b: 'true'\n  \"x y\": 'true'",
        // Found by the mutation fuzzer: a lone CR made libyaml's line numbers run ahead of the file's.
        "tests:\n  a:\n    run: 'true'\r    tags: [x]\n  b: 'true'\n",
        "\rtests:\n  a: 'true'",
        "tests:\r\n  a: 'true'\r\n",
    ])
    func found(_ text: String) async throws {
        let tree = try TemporaryTree()
        await loadAndResolve(Data(text.utf8), in: tree)
    }
}
