import Foundation
@testable import HostFacts
import TestSupport
import Testing

@Suite("Environments: tags added for a grid node")
struct EnvironmentTagsTests {
    @Test("a node's features become tags with their origin; the file's declarations and probed names stay")
    func addingTags() throws {
        let tree = try TemporaryTree(["lab.yaml": "provides: [DELL_R420]\nfacts:\n  gpu: nvidia\n"])
        let env = try Environment(contentsOf: tree["lab.yaml"], host: HostProbe(root: tree.path, effectiveUserID: 0, path: []))
        let tagged = env.addingTags(["lab_a", "gpu", "DELL_R420", "kvm"], origin: "slurm feature of node1")
        #expect(tagged.lookup("lab_a").fact?.source == "slurm feature of node1")
        #expect(tagged.lookup("lab_a").fact?.isDeclared == true)
        #expect(tagged.lookup("gpu").fact?.value == "nvidia", "the file's fact wins")
        #expect(tagged.lookup("DELL_R420").fact?.source == tree["lab.yaml"] + ":1")
        #expect(tagged.declared["kvm"] == nil, "kvm is the probe's to tell")
        #expect(env.lookup("lab_a").fact == nil, "the environment it came from is unchanged")
        #expect(tagged.environmentName == "lab")
    }
}
