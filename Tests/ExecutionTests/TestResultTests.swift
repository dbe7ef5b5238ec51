import Execution
import Foundation
import Subtests
import Testing

/// `TestResult` keeps its rarely set fields in a shared box: it must still behave as a plain value.
@Suite struct TestResultTests {
    @Test func rareFieldsReadBackAndCopiesAreIndependent() {
        var result = TestResult(id: "/a", outcome: .fail, duration: 1.5, flaky: .rerun(attempts: 2))
        result.kernelLog = "[1.0] oops"
        result.subtestCounts = SubtestCounts(pass: 3, fail: 1, skip: 0)
        var copy = result
        copy.kernelLog = nil
        copy.attempts = [TestAttempt(outcome: .fail, duration: 0.5)]
        #expect(result.kernelLog == "[1.0] oops")
        #expect(result.attempts.isEmpty)
        #expect(result.flaky == .rerun(attempts: 2))
        #expect(copy.kernelLog == nil)
        #expect(copy.attempts.count == 1)
        #expect(copy.subtestCounts?.fail == 1)
    }

    @Test func equalityAndHashFollowTheFieldsNotTheBox() {
        var first = TestResult(id: "/a", outcome: .pass)
        first.unhealthy = "x"
        var second = TestResult(id: "/a", outcome: .pass)
        second.unhealthy = "x"
        #expect(first == second)
        #expect(Set([first, second]).count == 1)
        second.unhealthy = nil
        #expect(first != second)
        first.unhealthy = nil
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
    }

    @Test func codableRoundTripKeepsTheRareFields() throws {
        var result = TestResult(id: "/k", outcome: .fail, started: Date(timeIntervalSince1970: 100), duration: 2,
                                exitStatus: 1, reason: "exit status 1", flaky: .forgiven(failures: 1, window: 5, threshold: 2))
        result.kernelLog = "[2.0] warn"
        result.subtests = [Subtest(name: "one", outcome: .fail)]
        let data = try JSONEncoder().encode(result)
        let decoded = try JSONDecoder().decode(TestResult.self, from: data)
        #expect(decoded == result)
    }
}
