import Foundation
@testable import ProcessSupervision
import Testing

@Suite("Process supervisor instances")
struct ProcessSupervisorTests {
    func spec(_ command: String) -> ProcessSpec {
        .shell(command, environment: ["PATH": "/usr/bin:/bin"], directory: "/", outputPath: "/dev/null")
    }

    @Test("an interrupt, a kill and a timeout touch the processes of their own supervisor only", .timeLimit(.minutes(1)))
    func separate() async throws {
        let interrupted = ProcessSupervisor(grace: .milliseconds(200))
        let killed = ProcessSupervisor(grace: .milliseconds(200))
        let untouched = ProcessSupervisor(grace: .milliseconds(200))
        async let stopped = interrupted.run(spec("sleep 30"), tag: "supervisor-instances/interrupted", timeout: .seconds(30))
        async let gone = killed.run(spec("sleep 30"), tag: "supervisor-instances/killed", timeout: .seconds(30))
        async let timedOut = untouched.run(spec("sleep 30"), tag: "supervisor-instances/timeout", timeout: .milliseconds(300))
        async let other = untouched.run(spec("sleep 1; exit 4"), tag: "supervisor-instances/other", timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(100))
        interrupted.interruptAll()
        killed.killAll()
        let (stop, kill, timeout, rest) = await (stopped, gone, timedOut, other)
        #expect(stop.interrupted && !stop.timedOut)
        #expect(kill.interrupted && kill.termination == .signaled(SIGKILL))
        #expect(timeout.timedOut && !timeout.interrupted && timeout.termination == .signaled(SIGTERM))
        #expect(!rest.interrupted && !rest.timedOut && rest.termination == .exited(4))
        #expect(!untouched.isInterrupted && interrupted.isInterrupted && !interrupted.hardStopped && killed.hardStopped)
        #expect(untouched.running.withLock { $0.entries.isEmpty })
    }
}
