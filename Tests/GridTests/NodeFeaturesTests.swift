import Testing

@testable import Grid

@Suite struct NodeFeaturesTests {
    @Test func tagsThenKvmArchKernelAndQemu() {
        let features = NodeFeatures(tags: [(name: "DELL_R420", version: nil), (name: "BIOS-2", version: nil), (name: "virtiowin", version: "2013-10-24")],
                                    kvm: true, arch: "x86_64", kernel: "6.18.44-fc-v857", qemu: "8.2.2")
        #expect(features.features == ["DELL_R420", "kvm", "arch_x86_64", "kernel_6_18", "qemu_8_2"])
        #expect(features.leftOut == ["BIOS-2 (a Slurm feature name holds only letters, digits and _)",
                                     "virtiowin = 2013-10-24 (a Slurm feature has no version)"])
    }

    @Test func noKvmNoQemuAndAnUnreadableKernel() {
        let features = NodeFeatures(tags: [], kvm: false, arch: "aarch64", kernel: "weird", qemu: nil)
        #expect(features.features == ["arch_aarch64"])
        #expect(features.leftOut.isEmpty)
    }

    @Test(arguments: [("6.1.0-13-amd64", "6_1"), ("8.2.2", "8_2"), ("10.0", "10_0"), ("7", nil), ("x.1", nil), ("6.", nil)])
    func majorMinor(version: String, expected: String?) {
        #expect(NodeFeatures.majorMinor(version) == expected)
    }

    @Test func mergedKeepsWhatSlurmGaveAndDropsWhatAnEarlierEnrolmentDerived() {
        let merged = NodeFeatures.merged(current: ["lab_b", "gpu", "kvm", "kernel_6_17"], previous: ["kvm", "kernel_6_17"],
                                         derived: ["gpu", "kvm", "kernel_6_18"])
        #expect(merged == ["lab_b", "gpu", "kvm", "kernel_6_18"])
    }
}
