import Declarations
import Foundation
import HostFacts

/// How many steps may run at once without Testbed running out of file
/// descriptors, and the soft limit (`ulimit -Sn`) that takes.
///
/// A running step holds a pidfd (its exit, in `ExitWatcher`) and, while it
/// starts, its output file; `perStep` counts twice that, for the run
/// directory's handles and a reason read back. The reserve is what the run
/// holds whatever `-j` is: the descriptors open at start and `margin` (the
/// database's connections, the run directory, epoll, signal and timer
/// descriptors, the guard's pipe, probes, reports: about 20 at once, some of
/// them open already when the budget is made, measured with strace on runs
/// of 62 tests at -j 2, 49 and 62, where each running step held 2).
///
/// Testbed must never run out of descriptors itself: Dispatch traps
/// (SIGILL) when it cannot open `/proc/TID/stat` to watch its threads. So
/// every command first makes sure of `minimum` (`shortage`) and a run
/// never starts more steps than fit.
///
/// The soft limit is raised only as far as `-j` needs (up to the hard limit),
/// not to the hard limit: tests inherit it, and a hard limit of 2^20 or more
/// as a soft limit slows every program that closes descriptors one by one up
/// to it and breaks those that use `select(2)`.
public struct DescriptorBudget: Sendable, Equatable {
    /// Descriptors one running step may hold.
    public static let perStep = 4
    /// Descriptors kept for Testbed itself beyond those open at start.
    public static let margin = 48
    /// The hard limit (`ulimit -Hn`) below which Testbed refuses to start:
    /// below it, even one step at a time may leave Testbed itself without a
    /// descriptor. (Nor does it start with fewer than `margin` and one step's
    /// free, for descriptors inherited open.) At 64, one or two steps run at
    /// once; at 100, about ten; at 256, about fifty.
    public static let minimum = 64

    /// The soft limit (`ulimit -Sn`) before `apply`.
    public var softBefore: Int
    /// The soft limit after `apply`: raised to what the steps need, at most `hard`.
    public var soft: Int
    /// The hard limit (`ulimit -Hn`), bounded by the kernel's `fs.nr_open`.
    public var hard: Int
    /// The steps asked for (`-j`).
    public var requested: Int
    /// The steps that fit in `soft` (at least one, at most `requested`).
    public var jobs: Int
    /// Descriptors open at start.
    public var open: Int

    /// The budget for `requested` steps with these limits and `open`
    /// descriptors in use: the soft limit raised to what they need (never
    /// above `hard`, never lowered), and as many steps as fit in it (at least one).
    /// - Parameters:
    ///   - requested: The steps asked for (`-j`).
    ///   - soft: The soft limit now, in descriptors.
    ///   - hard: The hard limit, in descriptors.
    ///   - open: The descriptors open now.
    public init(requested: Int, soft: Int, hard: Int, open: Int) {
        let reserve = open + Self.margin
        // Saturating: -j 9223372036854775807 asks for more than any limit, not an overflow.
        let (steps, overflow) = Self.perStep.multipliedReportingOverflow(by: max(0, requested))
        let needed = overflow || steps > Int.max - reserve ? Int.max : reserve + steps
        self.softBefore = soft
        self.soft = max(soft, min(hard, needed))
        self.hard = hard
        self.requested = requested
        self.open = open
        self.jobs = max(1, min(requested, (self.soft - reserve) / Self.perStep))
    }

    /// Why Testbed cannot work under these limits, as an error message that
    /// ends with the fix; nil when it can: a hard limit under `minimum`, or
    /// descriptors inherited open that leave less than Testbed's own
    /// `margin` and one step free.
    public var shortage: String? {
        if hard < Self.minimum {
            return "the file descriptor limit is \(hard) (ulimit -Hn), and testbed needs at least \(Self.minimum) for itself, "
                + "whatever -j is; raise it (ulimit -n 1024) and run again"
        }
        let needed = Self.margin + Self.perStep
        guard hard - open < needed else { return nil }
        return "the file descriptor limit is \(hard) (ulimit -Hn) and \(open) descriptors were open at start, and testbed needs "
            + "\(needed) free for itself, whatever -j is; start testbed with fewer descriptors open, or raise the limit (ulimit -n 1024)"
    }

    /// Whether fewer steps than asked fit.
    public var lowered: Bool { jobs < requested }

    /// The line `testbed run` prints once when `-j` was lowered.
    public var warning: String? {
        guard lowered else { return nil }
        return "testbed: -j \(requested) lowered to \(jobs): \(hard) file descriptors (ulimit -Hn)"
    }

    /// Reads this process' limits and open descriptors, raises its soft
    /// limit to what `requested` steps need (as far as the hard limit
    /// allows) and returns the budget. If the limits cannot be read, the
    /// budget is `requested` steps as they stand.
    /// - Parameter requested: The steps asked for (`-j`).
    /// - Returns: The budget, its `soft` now in force.
    public static func apply(requested: Int) -> DescriptorBudget {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            return DescriptorBudget(requested: requested, soft: Int.max / 2, hard: Int.max / 2, open: 0)
        }
        // RLIM_INFINITY (all ones: a hard limit of "unlimited") means fs.nr_open, the most a process may hold.
        let nrOpen = Int(String(decoding: ProcessSupervisor.readProcFile("/proc/sys/fs/nr_open"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1 << 20
        func count(_ value: rlim_t) -> Int { value > rlim_t(Int.max / 2) ? nrOpen : Int(value) }
        let soft = count(limit.rlim_cur)
        let hard = min(count(limit.rlim_max), nrOpen)
        var budget = DescriptorBudget(requested: requested, soft: soft, hard: hard, open: openDescriptors())
        if budget.soft != soft {
            limit.rlim_cur = rlim_t(budget.soft)
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) != 0 {
                budget = DescriptorBudget(requested: requested, soft: soft, hard: soft, open: openDescriptors())
            }
        }
        return budget
    }

    /// How many descriptors this process has open (entries of /proc/self/fd,
    /// less the one that reads it).
    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 16 }
        defer { closedir(directory) }
        let own = "\(dirfd(directory))"
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." && name != own { count += 1 }
        }
        return count
    }
}
