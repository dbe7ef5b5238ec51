import CShim
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import ProcessSupervision
import TestSupport
import Testing

/// `cleanUp` reaps the untracked zombies among the children of the main thread
/// whose process group is not ours; during `testbed run` a probe's process, in
/// a group of its own, can be one of them before `CommandRunner` waits for it.
///
/// The test process is made a subreaper for the test, as `testbed run` is, so
/// that orphans land on the main thread, where `cleanUp` looks: an orphaned
/// grandchild of a probe command becomes such a zombie, and stands for a helper
/// when registered as one.
@Suite("cleanUp leaves the probes' helpers to CommandRunner", .serialized)
struct HelperReapTests {
    /// A zombie on the main thread, in another process group than ours.
    func orphanedZombie() throws -> pid_t {
        // The background `sleep` is killed with the command's group, and its
        // parent is gone: it becomes a zombie child of the subreaper.
        let output = try #require(CommandRunner().shell("sleep 30 & echo $!"))
        let pid = try #require(pid_t(output.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        try #require(eventually(within: 10) { processState(pid) == "Z" && ProcessSupervisor.childPIDs().contains(pid) })
        return pid
    }

    @Test("a helper's zombie, and any zombie while a helper spawn is in flight, is left for its waiter")
    func leavesHelpers() throws {
        try #require(testbed_set_child_subreaper() == 0)
        defer { _ = testbed_clear_child_subreaper() }
        let supervisor = ProcessSupervisor(grace: .milliseconds(200))
        let after = ChildProcess(pid: getpid(), tag: "helper-reap-test")
        // Other tests' probes and spawns in flight hold reaping back for a moment: retry.
        func reaped(_ pid: pid_t) -> Bool {
            eventually(within: 10) {
                supervisor.cleanUp(after: after)
                return processState(pid) == nil
            }
        }

        // Other tests run supervisors in this process too, and reap untracked
        // zombies: each zombie is made while a (pretend) helper spawn is in
        // flight, which holds every reaper back until it is registered.
        HelperProcesses.state.withLock { $0.inFlight += 1 }
        let stray = try orphanedZombie()
        HelperProcesses.state.withLock { $0.inFlight -= 1 }
        #expect(reaped(stray), "an untracked zombie in another group is reaped")

        HelperProcesses.state.withLock { $0.inFlight += 1 }
        let helper = try orphanedZombie()
        #expect(HelperProcesses.spawning { helper } == helper)
        HelperProcesses.state.withLock { $0.inFlight -= 1 }
        for _ in 0..<5 { supervisor.cleanUp(after: after) }
        #expect(processState(helper) == "Z", "a registered helper's zombie is left for CommandRunner")
        var status: Int32 = 0
        #expect(testbed_wait(helper, &status) == 0, "its waiter still gets its status")
        #expect(testbed_signaled(status) != 0 && testbed_term_signal(status) == SIGKILL)
        HelperProcesses.reaped(helper)

        HelperProcesses.state.withLock { $0.inFlight += 1 }
        let early = try orphanedZombie()
        for _ in 0..<5 { supervisor.cleanUp(after: after) }
        #expect(processState(early) == "Z", "nothing is reaped while a helper spawn is in flight (its pid is not known yet)")
        HelperProcesses.state.withLock { $0.inFlight -= 1 }
        #expect(reaped(early), "reaped once the spawn is over")
    }
}
