import Foundation

/// How many steps may run at once without Testbed running out of file
/// descriptors, and the soft limit (`ulimit -Sn`) that takes.
///
/// A running step holds a pidfd (its exit, in `ExitWatcher`) and, while it
/// starts, its output file; `perStep` counts twice that, for the run
/// directory's handles and a reason read back. `reserve` is what the run holds
/// whatever `-j` is (the descriptors open at start, the database and its WAL,
/// the epoll set, the guard's pipe, probes, reports) with a margin.
///
/// The soft limit is raised only as far as `-j` needs (up to the hard limit),
/// not to the hard limit: tests inherit it, and a hard limit of 2^20 or more
/// as a soft limit slows every program that closes descriptors one by one up
/// to it and breaks those that use `select(2)`.
public struct DescriptorBudget: Sendable, Equatable {
    /// Descriptors one running step may hold.
    public static let perStep = 4
    /// Descriptors kept free beyond those open at start.
    public static let margin = 64

    /// The soft limit before and after `apply` (`ulimit -Sn`).
    public var softBefore: Int
    public var soft: Int
    /// The hard limit (`ulimit -Hn`), bounded by the kernel's `fs.nr_open`.
    public var hard: Int
    /// The steps asked for (`-j`) and the steps that fit.
    public var requested: Int
    public var jobs: Int

    /// The budget for `requested` steps with these limits and `open`
    /// descriptors in use: the soft limit raised to what they need (never
    /// above `hard`, never lowered), and as many steps as fit in it (at least one).
    public init(requested: Int, soft: Int, hard: Int, open: Int) {
        let reserve = open + Self.margin
        let needed = reserve + Self.perStep * requested
        self.softBefore = soft
        self.soft = max(soft, min(hard, needed))
        self.hard = hard
        self.requested = requested
        self.jobs = max(1, min(requested, (self.soft - reserve) / Self.perStep))
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

    /// How many descriptors this process has open (entries of /proc/self/fd).
    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 16 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != 0x2E { count += 1 }  // not "." or ".."
        }
        return count
    }
}
