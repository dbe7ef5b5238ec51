import Foundation
import HostFacts
import Requirements

/// A grid host as `testbed hosts enroll` recorded it: when, its facts, its snapshot, and the Slurm features it was given.
public struct EnrolledHost: Sendable, Equatable {
    /// The Slurm node's name.
    public var name: String
    /// When it was enrolled.
    public var enrolled: Date
    /// The environment it was probed in (`local` for the probed host alone).
    public var environment: String
    /// Its facts as probed.
    public var facts: [Fact]
    /// Its snapshot (kernel, packages…, as a run takes it); nil when none could be taken.
    public var snapshot: RunSnapshot?
    /// The features derived from its facts (what a later enrolment replaces).
    public var derivedFeatures: [String]
    /// All the features the node was given (Slurm's configured ones and the derived ones).
    public var features: [String]

    /// Creates a host row.
    ///
    /// - Parameters:
    ///   - name: the node's name.
    ///   - enrolled: when.
    ///   - environment: the environment's name.
    ///   - facts: its facts.
    ///   - snapshot: its snapshot.
    ///   - derivedFeatures: the features from its facts.
    ///   - features: all its features.
    public init(name: String, enrolled: Date, environment: String, facts: [Fact], snapshot: RunSnapshot?,
                derivedFeatures: [String], features: [String]) {
        self.name = name
        self.enrolled = enrolled
        self.environment = environment
        self.facts = facts
        self.snapshot = snapshot
        self.derivedFeatures = derivedFeatures
        self.features = features
    }
}
