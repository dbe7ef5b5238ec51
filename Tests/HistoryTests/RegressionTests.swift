import Execution
import History
import Results
import Testing

struct RegressionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var now: TestOutcome
        var earlier: [HistoryEntry]
        var lastPass: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "failed now, passed in the previous run", now: .fail, earlier: entries("p"), lastPass: "r1"),
        Case(name: "timeout and error count as failures", now: .timeout, earlier: entries("pf"), lastPass: "r2"),
        Case(name: "passing now is no regression", now: .pass, earlier: entries("p"), lastPass: nil),
        Case(name: "skipped now is no regression", now: .skip, earlier: entries("p"), lastPass: nil),
        Case(name: "failed before too is no regression", now: .fail, earlier: entries("fp"), lastPass: nil),
        Case(name: "blocked, unsupported and skipped in between do not break the chain", now: .error, earlier: entries("bsuip"),
             lastPass: "r1"),
        Case(name: "no earlier verdict: no regression", now: .fail, earlier: entries("sb"), lastPass: nil),
        Case(name: "no earlier run: no regression", now: .fail, earlier: [], lastPass: nil),
        Case(name: "another host's pass does not count", now: .fail, earlier: entries("p", host: "lab2") + entries("f"), lastPass: nil),
        Case(name: "another environment's pass does not count", now: .fail,
             earlier: entries("p", environment: "other") + entries("fp"), lastPass: nil),
        Case(name: "another host's failure does not hide this host's pass", now: .fail,
             earlier: entries("f", host: "lab2") + entries("p"), lastPass: "r1"),
    ]

    @Test("failed now and passed in the latest earlier run with a verdict on the same host and environment", arguments: cases)
    func regression(_ example: Case) {
        let found = Regression.find(current: [TestResult(id: "/t", outcome: example.now)], host: "lab1", environment: "local",
                                    earlier: ["/t": example.earlier])
        #expect(found.first?.lastPass.runID == example.lastPass)
        #expect(found.count == (example.lastPass == nil ? 0 : 1))
    }

    @Test("a run without a host (recorded before hosts were) has no regressions")
    func noHost() {
        let found = Regression.find(current: [TestResult(id: "/t", outcome: .fail)], host: nil, environment: "local",
                                    earlier: ["/t": entries("p", host: nil)])
        #expect(found.isEmpty)
    }

    @Test("several regressions come sorted by id, each once")
    func sorted() {
        let current = ["/b", "/a", "/c", "/a"].map { TestResult(id: $0, outcome: .fail) }
        let earlier = ["/a": entries("p"), "/b": entries("p"), "/c": entries("f")]
        #expect(Regression.find(current: current, host: "lab1", environment: "local", earlier: earlier).map(\.test) == ["/a", "/b"])
    }
}
