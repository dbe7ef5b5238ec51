import Foundation
import HostFacts
import Requirements
import Results
import TestSupport
import Testing

/// Enrolled grid hosts (schema v7) in both stores (SQLite, and PostgreSQL when `TESTBED_TEST_DATABASE` is set).
@Suite("Both stores: enrolled grid hosts")
struct BothStoresHostsTests {
    static func host(_ name: String, at seconds: Double, kernel: String) -> EnrolledHost {
        let feature = "kernel_" + kernel.replacingOccurrences(of: ".", with: "_")
        return EnrolledHost(name: name, enrolled: Date(timeIntervalSince1970: seconds + 0.25), environment: "lab",
                            facts: [Fact(name: "kernel", value: kernel, source: "uname -r"), Fact(name: "gpu", value: nil, source: "lspci")],
                            snapshot: RunSnapshot(facts: ["kernel": kernel]), derivedFeatures: [feature, "kvm"],
                            features: ["lab_a", feature, "kvm"])
    }

    @Test("an enrolment is read back whole, the next one of the node replaces it", arguments: StoreKind.available)
    func readBackAndReplaced(_ kind: StoreKind) async throws {
        let tree = try TemporaryTree()
        let store = try kind.open(tree)
        #expect(try store.enrolledHosts().isEmpty)
        // A run with the snapshot the host will have: the snapshot row is shared, not written twice.
        await recordRun(store, id: "r1", hour: 1, host: "node2", outcomes: [("/t", .pass)], snapshot: RunSnapshot(facts: ["kernel": "6.18"]))
        try store.enrol(Self.host("node2", at: 1_800_000_000, kernel: "6.1"))
        try store.enrol(Self.host("Node3", at: 1_800_000_001, kernel: "6.1"))
        try store.enrol(Self.host("node1", at: 1_800_000_001, kernel: "6.1"))
        try store.enrol(Self.host("node2", at: 1_800_000_002, kernel: "6.18"))
        let hosts = try store.enrolledHosts()
        #expect(hosts.map(\.name) == ["Node3", "node1", "node2"])
        let node2 = Self.host("node2", at: 1_800_000_002, kernel: "6.18")
        #expect(hosts.last == node2)
        #expect(hosts.map(\.derivedFeatures) == [["kernel_6_1", "kvm"], ["kernel_6_1", "kvm"], ["kernel_6_18", "kvm"]])
        #expect(try store.snapshot(ofRun: "r1") == node2.snapshot)
    }
}
