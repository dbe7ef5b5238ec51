import Foundation
import HostFacts
import Requirements
import Results
import TestSupport
import Testing

@Suite struct EnrolledHostStoreTests {
    func host(_ name: String, at seconds: Double, kernel: String) -> EnrolledHost {
        EnrolledHost(name: name, enrolled: Date(timeIntervalSince1970: seconds), environment: "lab",
                     facts: [Fact(name: "kernel", value: kernel, source: "uname -r")],
                     snapshot: RunSnapshot(facts: ["kernel": kernel]), derivedFeatures: ["kernel_" + kernel.replacingOccurrences(of: ".", with: "_")],
                     features: ["lab_a", "kernel_" + kernel.replacingOccurrences(of: ".", with: "_")])
    }

    @Test func anEnrolmentIsReadBackAndTheNextReplacesIt() throws {
        let tree = try TemporaryTree()
        let store = try SQLiteRunStore(directory: tree.path)
        #expect(try store.enrolledHosts().isEmpty)
        try store.enrol(host("node2", at: 1_800_000_000, kernel: "6.1"))
        try store.enrol(host("node1", at: 1_800_000_001, kernel: "6.1"))
        try store.enrol(host("node2", at: 1_800_000_002, kernel: "6.18"))
        let hosts = try store.enrolledHosts()
        #expect(hosts.map(\.name) == ["node1", "node2"])
        #expect(hosts[1] == host("node2", at: 1_800_000_002, kernel: "6.18"))
        // read again by a new store on the same file
        let again = try SQLiteRunStore(directory: tree.path, create: false)
        #expect(try again.enrolledHosts().map(\.derivedFeatures) == [["kernel_6_1"], ["kernel_6_18"]])
    }
}
