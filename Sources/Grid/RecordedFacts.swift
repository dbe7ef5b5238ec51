import Foundation
import HostFacts
import Requirements

/// A grid node's facts as its enrolment recorded them (`testbed hosts enroll`), plus each of its current Slurm
/// features as a declared tag: what placement evaluates a test's requirements against, without reaching the node.
///
/// A fact the enrolment did not record is absent: for a name a probe can tell (`cmd:gdb`, `file:…`, `qemu`) the
/// reason says to enrol again (the probe may never have run there), for another name that it is not present on
/// the node.
public struct RecordedFacts: FactSource {
    /// The node's name.
    public let node: String
    /// When it was enrolled.
    public let enrolled: Date
    /// The environment it was enrolled in.
    public let environmentName: String
    /// The facts by name: the recorded ones, then the features not among them.
    let facts: [String: Fact]

    /// The facts of one enrolled node.
    ///
    /// - Parameters:
    ///   - node: the node's name.
    ///   - enrolled: when it was enrolled.
    ///   - environment: the environment it was enrolled in.
    ///   - facts: the facts its enrolment recorded.
    ///   - features: its Slurm features now, each taken as a declared tag unless a recorded fact has its name.
    public init(node: String, enrolled: Date, environment: String, facts: [Fact], features: [String]) {
        self.node = node
        self.enrolled = enrolled
        environmentName = environment
        var byName: [String: Fact] = [:]
        for fact in facts { byName[fact.name] = fact }
        for feature in features where byName[feature] == nil {
            var tag = Fact(name: feature, value: nil, source: "slurm feature of \(node)")
            tag.isDeclared = true
            byName[feature] = tag
        }
        self.facts = byName
    }

    /// The enrolment date as reasons show it (`2026-11-30 10:15 UTC`).
    var enrolledText: String {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return format.string(from: enrolled)
    }

    /// The recorded fact, or why it is absent.
    ///
    /// - Parameter name: a fact name.
    /// - Returns: the fact, or absent with a reason naming the node.
    public func lookup(_ name: String) -> FactLookup {
        if let fact = facts[name] { return .present(fact) }
        if HostProbe.isBuiltIn(name) {
            return .absent(reason: "\(name) was not recorded when \(node) was enrolled (\(enrolledText)); enrol it again")
        }
        return .absent(reason: "\(name) is not present on \(node)")
    }

    /// Every recorded fact and feature, sorted by name.
    /// - Returns: the facts.
    public func allFacts() -> [Fact] { facts.values.sorted { $0.name < $1.name } }

    /// The same as `allFacts()`: nothing is probed.
    /// - Returns: the facts.
    public func recordedFacts() -> [Fact] { allFacts() }

    /// Nothing to forget: nothing is probed.
    /// - Parameter names: ignored.
    public func invalidate(_ names: [String]) {}

    /// Nothing is probed here.
    /// - Parameter name: ignored.
    /// - Returns: false.
    public func canProbe(_ name: String) -> Bool { false }

    /// A built-in probe's name or a recorded fact's.
    /// - Parameter name: a fact name.
    /// - Returns: true when known.
    public func knows(_ name: String) -> Bool { facts[name] != nil || HostProbe.isBuiltIn(name) }

    /// The built-in names and the recorded ones.
    public var knownNames: [String] { HostProbe.builtInNames + facts.keys.sorted() }
}
