import Declarations

/// Whether a requirement holds, and if not, what the host showed instead.
public enum RequirementCheck: Sendable, Hashable {
    /// Every alternative it needs is there (one suffices).
    case met
    /// What the host has for each alternative of the requirement, in the
    /// order written (`qemu >= 8.2 | cmd:qemu-kvm`: two observations).
    case unmet([Observation])

    /// Whether the requirement holds.
    public var isMet: Bool { self == .met }
}

/// What the host showed for one alternative of a requirement it does not
/// meet: a value, rendered to words only where it is shown
/// (`description`: "this host has 7.2.9").
public enum Observation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The host does not have the fact; the fact source's own words
    /// (`FactLookup.absent`), e.g. "qemu is not installed on this host (…)".
    case absent(String)
    /// A flag the host has but turned off (`kvm` is `0`, `facts: {kvm: false}`).
    case switchedOff(name: String, value: String)
    /// `!NAME`, and the host has the fact.
    case present(Fact)
    /// A comparison with a fact the host has without a value.
    case noValue(name: String)
    /// A comparison that does not hold: the host's fact, and its value as the
    /// requirement writes it (`8 GiB (8589934592 bytes)` for a size in units).
    case differs(Fact, shown: String)

    /// The host's side in words: "this host has 7.2.9", or for a fact an environment file declares
    /// "the environment declares 20G (lab.yaml:5)".
    public var description: String {
        switch self {
        case .absent(let reason): reason
        case let .switchedOff(name, value): "\(name) is \(value) on this host"
        case .present(let fact) where fact.isDeclared: "the environment declares \(fact) (\(fact.source))"
        case .present(let fact): "this host has \(fact)"
        case .noValue(let name): "\(name) is present on this host but has no value to compare"
        case .differs(let fact, let shown) where fact.isDeclared: "the environment declares \(shown) (\(fact.source))"
        case .differs(_, let shown): "this host has \(shown)"
        }
    }
}

extension Requirement {
    /// Checks the requirement against a fact lookup.
    /// - Parameter lookup: what the host has for a fact name.
    /// - Returns: `.met` when any alternative holds, otherwise one observation per alternative.
    public func check(_ lookup: (String) -> FactLookup) -> RequirementCheck {
        var observations: [Observation] = []
        for alternative in alternatives {
            switch alternative.check(lookup(alternative.name)) {
            case .met: return .met
            case let .unmet(observed): observations += observed
            }
        }
        return .unmet(observations)
    }
}

extension Alternative {
    /// Checks one alternative against what the host has.
    /// - Parameter lookup: the host's answer for the alternative's fact.
    /// - Returns: `.met`, or `.unmet` with the one observation of the host's side.
    public func check(_ lookup: FactLookup) -> RequirementCheck {
        switch (self, lookup) {
        case (.present, .present(let fact)):
            if let value = fact.value, Alternative.falseWords.contains(value.lowercased()) {
                return .unmet([.switchedOff(name: name, value: value)])
            }
            return .met
        case (.present, .absent(let reason)):
            return .unmet([.absent(reason)])
        case (.absent, .absent):
            return .met
        case (.absent, .present(let fact)):
            if let value = fact.value, Alternative.falseWords.contains(value.lowercased()) { return .met }
            return .unmet([.present(fact)])
        case (.compare, .absent(let reason)):
            return .unmet([.absent(reason)])
        case let (.compare(name, op, wanted), .present(fact)):
            guard let value = fact.value else {
                return .unmet([.noValue(name: name)])
            }
            let order = Alternative.compareValues(value, wanted)
            if op.holds(order: order) { return .met }
            return .unmet([.differs(fact, shown: Alternative.display(value, like: wanted))])
        }
    }

    /// Whether a fact promised by a setup meets this alternative while planning.
    /// A promise without a value meets any comparison; `!NAME` is never met by a promise.
    ///
    /// - Parameter value: The value the setup promises (`provides: {kernel: 6.8}`), or nil when it promises the fact without one.
    /// - Returns: True for `NAME`, false for `!NAME`; for a comparison, true without a value, else whether the value satisfies it.
    public func isMet(byPromise value: String?) -> Bool {
        switch self {
        case .present: return true
        case .absent: return false
        case let .compare(_, op, wanted):
            guard let value else { return true }
            return op.holds(order: Alternative.compareValues(value, wanted))
        }
    }

    /// Values that turn a flag off: `facts: {kvm: false}`.
    public static let falseWords: Set<String> = ["false", "no", "off", "n", "0"]

    /// Compares a fact value with the wanted value: as sizes when either side
    /// carries a unit and both are sizes, otherwise as versions.
    ///
    /// - Parameters:
    ///   - value: The fact's value (`16G`, `6.8.0-45-generic`).
    ///   - wanted: The value the requirement names.
    /// - Returns: -1, 0 or 1 as `value` is below, equal to or above `wanted` (sizes by bytes, 1024-based units; else as versions).
    public static func compareValues(_ value: String, _ wanted: String) -> Int {
        if let a = Size(parsing: value), let b = Size(parsing: wanted), a.hasUnit || b.hasUnit {
            return a == b ? 0 : (a < b ? -1 : 1)
        }
        return Version.compare(Version(value), Version(wanted))
    }

    /// Shows a value the way the requirement writes it: sizes in units.
    static func display(_ value: String, like wanted: String) -> String {
        if let size = Size(parsing: value), let want = Size(parsing: wanted), want.hasUnit, !size.hasUnit {
            return "\(size) (\(value) bytes)"
        }
        return value
    }
}
