import Foundation
import Testing
import TestSupport

@Suite("Tests a halt or an interrupt kept from starting get one line, not one each")
struct NeverStartedLineTests {
    @Test("--halt-on-infra: one INTERRUPTED line counts the tests that never started and names the first three")
    func haltedTestsOneLine() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            setups:
              broken: {run: 'exit 1'}
            tests:
              a: {run: 'true', setup: [broken]}
              b: 'true'
              c: 'true'
              d: 'true'
              e: 'true'
              f: 'true'
            """,
        ])
        let result = try testbed(["run", ".", "-j", "1", "--plan-order", "--halt-on-infra"], in: tree.path)
        #expect(result.status == 2, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("INTERRUPTED") }
        #expect(lines == ["INTERRUPTED 5 tests never started: /b, /c, /d +2  "
            + "the run halted after setup broken failed (--halt-on-infra)"], "\(result.stderr)")
        // The summary counts them and names them, saying why once.
        #expect(result.stdout.contains("not run (5)\n  /b, /c, /d +2  the run halted after setup broken failed (--halt-on-infra)\n"),
                "\(result.stdout)")
        #expect(!result.stdout.contains("not run: "), "\(result.stdout)")
    }
}
