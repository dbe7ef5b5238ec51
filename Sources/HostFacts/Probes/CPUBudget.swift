import CShim
import Declarations
import Foundation
import Requirements

/// How many CPUs this process may use — what `testbed run -j` defaults to:
/// the smaller of its affinity mask (`taskset`, a cpuset) and its cgroup's
/// CPU quota (`docker run --cpus`, systemd's `CPUQuota=`), rounded up, at
/// least 1. Not every CPU of the machine: a CI job given 2 CPUs of a
/// 64-CPU host runs 2 steps at once.
///
/// Sources: sched_getaffinity(2); cgroup v2 `cpu.max` ("QUOTA PERIOD" or
/// "max PERIOD", Documentation/admin-guide/cgroup-v2.rst); cgroup v1
/// `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: no quota,
/// Documentation/scheduler/sched-bwc.rst). The quota is the smallest along
/// the path from the process' cgroup up to the root.
public struct CPUBudget: Sendable {
    /// The directory that stands for `/` (fixture trees in tests).
    public let root: String
    /// CPUs in the affinity mask; nil asks the kernel.
    public let affinity: Int?

    /// A budget read below `root`.
    /// - Parameters:
    ///   - root: The directory that stands for `/`.
    ///   - affinity: The CPUs in the affinity mask; nil asks the kernel (sched_getaffinity).
    public init(root: String = "/", affinity: Int? = nil) {
        self.root = root
        self.affinity = affinity
    }

    /// The CPUs this process may use, at least 1.
    public var count: Int {
        let mask = affinity ?? Int(testbed_affinity_count())
        var budget = mask > 0 ? mask : ProcessInfo.processInfo.activeProcessorCount
        if let quota = quota() { budget = min(budget, Int(quota.rounded(.up))) }
        return max(1, budget)
    }

    /// The cgroup CPU quota in CPUs (1.5 for "150000 100000"), nil when there is none.
    /// - Returns: Quota over period of the smallest quota from this process's
    ///   cgroup up to the root (`/proc/self/cgroup`, then cpu.max or cpu.cfs_quota_us).
    public func quota() -> Double? {
        guard let membership = read("/proc/self/cgroup") else { return nil }
        var quotas: [Double] = []
        for line in membership.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let controllers = fields[1]
            let path = String(fields[2])
            if fields[0] == "0" && controllers.isEmpty {
                quotas += walk("/sys/fs/cgroup", path) { directory in
                    guard let words = read(directory + "/cpu.max")?.split(separator: " "), words.count == 2,
                          let quota = Double(words[0]), let period = Double(words[1]), period > 0 else { return nil }
                    return quota / period
                }
            } else if controllers.split(separator: ",").contains("cpu") {
                for mount in ["/sys/fs/cgroup/" + controllers, "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"] {
                    let found = walk(mount, path) { directory in
                        guard let quota = read(directory + "/cpu.cfs_quota_us").flatMap({ Double($0) }), quota > 0,
                              let period = read(directory + "/cpu.cfs_period_us").flatMap({ Double($0) }), period > 0
                        else { return nil }
                        return quota / period
                    }
                    if !found.isEmpty || exists(mount) {
                        quotas += found
                        break
                    }
                }
            }
        }
        return quotas.min()
    }

    /// The quotas `limit` reads from the cgroup's directory and each parent
    /// up to the mount; the mount's own when the path is not below it (a
    /// cgroup namespace shows "/").
    func walk(_ mount: String, _ path: String, _ limit: (String) -> Double?) -> [Double] {
        var found: [Double] = []
        var components = path.split(separator: "/").map(String.init)
        if !exists(mount + "/" + components.joined(separator: "/")) { components = [] }
        while true {
            let directory = components.isEmpty ? mount : mount + "/" + components.joined(separator: "/")
            if let value = limit(directory) { found.append(value) }
            guard !components.isEmpty else { return found }
            components.removeLast()
        }
    }

    func resolve(_ path: String) -> String {
        root == "/" ? path : (root.hasSuffix("/") ? String(root.dropLast()) : root) + path
    }

    func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: resolve(path)) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: resolve(path)) }
}
