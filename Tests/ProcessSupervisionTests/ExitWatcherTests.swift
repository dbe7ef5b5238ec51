@testable import Declarations
import Foundation
@testable import HostFacts
@testable import ProcessSupervision
import Testing

@Suite("Exit watcher as the run loop's executor")
struct ExitWatcherTests {
    func spec(_ command: String) -> ProcessSpec {
        .shell(command, environment: [:], directory: "/", outputPath: "/dev/null")
    }

    @Test("a task that prefers it runs on its thread, after a timer and after a child's exit alike",
          .timeLimit(.minutes(1)))
    func runsOnItsThread() async throws {
        let watcher = ExitWatcher.shared
        let executor = try #require(watcher.taskExecutor)
        let supervisor = ProcessSupervisor(grace: .milliseconds(200))
        let threads = await withTaskExecutorPreference(executor) { () async -> [UInt] in
            var seen = [UInt(pthread_self())]
            // Resumed by a timer on another thread: the doorbell wakes the watcher.
            try? await Task.sleep(for: .milliseconds(20))
            seen.append(UInt(pthread_self()))
            // Resumed by the exit handler, on the watcher's own thread.
            let outcome = await supervisor.run(spec("exit 3"), tag: "exit-watcher-test/1", timeout: .seconds(30))
            #expect(outcome.termination == .exited(3))
            seen.append(UInt(pthread_self()))
            return seen
        }
        let own = watcher.thread.load(ordering: .sequentiallyConsistent)
        #expect(own != 0)
        #expect(threads == [own, own, own])
    }

    @Test("child tasks that start processes all finish, each with its own exit status", .timeLimit(.minutes(1)))
    func childTasks() async throws {
        let executor = try #require(ExitWatcher.shared.taskExecutor)
        let supervisor = ProcessSupervisor(grace: .milliseconds(200))
        let statuses = await withTaskExecutorPreference(executor) {
            await withTaskGroup(of: (Int, Termination?).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        // Half of them leave a child behind that outlives them.
                        let command = index.isMultiple(of: 2) ? "exit \(index % 7)" : "(sleep 0.05 &) ; exit \(index % 7)"
                        let outcome = await supervisor.run(spec(command), tag: "exit-watcher-test/group/\(index)",
                                                           timeout: .seconds(30))
                        return (index, outcome.termination)
                    }
                }
                var result: [Int: Termination?] = [:]
                for await (index, termination) in group { result[index] = termination }
                return result
            }
        }
        #expect(statuses.count == 40)
        for (index, termination) in statuses {
            #expect(termination == .exited(Int32(index % 7)), "process \(index)")
        }
    }
}
