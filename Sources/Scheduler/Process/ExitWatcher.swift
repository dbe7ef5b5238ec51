import CShim
import Dispatch
import Foundation
import Synchronization

/// Waits for the exit of every child through one epoll set: a child's pidfd
/// joins the set when it starts, and one dispatch source on the set reaps
/// whichever children exited and calls their handlers.
///
/// Per process this costs a pidfd and two `epoll_ctl` calls; nothing is
/// registered with the dispatch manager and no thread blocks in `waitpid`.
final class ExitWatcher: Sendable {
    static let shared = ExitWatcher()

    struct Waiter {
        let pid: pid_t
        let handler: @Sendable (Termination) -> Void
    }

    let epoll: Int32
    let queue = DispatchQueue(label: "testbed.child-exits")
    /// Waiters by pidfd.
    let waiters = Mutex<[Int32: Waiter]>([:])
    /// Set once in `init` and never changed; kept so that it lives as long as the watcher.
    nonisolated(unsafe) var source: (any DispatchSourceRead)?

    init() {
        epoll = testbed_epoll_create()
        guard epoll >= 0 else { return }
        let source = DispatchSource.makeReadSource(fileDescriptor: epoll, queue: queue)
        source.setEventHandler { [unowned self] in self.reapReady() }
        source.resume()
        self.source = source
    }

    /// Calls `handler` on the watcher's queue once `pid` (a child of this
    /// process) has exited and been reaped.
    func watch(_ pid: pid_t, handler: @escaping @Sendable (Termination) -> Void) {
        let pidfd = testbed_pidfd_open(pid)
        guard epoll >= 0, pidfd >= 0 else {
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
