@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

@Suite("CPU budget: the default -j")
struct CPUBudgetTests {
    @Test("the affinity mask and the cgroup quota, the smaller, rounded up", arguments: [
        // (files of the fixture /, affinity, expected count, expected quota)
        ([String: String](), 8, 8, Double?.none),
        (["proc/self/cgroup": "0::/ci/job\n", "sys/fs/cgroup/ci/job/cpu.max": "max 100000\n"], 8, 8, nil),
        (["proc/self/cgroup": "0::/ci/job\n", "sys/fs/cgroup/ci/job/cpu.max": "150000 100000\n"], 8, 2, 1.5),
        // The smallest quota on the way up to the root counts.
        (["proc/self/cgroup": "0::/ci/job\n", "sys/fs/cgroup/ci/job/cpu.max": "400000 100000\n",
          "sys/fs/cgroup/ci/cpu.max": "200000 100000\n"], 8, 2, 2),
        // A cgroup namespace shows "/": the mount's own file.
        (["proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "300000 100000\n"], 8, 3, 3),
        // cgroup v1 (docker --cpus on an older host), cpu and cpuacct mounted together.
        (["proc/self/cgroup": "4:cpu,cpuacct:/docker/abc\n1:memory:/docker/abc\n",
          "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
          "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"], 4, 1, 0.5),
        (["proc/self/cgroup": "4:cpu,cpuacct:/\n", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
          "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"], 4, 4, nil),
        // A quota larger than the mask: the mask wins.
        (["proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "1600000 100000\n"], 2, 2, 16),
    ])
    func budget(files: [String: String], affinity: Int, count: Int, quota: Double?) throws {
        let tree = try TemporaryTree(files)
        let budget = CPUBudget(root: tree.path, affinity: affinity)
        #expect(budget.quota() == quota)
        #expect(budget.count == count)
    }

    @Test("this process: at least one, at most the online CPUs")
    func here() {
        let count = CPUBudget().count
        #expect(count >= 1)
        #expect(count <= ProcessInfo.processInfo.processorCount)
    }
}
