import Declarations

/// Whether a requirement holds, and if not, why in words.
public enum RequirementCheck: Sendable, Hashable {
    case met
    /// `reason` reads "needs qemu >= 8.2; this host has 7.2.9".
    case unmet(reason: String)

    public var isMet: Bool { self == .met }
}

extension Requirement {
    /// Checks the requirement against a fact lookup.
    public func check(_ lookup: (String) -> FactLookup) -> RequirementCheck {
        var explanations: [String] = []
        for alternative in alternatives {
            switch alternative.check(lookup(alternative.name)) {
            case .met: return .met
            case let .unmet(why): explanations.append(why)
            }
        }
        return .unmet(reason: "needs \(text); " + explanations.joined(separator: "; "))
    }
}

extension Alternative {
    /// Checks one alternative against what the host has; the unmet reason is
    /// the host's side only ("this host has 7.2.9").
    public func check(_ lookup: FactLookup) -> RequirementCheck {
        switch (self, lookup) {
        case (.present, .present(let fact)):
            if let value = fact.value, Alternative.falseWords.contains(value.lowercased()) {
                return .unmet(reason: "\(name) is \(value) on this host")
            }
            return .met
        case (.present, .absent(let reason)):
            return .unmet(reason: reason)
        case (.absent, .absent):
            return .met
        case (.absent, .present(let fact)):
            if let value = fact.value, Alternative.falseWords.contains(value.lowercased()) { return .met }
            return .unmet(reason: "this host has \(fact)")
        case (.compare(_, _, let wanted), .absent(let reason)):
            _ = wanted
            return .unmet(reason: reason)
        case let (.compare(name, op, wanted), .present(fact)):
            guard let value = fact.value else {
                return .unmet(reason: "\(name) is present on this host but has no value to compare")
            }
            let order = Alternative.compareValues(value, wanted)
            if op.holds(order: order) { return .met }
            return .unmet(reason: "this host has \(Alternative.display(value, like: wanted))")
        }
    }

    /// Whether a fact promised by a setup meets this alternative while planning.
    /// A promise without a value meets any comparison; `!NAME` is never met by a promise.
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
