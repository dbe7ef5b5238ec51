import Foundation

/// What a grid host can do now, from its Slurm node state: take jobs (online), not answer (offline), or wait
/// for an admin (halted, drained with a reason).
public enum HostStatus: Sendable, Hashable {
    /// The node takes jobs (idle, mixed, allocated, completing).
    case online
    /// The node does not answer or failed (its state words: DOWN, NOT_RESPONDING, FAIL, UNKNOWN…).
    case offline([String])
    /// The node is drained (DRAIN, DRAINING, DRAINED) until `hosts resume`: why, since when, and the Testbed run
    /// that halted it (nil when the reason is not Testbed's own form).
    case halted(reason: String, since: Date?, byRun: String?)

    /// The status's word: `online`, `offline` or `halted`.
    public var word: String {
        switch self {
        case .online: "online"
        case .offline: "offline"
        case .halted: "halted"
        }
    }

    /// The status of a node whose state words are `states` (from `State=`, e.g. `IDLE`, `DRAIN`, `NOT_RESPONDING`).
    ///
    /// A drained node is halted whatever else it is (only a resume clears a drain); else a node that is down,
    /// not responding, failed or unknown is offline; else it is online.
    ///
    /// - Parameters:
    ///   - states: the state words.
    ///   - reason: the node's `Reason=` without its `[user@time]` suffix.
    ///   - since: the time of the reason.
    /// - Returns: the status.
    public static func of(states: [String], reason: String?, since: Date?) -> HostStatus {
        let words = Set(states)
        if !words.isDisjoint(with: ["DRAIN", "DRAINING", "DRAINED"]) {
            let reason = reason ?? ""
            return .halted(reason: reason, since: since, byRun: TestbedReason(reason)?.runID)
        }
        if !words.isDisjoint(with: ["DOWN", "NOT_RESPONDING", "FAIL", "FAILING", "UNKNOWN", "NO_RESPOND", "POWERED_DOWN"]) {
            return .offline(states)
        }
        return .online
    }
}

/// Testbed's own drain reason, `testbed: setup NAME failed in run ID`, and other `testbed: TEXT` reasons
/// (an admin's `hosts drain`).
public struct TestbedReason: Sendable, Hashable {
    /// The prefix of every reason Testbed gives a drain.
    public static let prefix = "testbed: "
    /// The setup that failed; nil for a reason of another form.
    public let setup: String?
    /// The run the setup failed in; nil for a reason of another form.
    public let runID: String?
    /// The text after `testbed: `.
    public let text: String

    /// The reason a failed setup drains its node with.
    ///
    /// - Parameters:
    ///   - setup: the setup's name.
    ///   - runID: the run's id.
    /// - Returns: `testbed: setup NAME failed in run ID`.
    public static func setupFailed(_ setup: String, inRun runID: String) -> String {
        "\(prefix)setup \(setup) failed in run \(runID)"
    }

    /// Reads a reason; nil when it does not begin with `testbed: `.
    /// - Parameter reason: a node's reason, without the `[user@time]` suffix.
    public init?(_ reason: String) {
        guard reason.hasPrefix(Self.prefix) else { return nil }
        text = String(reason.dropFirst(Self.prefix.count))
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if words.count == 6, words[0] == "setup", words[2] == "failed", words[3] == "in", words[4] == "run", !words[5].isEmpty {
            setup = words[1]
            runID = words[5]
        } else {
            setup = nil
            runID = nil
        }
    }
}
