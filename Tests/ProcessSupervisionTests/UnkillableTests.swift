import Foundation
@testable import ProcessSupervision
import Testing

/// The D-state check after a timeout's kill. A process in uninterruptible sleep cannot be made here; what can be
/// checked is that a process SIGKILL does end is never called unkillable, and that the check reads /proc as it should.
@Suite("Unkillable processes (D state after a timeout's SIGKILL)")
struct UnkillableTests {
    @Test("a process that ignores SIGTERM times out, dies of SIGKILL after the grace, and is not called unkillable",
          .timeLimit(.minutes(1)))
    func killable() async {
        let supervisor = ProcessSupervisor(grace: .milliseconds(100))
        let outcome = await supervisor.run(.shell("trap '' TERM; sleep 30 & wait; sleep 30", environment: ["PATH": "/usr/bin:/bin"],
                                                  directory: "/", outputPath: "/dev/null"),
                                           tag: "unkillable/killable", timeout: .milliseconds(150))
        #expect(outcome.timedOut)
        #expect(outcome.termination == .signaled(SIGKILL))
        #expect(outcome.unkillable == nil)
        // Past the time the watchdog looks again: it finds nothing to give up on, and nothing is heard twice.
        try? await Task.sleep(for: .milliseconds(300))
        #expect(supervisor.running.withLock { $0.entries.isEmpty })
    }

    @Test("a running or sleeping process, or one that is gone, is not in uninterruptible sleep")
    func notInDState() throws {
        #expect(ProcessSupervisor.uninterruptibleSleep(of: getpid()) == nil)
        #expect(ProcessSupervisor.uninterruptibleSleep(of: 0x3fff_fff0) == nil)
    }

    @Test("Once: only the first claim wins")
    func once() {
        let once = ProcessSupervisor.Once()
        #expect(once.claim())
        #expect(!once.claim())
    }
}
