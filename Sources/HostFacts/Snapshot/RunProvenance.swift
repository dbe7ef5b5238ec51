/// Where and on what a run ran: the host's identity, its snapshot, the
/// user's labels and the suite's git revision. `SnapshotProbe` collects it
/// (labels aside: the command line gives them); the run records it.
public struct RunProvenance: Sendable, Equatable {
    /// The hostname; nil when unknown.
    public var host: String?
    /// `/etc/machine-id`, trimmed; nil when unreadable.
    public var machineID: String?
    /// The host's state; nil when none was taken.
    public var snapshot: RunSnapshot?
    /// `--label KEY=VALUE`, by key.
    public var labels: [String: String]
    /// The suite root's git commit (full hash); nil outside a git work tree.
    public var suiteCommit: String?
    /// Whether the suite's work tree had changes (`git status --porcelain` printed something); nil outside one.
    public var suiteDirty: Bool?

    /// A provenance from its parts; every part is unknown by default.
    ///
    /// - Parameters:
    ///   - host: the hostname.
    ///   - machineID: `/etc/machine-id`.
    ///   - snapshot: the host's state.
    ///   - labels: the user's labels.
    ///   - suiteCommit: the suite root's git commit.
    ///   - suiteDirty: whether its work tree had changes.
    public init(host: String? = nil, machineID: String? = nil, snapshot: RunSnapshot? = nil, labels: [String: String] = [:],
                suiteCommit: String? = nil, suiteDirty: Bool? = nil) {
        self.host = host
        self.machineID = machineID
        self.snapshot = snapshot
        self.labels = labels
        self.suiteCommit = suiteCommit
        self.suiteDirty = suiteDirty
    }
}
