import HostFacts
import Requirements

/// The Slurm features a host gets from its facts when it is enrolled: its admin tags, `kvm`, `arch_ARCH`,
/// `kernel_MAJOR_MINOR`, `qemu_MAJOR_MINOR`; what a job's `--constraint` then asks for.
public struct NodeFeatures: Sendable, Hashable {
    /// The features, in the order: admin tags (sorted), `kvm`, arch, kernel, qemu.
    public var features: [String]
    /// What was left out, one phrase each (a tag that is no valid feature name, a tag with a version).
    public var leftOut: [String]

    /// The features of a host.
    ///
    /// - Parameters:
    ///   - tags: the environment's `provides:` tags (name, and its version when it has one).
    ///   - kvm: whether the kvm fact holds.
    ///   - arch: the `arch` fact (`x86_64`).
    ///   - kernel: the `kernel` fact (`6.18.44-fc-v857`).
    ///   - qemu: the `qemu` fact's version, nil when QEMU is absent.
    public init(tags: [(name: String, version: String?)], kvm: Bool, arch: String?, kernel: String?, qemu: String?) {
        var features: [String] = []
        var leftOut: [String] = []
        for tag in tags.sorted(by: { $0.name < $1.name }) {
            if let version = tag.version {
                leftOut.append("\(tag.name) = \(version) (a Slurm feature has no version)")
            } else if Self.isValidName(tag.name) {
                if !features.contains(tag.name) { features.append(tag.name) }
            } else {
                leftOut.append("\(tag.name) (a Slurm feature name holds only letters, digits and _)")
            }
        }
        if kvm { features.append("kvm") }
        if let arch, let name = Self.named("arch", arch) { features.append(name) }
        if let kernel, let version = Self.majorMinor(kernel) { features.append("kernel_" + version) }
        if let qemu, let version = Self.majorMinor(qemu) { features.append("qemu_" + version) }
        self.features = features
        self.leftOut = leftOut
    }

    /// The features of a host as an environment (the probed host behind it) describes it.
    ///
    /// - Parameter environment: the environment (`local` for the probed host alone).
    public init(environment: Environment) {
        let tags = environment.declared.values.filter { !$0.isOverride }.map { (name: $0.name, version: $0.value) }
        func value(_ name: String) -> String? { environment.lookup(name).fact.map { $0.value ?? "" } }
        let kvm = value("kvm").map { !["false", "no", "0"].contains($0.lowercased()) } ?? false
        self.init(tags: tags, kvm: kvm, arch: value("arch"), kernel: value("kernel"), qemu: value("qemu"))
    }

    /// Whether a name can be a Slurm feature as Testbed sets them: letters, digits and `_`, not empty.
    ///
    /// - Parameter name: the name.
    /// - Returns: true when it can.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// The feature that names one node (`host_node1`): every enrolled node has its own, and a grid run's shard asks
    /// for it (`--constraint=host_NODE`) rather than pinning the node with `-w`.
    ///
    /// - Parameter node: the node's name.
    /// - Returns: `host_` and the name, each character other than a letter, digit or `_` made `_`.
    public static func host(_ node: String) -> String { named("host", node) ?? "host_" }

    /// `prefix_value` with every character other than a letter, digit or `_` made `_`; nil for an empty value.
    static func named(_ prefix: String, _ value: String) -> String? {
        guard !value.isEmpty else { return nil }
        return prefix + "_" + String(value.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
    }

    /// `6_18` of `6.18.44-fc-v857` (the leading major.minor); nil when the text does not begin with one.
    static func majorMinor(_ version: String) -> String? {
        let parts = version.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let major = Int(parts[0]) else { return nil }
        let minor = parts[1].prefix { $0.isNumber }
        guard !minor.isEmpty else { return nil }
        return "\(major)_\(minor)"
    }

    /// A node's features after enrolment: what it has now without what an earlier enrolment derived (so what
    /// slurm.conf's `Features=` or an admin gave it), then the derived ones not among them.
    ///
    /// - Parameters:
    ///   - current: the node's available features now.
    ///   - previous: the features its previous enrolment derived (empty when it was never enrolled).
    ///   - derived: the features from its facts now.
    /// - Returns: (current − previous) ∪ derived, in that order.
    public static func merged(current: [String], previous: [String], derived: [String]) -> [String] {
        let kept = current.filter { !previous.contains($0) }
        return kept + derived.filter { !kept.contains($0) }
    }
}
