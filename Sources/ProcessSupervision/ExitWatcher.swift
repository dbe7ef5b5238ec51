import CShim
import Declarations
import Dispatch
import Foundation
import HostFacts
import Synchronization

/// Waits for the exit of every child through one epoll set: a child's pidfd
/// joins the set when it starts, and one waiter reaps whichever children
/// exited and calls their handlers (serially, on `queue`).
///
/// Per process this costs a pidfd and two `epoll_ctl` calls. The waiter is
/// the one thread Testbed starts itself: it sleeps in `epoll_wait`, so an
/// exit wakes one thread, where a dispatch source on the set woke two (its
/// manager thread, then a worker). Parallelism is still bounded by the
/// executor's `-j`, not by threads.
///
/// It is also the task executor of the executor's run loop
/// (`withTaskExecutorPreference`): when a test exits, the loop resumes on
/// this same thread, right after the exit is handled, and starts the next
/// test there, instead of waking a thread of the global pool to do it (from
/// one test's exit to the next one's spawn: ~300 us before, ~110 us after,
/// on a 2-CPU VM). Jobs from other threads (a timer, a setup's child task
/// on the pool) ring an eventfd in the same epoll set. While the run loop
/// works, exits wait: it must stay short (its longest is re-probing a fact
/// after a setup promised it, once per setup).
public final class ExitWatcher: TaskExecutor, Sendable {
    /// The one watcher of the process (one thread, one epoll set), which
    /// every `ProcessSupervisor` uses unless given another. Process-wide on
    /// purpose: a child's exit is the whole process' (any thread's `waitpid`
    /// may reap it), and one epoll thread for every exit is what keeps the
    /// cost of an exit to one wake-up; a second watcher would add a thread.
    public static let shared = ExitWatcher()

    struct Waiter {
        let pid: pid_t
        let handler: @Sendable (Termination) -> Void
    }

    let epoll: Int32
    let queue = DispatchQueue(label: "testbed.child-exits")
    /// Waiters by pidfd.
    let waiters = Mutex<[Int32: Waiter]>([:])
    /// The waiter stopped (epoll failed): new processes are polled.
    let broken = Mutex(false)
    /// Jobs of tasks that prefer this executor, and the eventfd (in the
    /// epoll set) that wakes the thread for them.
    let jobs = Mutex<[UnownedJob]>([])
    let doorbell: Int32
    /// The thread (`pthread_self`), once it runs: reading it costs no system call.
    let thread = Atomic<UInt>(0)

    init() {
        epoll = testbed_epoll_create()
        doorbell = testbed_eventfd()
        guard epoll >= 0, doorbell >= 0, testbed_epoll_add(epoll, doorbell) == 0 else { return }
        let thread = Thread { [unowned self] in self.waitLoop() }
        thread.name = "testbed.exits"
        thread.start()
    }

    /// This executor, when its thread runs (no epoll or eventfd: nil, and
    /// tasks run on the global pool).
    public var taskExecutor: (any TaskExecutor)? {
        epoll >= 0 && doorbell >= 0 ? self : nil
    }

    func waitLoop() {
        thread.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
        while true {
            var ready: Int32 = 0
            // Only a broken set fails here; then `watch` polls instead.
            guard testbed_epoll_block(epoll, &ready) >= 0 else {
                broken.withLock { $0 = true }
                queue.sync { reapReady() }
                runJobs()
                // Jobs still come: run them as they do.
                while true {
                    testbed_wait_readable(doorbell)
                    testbed_eventfd_clear(doorbell)
                    runJobs()
                }
            }
            queue.sync { reapReady() }
            runJobs()
        }
    }

    /// Runs `job` on the watcher's thread, after the exits it is handling now
    /// (the `SerialExecutor` requirement).
    /// - Parameter job: The job to run.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let first = jobs.withLock { jobs -> Bool in
            jobs.append(job)
            return jobs.count == 1
        }
        // On this thread, the loop runs it after the current exit or job.
        if first && UInt(pthread_self()) != thread.load(ordering: .sequentiallyConsistent) {
            testbed_eventfd_signal(doorbell)
        }
    }

    /// Runs queued jobs, and those they queue, until none is left.
    func runJobs() {
        while true {
            let batch = jobs.withLock { jobs -> [UnownedJob] in
                defer { jobs.removeAll(keepingCapacity: true) }
                return jobs
            }
            if batch.isEmpty { return }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    /// Calls `handler` on the watcher's queue once `pid` (a child of this
    /// process) has exited and been reaped.
    func watch(_ pid: pid_t, handler: @escaping @Sendable (Termination) -> Void) {
        let pidfd = testbed_pidfd_open(pid)
        guard epoll >= 0, pidfd >= 0, !broken.withLock({ $0 }) else {
            if pidfd >= 0 { close(pidfd) }
            // No pidfd (a kernel before 5.3) or no epoll: poll.
            Task.detached {
                var status: Int32 = 0
                while testbed_try_wait(pid, &status) == 0 { try? await Task.sleep(for: .milliseconds(5)) }
                handler(Termination(waitStatus: status))
            }
            return
        }
        waiters.withLock { $0[pidfd] = Waiter(pid: pid, handler: handler) }
        if testbed_epoll_add(epoll, pidfd) != 0 {
            _ = waiters.withLock { $0.removeValue(forKey: pidfd) }
            close(pidfd)
            Task.detached {
                var status: Int32 = 0
                while testbed_try_wait(pid, &status) == 0 { try? await Task.sleep(for: .milliseconds(5)) }
                handler(Termination(waitStatus: status))
            }
        }
    }

    /// Runs on `queue` when the set has ready descriptors.
    func reapReady() {
        var fds = [Int32](repeating: -1, count: 64)
        while true {
            let count = fds.withUnsafeMutableBufferPointer { testbed_epoll_ready(epoll, $0.baseAddress, 64) }
            guard count > 0 else { return }
            for fd in fds.prefix(Int(count)) {
                // Rung for jobs: reset it (only then: no read per exit); `runJobs` follows.
                if fd == doorbell { testbed_eventfd_clear(doorbell); continue }
                guard let waiter = waiters.withLock({ $0[fd] }) else { continue }
                var status: Int32 = 0
                let waited = testbed_try_wait(waiter.pid, &status)
                guard waited != 0 else { continue }
                _ = waiters.withLock { $0.removeValue(forKey: fd) }
                _ = testbed_epoll_remove(epoll, fd)
                close(fd)
                // Reaped elsewhere (it must not be, but never wait forever): report it as lost.
                waiter.handler(waited == 1 ? Termination(waitStatus: status) : .exited(255))
            }
            if count < 64 { return }
        }
    }
}
