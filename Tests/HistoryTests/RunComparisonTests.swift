import Execution
import Foundation
import History
import Results
import Testing

struct RunComparisonTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var before: [(String, TestOutcome)]
        var after: [(String, TestOutcome)]
        var regressions: [String] = []
        var fixes: [String] = []
        var stillFailing: [String] = []
        var new: [String] = []
        var gone: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "pass → fail, timeout and error are regressions",
             before: [("/a", .pass), ("/b", .pass), ("/c", .pass)], after: [("/a", .fail), ("/b", .timeout), ("/c", .error)],
             regressions: ["/a", "/b", "/c"]),
        Case(name: "fail → pass is a fix; fail → fail still fails",
             before: [("/a", .fail), ("/b", .timeout), ("/c", .pass)], after: [("/a", .pass), ("/b", .error), ("/c", .pass)],
             fixes: ["/a"], stillFailing: ["/b"]),
        Case(name: "skip, blocked and unsupported on either side are neither",
             before: [("/a", .skip), ("/b", .pass), ("/c", .fail)], after: [("/a", .fail), ("/b", .blocked), ("/c", .unsupported)]),
        Case(name: "new and gone tests, sorted by id",
             before: [("/z", .pass), ("/gone", .fail)], after: [("/z", .pass), ("/new2", .fail), ("/new1", .pass)],
             new: ["/new1", "/new2"], gone: ["/gone"]),
        Case(name: "nothing before: every test is new",
             before: [], after: [("/a", .pass)], new: ["/a"]),
    ]

    @Test("two runs' tests sorted into regressions, fixes, still failing, new and gone", arguments: cases)
    func compare(_ example: Case) {
        let comparison = RunComparison(before: example.before.map { TestResult(id: $0.0, outcome: $0.1) },
                                       after: example.after.map { TestResult(id: $0.0, outcome: $0.1) })
        #expect(comparison.regressions.map(\.id) == example.regressions)
        #expect(comparison.fixes.map(\.id) == example.fixes)
        #expect(comparison.stillFailing.map(\.id) == example.stillFailing)
        #expect(comparison.new.map(\.id) == example.new)
        #expect(comparison.gone.map(\.id) == example.gone)
    }

    static let verdictCases: [Case] = [
        Case(name: "a pass in an earlier run (not the previous one) then a failure is a regression",
             before: [("/mode", .pass), ("/net", .pass)], after: [("/mode", .fail), ("/net", .pass)], regressions: ["/mode"]),
        Case(name: "fail then pass is a fix, fail then timeout still fails",
             before: [("/a", .fail), ("/b", .error)], after: [("/a", .pass), ("/b", .timeout)], fixes: ["/a"], stillFailing: ["/b"]),
        Case(name: "no earlier verdict: new when it has one now; a skip now is not new; nothing is gone",
             before: [("/old", .pass)], after: [("/first", .fail), ("/skipped", .skip)], new: ["/first"]),
    ]

    @Test("a run against each test's latest earlier verdict: regressions, fixes, still failing, new; never gone",
          arguments: verdictCases)
    func againstLatestVerdicts(_ example: Case) throws {
        let verdicts = Dictionary(uniqueKeysWithValues: example.before.map {
            ($0.0, HistoryEntry(runID: "run-of-\($0.0)", started: Date(timeIntervalSince1970: 0), host: "h", outcome: $0.1))
        })
        let comparison = RunComparison(after: example.after.map { TestResult(id: $0.0, outcome: $0.1) }, earlierVerdicts: verdicts)
        #expect(comparison.regressions.map(\.id) == example.regressions)
        #expect(comparison.fixes.map(\.id) == example.fixes)
        #expect(comparison.stillFailing.map(\.id) == example.stillFailing)
        #expect(comparison.new.map(\.id) == example.new)
        #expect(comparison.gone.isEmpty)
        for change in comparison.regressions + comparison.fixes + comparison.stillFailing {
            #expect(change.beforeRun == "run-of-\(change.id)")
        }
    }

    @Test("the outcomes on both sides are kept")
    func outcomesKept() throws {
        let comparison = RunComparison(before: [TestResult(id: "/a", outcome: .pass)], after: [TestResult(id: "/a", outcome: .timeout)])
        let change = try #require(comparison.regressions.first)
        #expect(change.before == .pass && change.after == .timeout)
    }

    struct SetupCase: Sendable, CustomTestStringConvertible {
        var name: String
        var before: [SetupResult]
        var after: [SetupResult]
        var new: [String]
        var testDescription: String { name }
    }

    static let setupCases: [SetupCase] = [
        SetupCase(name: "a setup failing now and not before is new", before: [SetupResult(name: "image", phase: .setup, outcome: .ok)],
                  after: [SetupResult(name: "image", phase: .setup, outcome: .failed)], new: ["image"]),
        SetupCase(name: "failing in both is not new", before: [SetupResult(name: "image", phase: .setup, outcome: .timeout)],
                  after: [SetupResult(name: "image", phase: .setup, outcome: .failed)], new: []),
        SetupCase(name: "a scope: test setup and a teardown are told apart by label",
                  before: [SetupResult(name: "vm", test: "/a", phase: .setup, outcome: .failed)],
                  after: [SetupResult(name: "vm", test: "/b", phase: .setup, outcome: .failed),
                          SetupResult(name: "vm", test: "/a", phase: .teardown, outcome: .timeout),
                          SetupResult(name: "vm", test: "/a", phase: .setup, outcome: .failed)],
                  new: ["vm [/a] (teardown)", "vm [/b]"]),
        SetupCase(name: "blocked and satisfied setups are not failures", before: [],
                  after: [SetupResult(name: "a", phase: .setup, outcome: .blocked), SetupResult(name: "b", phase: .setup, outcome: .satisfied)],
                  new: []),
    ]

    @Test("new infrastructure failures: setups that failed in the second run and not in the first", arguments: setupCases)
    func infrastructure(_ example: SetupCase) {
        let comparison = RunComparison(before: [], after: [], setupsBefore: example.before, setupsAfter: example.after)
        #expect(comparison.newInfrastructureFailures.map(\.label) == example.new)
        #expect(comparison.isEmpty == example.new.isEmpty)
    }
}
