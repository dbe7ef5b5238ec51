import Requirements

extension RequirementCheck {
    /// The host's side of an unmet check as `check` shows it after
    /// "needs REQUIREMENT; " ("this host has 7.2.9"); nil when met.
    public var hostSide: String? {
        guard case .unmet(let observed) = self else { return nil }
        return observed.map(\.description).joined(separator: "; ")
    }
}
