import Foundation
import Results

/// What differs between the states of two runs: the facts, packages,
/// modules, binaries and kernel command line of their snapshots, their
/// labels and the suite's commit (`testbed diff`, `testbed why`).
///
/// Every change is a value (`Change`); the text forms are made from them,
/// sorted by section then key, and bounded (`and 12 more`).
public struct SnapshotDiff: Sendable, Hashable {
    /// What one run recorded about where it ran.
    public struct State: Sendable, Hashable {
        /// Every fact recorded (name → value).
        public var facts: [String: String]
        /// The installed packages (name → version).
        public var packages: [String: String]
        /// The loaded kernel modules.
        public var modules: Set<String>
        /// The environment's binaries (name → version).
        public var binaries: [String: String]
        /// The kernel command line; nil when it was not read.
        public var kernelCommandLine: String?
        /// The run's labels (`--label KEY=VALUE`).
        public var labels: [String: String]
        /// The suite's git commit (full hash); nil when the suite was not in a git work tree.
        public var suiteCommit: String?
        /// Whether the suite's work tree had changes; nil when not in git.
        public var suiteDirty: Bool?
        /// Whether the run recorded a snapshot at all (runs recorded before
        /// snapshots were have none, nor labels nor commit: nothing is compared with them).
        public var hasSnapshot: Bool

        /// A state.
        ///
        /// - Parameters:
        ///   - facts: the facts (name → value).
        ///   - packages: the packages (name → version).
        ///   - modules: the loaded modules.
        ///   - binaries: the binaries (name → version).
        ///   - kernelCommandLine: the kernel command line.
        ///   - labels: the run's labels.
        ///   - suiteCommit: the suite's commit.
        ///   - suiteDirty: whether the suite's work tree had changes.
        ///   - hasSnapshot: whether a snapshot was recorded.
        public init(facts: [String: String] = [:], packages: [String: String] = [:], modules: Set<String> = [],
                    binaries: [String: String] = [:], kernelCommandLine: String? = nil, labels: [String: String] = [:],
                    suiteCommit: String? = nil, suiteDirty: Bool? = nil, hasSnapshot: Bool = true) {
            self.facts = facts
            self.packages = packages
            self.modules = modules
            self.binaries = binaries
            self.kernelCommandLine = kernelCommandLine
            self.labels = labels
            self.suiteCommit = suiteCommit
            self.suiteDirty = suiteDirty
            self.hasSnapshot = hasSnapshot
        }
    }

    /// Where a change is, in the order they are shown.
    public enum Section: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
        case facts
        case packages
        case modules
        case binaries
        case kernelCommandLine = "kernel_command_line"
        case labels
        case suiteCommit = "suite_commit"

        /// `kernel command line`, `suite commit`, `facts`…: for headings.
        public var title: String { rawValue.replacingOccurrences(of: "_", with: " ") }

        /// The order they are shown in: as declared.
        public static func < (lhs: Section, rhs: Section) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// One thing that differs.
    public struct Change: Sendable, Hashable {
        /// Where.
        public var section: Section
        /// The fact's, package's, module's, binary's or label's name; empty
        /// for the kernel command line and the suite commit.
        public var key: String
        /// The value in the first run; nil when it was absent (appeared).
        /// A module's value is `loaded`; the suite commit's is the hash, followed by ` (dirty)` when it was.
        public var old: String?
        /// The value in the second run; nil when it is absent (vanished).
        public var new: String?

        /// A change.
        ///
        /// - Parameters:
        ///   - section: where.
        ///   - key: the name (empty for the command line and the commit).
        ///   - old: the value before; nil when absent.
        ///   - new: the value after; nil when absent.
        public init(section: Section, key: String, old: String?, new: String?) {
            self.section = section
            self.key = key
            self.old = old
            self.new = new
        }

        /// `kernel 6.1.0-13 → 6.1.0-15`, `package libvirt0 9.0.0-4 → 9.0.0-5`, `fact kvm appeared (yes)`,
        /// `module kvm_intel no longer loaded`, `kernel command line +quiet −debug`, `suite commit 1a2b3c4 → 4d5e6f7 (dirty)`;
        /// an empty value as `""` (`label qemu 9.1 → ""`), a fact without a value as `present` (`fact LAB vanished (was present)`).
        public var text: String {
            // An empty value is shown: `""`, or `present` for a fact without a value (a tag such as a `provides:`).
            let shown = { (value: String) in value.isEmpty ? (self.section == .facts ? "present" : "\"\"") : SnapshotDiff.clipped(value) }
            let old = self.old.map(shown)
            let new = self.new.map(shown)
            switch section {
            case .modules:
                return "module \(key) " + (new == nil ? "no longer loaded" : "now loaded")
            case .kernelCommandLine:
                let before = (self.old ?? "").split(separator: " ")
                let after = (self.new ?? "").split(separator: " ")
                let removed = before.filter { !after.contains($0) }.map { "−" + $0 }
                let added = after.filter { !before.contains($0) }.map { "+" + $0 }
                let words = (added + removed).map(SnapshotDiff.clipped)
                return "kernel command line " + (words.isEmpty ? "\(old ?? "none") → \(new ?? "none")" : words.joined(separator: " "))
            case .suiteCommit:
                return "suite commit \(old.map(SnapshotDiff.shortCommit) ?? "none") → \(new.map(SnapshotDiff.shortCommit) ?? "none")"
            case .facts, .packages, .binaries, .labels:
                let noun = ["packages": "package", "binaries": "binary", "labels": "label", "facts": "fact"][section.rawValue] ?? ""
                switch (old, new) {
                case let (old?, new?):
                    // A changed fact reads best bare: `kernel 6.1.0-13 → 6.1.0-15`.
                    return (section == .facts ? "" : noun + " ") + "\(key) \(old) → \(new)"
                case let (nil, new?):
                    return "\(noun) \(key) " + (section == .packages ? "installed (\(new))" : "appeared (\(new))")
                case let (old?, nil):
                    return "\(noun) \(key) " + (section == .packages ? "removed (was \(old))" : "vanished (was \(old))")
                case (nil, nil):
                    return "\(noun) \(key)"
                }
            }
        }
    }

    /// Every change, sorted by section then key.
    public let changes: [Change]
    /// Whether the first run recorded a snapshot.
    public let oldHasSnapshot: Bool
    /// Whether the second run recorded a snapshot.
    public let newHasSnapshot: Bool

    /// What differs from `old` to `new`; nothing when either run recorded no
    /// snapshot (it was recorded before snapshots were; `missingNote` says so).
    ///
    /// - Parameters:
    ///   - old: the first (older) run's state.
    ///   - new: the second run's state.
    public init(from old: State, to new: State) {
        var changes: [Change] = []
        func compare(_ section: Section, _ a: [String: String], _ b: [String: String]) {
            for key in Set(a.keys).union(b.keys).sorted() where a[key] != b[key] {
                changes.append(Change(section: section, key: key, old: a[key], new: b[key]))
            }
        }
        // A run recorded before snapshots were has no labels nor commit either: nothing to compare.
        if old.hasSnapshot && new.hasSnapshot {
            compare(.facts, old.facts, new.facts)
            compare(.packages, old.packages, new.packages)
            compare(.modules, Dictionary(uniqueKeysWithValues: old.modules.map { ($0, "loaded") }),
                    Dictionary(uniqueKeysWithValues: new.modules.map { ($0, "loaded") }))
            compare(.binaries, old.binaries, new.binaries)
            if old.kernelCommandLine != new.kernelCommandLine {
                changes.append(Change(section: .kernelCommandLine, key: "", old: old.kernelCommandLine, new: new.kernelCommandLine))
            }
            compare(.labels, old.labels, new.labels)
            let commits = [old, new].map { state in state.suiteCommit.map { $0 + (state.suiteDirty == true ? " (dirty)" : "") } }
            if commits[0] != commits[1] {
                changes.append(Change(section: .suiteCommit, key: "", old: commits[0], new: commits[1]))
            }
        }
        self.changes = changes
        oldHasSnapshot = old.hasSnapshot
        newHasSnapshot = new.hasSnapshot
    }

    /// Whether nothing differs.
    public var isEmpty: Bool { changes.isEmpty }

    /// The changes of one section, sorted by key.
    ///
    /// - Parameter section: the section.
    /// - Returns: its changes.
    public func changes(in section: Section) -> [Change] { changes.filter { $0.section == section } }

    /// One line: `kernel 6.1.0-13 → 6.1.0-15; package libvirt0 9.0.0-4 → 9.0.0-5; and 3 more`,
    /// at most `limit` changes; `nothing recorded differs` when nothing does.
    ///
    /// - Parameter limit: how many changes to name (at least 1).
    /// - Returns: the line.
    public func summary(limit: Int = 6) -> String {
        guard !changes.isEmpty else { return missingNote ?? "nothing recorded differs" }
        let shown = changes.prefix(max(1, limit)).map(\.text)
        let more = changes.count - shown.count
        return shown.joined(separator: "; ") + (more > 0 ? "; and \(more) more" : "")
    }

    /// `the older run recorded no snapshot: nothing to compare` when a run has none; else nil.
    public var missingNote: String? {
        switch (oldHasSnapshot, newHasSnapshot) {
        case (true, true): return nil
        case (false, false): return "neither run recorded a snapshot: nothing to compare"
        case (false, true): return "the older run recorded no snapshot: nothing to compare"
        case (true, false): return "the newer run recorded no snapshot: nothing to compare"
        }
    }

    /// The changes by section, one per line, indented under the section's
    /// title, at most `perSection` per section (then `and N more`).
    ///
    /// - Parameter perSection: how many changes of a section to name (at least 1).
    /// - Returns: the lines (without line ends); `nothing recorded differs` alone when nothing does.
    public func lines(perSection: Int = 20) -> [String] {
        guard !changes.isEmpty else { return [summary()] }
        var lines: [String] = []
        for section in Section.allCases {
            let items = changes(in: section)
            guard !items.isEmpty else { continue }
            lines.append("\(section.title):")
            let shown = items.prefix(max(1, perSection))
            lines += shown.map { "  " + $0.text }
            if items.count > shown.count { lines.append("  and \(items.count - shown.count) more") }
        }
        return lines
    }

    /// A value shown in a line: at most 60 characters (then `…`), control characters escaped.
    static func clipped<Text: StringProtocol>(_ value: Text) -> String {
        let escaped = value.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined()
        return escaped.count > 60 ? String(escaped.prefix(59)) + "…" : escaped
    }

    /// `1a2b3c4 (dirty)` from a full hash followed by ` (dirty)` or not.
    static func shortCommit(_ value: String) -> String {
        let hash = value.prefix { $0.isHexDigit }
        return hash.count >= 12 ? String(hash.prefix(7)) + value.dropFirst(hash.count) : value
    }
}
