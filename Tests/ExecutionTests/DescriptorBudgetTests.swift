@testable import Declarations
import Foundation
@testable import Catalog
@testable import Execution
@testable import HostFacts
@testable import ProcessSupervision
import TestSupport
import Testing

@Suite("File descriptor budget")
struct DescriptorBudgetTests {
    @Test("the soft limit is raised as far as -j needs, never above the hard limit, never lowered")
    func raisesSoftLimit() {
        // 10 open + 48 margin + 4 per step.
        #expect(DescriptorBudget(requested: 100, soft: 1024, hard: 524_288, open: 10).soft == 1024)
        #expect(DescriptorBudget(requested: 2000, soft: 1024, hard: 524_288, open: 10).soft == 58 + 8000)
        #expect(DescriptorBudget(requested: 2000, soft: 1024, hard: 4096, open: 10).soft == 4096)
        #expect(DescriptorBudget(requested: 2000, soft: 256, hard: 256, open: 10).soft == 256)
    }

    @Test("-j is lowered to what the hard limit allows, and says so once")
    func lowersJobs() {
        let roomy = DescriptorBudget(requested: 2000, soft: 1024, hard: 524_288, open: 10)
        #expect(roomy.jobs == 2000)
        #expect(roomy.warning == nil)
        let tight = DescriptorBudget(requested: 2000, soft: 1024, hard: 1024, open: 10)
        #expect(tight.jobs == (1024 - 58) / 4)
        #expect(tight.warning == "testbed: -j 2000 lowered to 241: 1024 file descriptors (ulimit -Hn)")
        // Too few for even one step: one still runs (a launch that fails is then Testbed's, not the test's).
        #expect(DescriptorBudget(requested: 8, soft: 40, hard: 40, open: 10).jobs == 1)
    }

    @Test("-j near Int.max asks for more than any limit: lowered, never an overflow", arguments: [
        Int.max, Int.max / 4 + 1, 2_305_843_009_213_693_952, 1_000_000_000_000,
    ])
    func hugeJobs(requested: Int) {
        let budget = DescriptorBudget(requested: requested, soft: 1024, hard: 524_288, open: 10)
        #expect(budget.soft == 524_288)
        #expect(budget.jobs == (524_288 - 58) / 4)
        #expect(budget.warning == "testbed: -j \(requested) lowered to \((524_288 - 58) / 4): 524288 file descriptors (ulimit -Hn)")
    }

    @Test("hard limits of 100 to 256 still run several steps at once")
    func smallHardLimits() {
        // 13 open when a run makes its budget (stdin, stdout, stderr and Dispatch's own).
        #expect(DescriptorBudget(requested: 150, soft: 100, hard: 100, open: 13).jobs == (100 - 13 - 48) / 4)
        #expect(DescriptorBudget(requested: 150, soft: 256, hard: 256, open: 13).jobs == (256 - 13 - 48) / 4)
        #expect(DescriptorBudget(requested: 150, soft: 64, hard: 64, open: 13).jobs == 1)
    }

    @Test("under a hard limit of 64, or with fewer than 52 free, testbed refuses to start, naming the limit and the fix")
    func shortage() {
        #expect(DescriptorBudget(requested: 2, soft: 64, hard: 64, open: 3).shortage == nil)
        #expect(DescriptorBudget(requested: 2, soft: 20, hard: 64, open: 12).shortage == nil, "the soft limit is raised")
        #expect(DescriptorBudget(requested: 2, soft: 63, hard: 63, open: 3).shortage
                == "the file descriptor limit is 63 (ulimit -Hn), and testbed needs at least 64 for itself, whatever -j is; "
                + "raise it (ulimit -n 1024) and run again")
        // Descriptors inherited open count against it.
        #expect(DescriptorBudget(requested: 2, soft: 100, hard: 100, open: 48).shortage == nil)
        #expect(DescriptorBudget(requested: 2, soft: 100, hard: 100, open: 49).shortage
                == "the file descriptor limit is 100 (ulimit -Hn) and 49 descriptors were open at start, and testbed needs 52 "
                + "free for itself, whatever -j is; start testbed with fewer descriptors open, or raise the limit (ulimit -n 1024)")
    }

    @Test("apply raises this process' soft limit only when -j needs it")
    func appliesToProcess() throws {
        var limit = rlimit()
        try #require(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let open = DescriptorBudget.openDescriptors()
        try #require(open > 3 && open < 600, "\(open) descriptors open")
        let small = DescriptorBudget.apply(requested: 1)
        if open + 100 < small.softBefore {
            #expect(small.soft == small.softBefore, "one step needs no more than any usual soft limit")
        }
        #expect(small.jobs == 1)
        var after = rlimit()
        _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &after)
        #expect(Int(after.rlim_cur) == small.soft)
        #expect(after.rlim_cur >= limit.rlim_cur)
    }

    @Test("a launch that fails for want of descriptors is Testbed's limit: the test is blocked by testbed, not an error")
    func descriptorsBlockTheTest() {
        let failure = LaunchFailure(program: "/tmp/t/output.log", errno: EMFILE, cause: .descriptors)
        #expect(failure.description == "not started: testbed ran out of file descriptors (Too many open files) and none "
                + "freed up; raise the limit (ulimit -n) or lower -j")
        let test = TestDefinition(id: "/t", command: .shell("true"), directory: "/", location: here)
        let outcome = ProcessOutcome(termination: nil, launchFailure: failure, timedOut: false, interrupted: false,
                                     started: Date(), duration: 0, leftRunning: nil)
        let result = OutcomeClassifier.test(id: "/t", test: test, timeout: .seconds(1), outcome: outcome,
                                         directory: "tests/t", log: nil)
        #expect(result.outcome == .blocked)
        #expect(result.blockedBy == "testbed")
        #expect(result.reason == failure.description)
    }

    @Test("Argument list too long: the environment's fault (blocked by environment), unless the test's own command is over MAX_ARG_STRLEN (error naming it)")
    func argumentListTooLong() {
        let failure = LaunchFailure(program: "/bin/sh", errno: E2BIG, cause: .system)
        let outcome = ProcessOutcome(termination: nil, launchFailure: failure, timedOut: false, interrupted: false,
                                     started: Date(), duration: 0, leftRunning: nil)
        let small = TestDefinition(id: "/t", command: .shell("true"), directory: "/", location: here)
        let blocked = OutcomeClassifier.test(id: "/t", test: small, timeout: .seconds(1), outcome: outcome, directory: "tests/t", log: nil)
        #expect(blocked.outcome == .blocked)
        #expect(blocked.blockedBy == "environment")
        #expect(blocked.reason?.hasSuffix("unset large variables before running testbed") == true)

        let word = String(repeating: "x", count: 200_000)
        let huge = TestDefinition(id: "/t", command: .shell("echo " + word), directory: "/", location: here)
        let error = OutcomeClassifier.test(id: "/t", test: huge, timeout: .seconds(1), outcome: outcome, directory: "tests/t", log: nil)
        #expect(error.outcome == .error)
        #expect(error.reason == "cannot start: its command at \(here) is 200005 bytes, over the 131072 bytes Linux passes in one "
                + "argument (MAX_ARG_STRLEN); move it into a script")
    }
}
