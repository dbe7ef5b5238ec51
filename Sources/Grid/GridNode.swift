import Foundation

/// One Slurm node as `scontrol show node -o` reports it: its name, state words, features and drain reason.
public struct GridNode: Sendable, Hashable {
    /// The node's name (`NodeName=`).
    public var name: String
    /// The state words of `State=` (`IDLE`, `MIXED`, `DRAIN`, `DOWN`, `NOT_RESPONDING`…), in Slurm's order;
    /// a trailing `*` (not responding) is the word `NOT_RESPONDING`.
    public var states: [String]
    /// `AvailableFeatures=`, in Slurm's order (empty for `(null)`).
    public var availableFeatures: [String]
    /// `ActiveFeatures=`, in Slurm's order (empty for `(null)`).
    public var activeFeatures: [String]
    /// `Reason=` without its `[user@time]` suffix; nil when the node has none.
    public var reason: String?
    /// When the reason was set (slurmctld's local time); nil when unknown.
    public var reasonTime: Date?
    /// Who set the reason; nil when unknown.
    public var reasonUser: String?

    /// Creates a node.
    ///
    /// - Parameters:
    ///   - name: the node's name.
    ///   - states: its state words.
    ///   - availableFeatures: its available features.
    ///   - activeFeatures: its active features.
    ///   - reason: its drain or down reason.
    ///   - reasonTime: when the reason was set.
    ///   - reasonUser: who set it.
    public init(name: String, states: [String], availableFeatures: [String] = [], activeFeatures: [String] = [],
                reason: String? = nil, reasonTime: Date? = nil, reasonUser: String? = nil) {
        self.name = name
        self.states = states
        self.availableFeatures = availableFeatures
        self.activeFeatures = activeFeatures
        self.reason = reason
        self.reasonTime = reasonTime
        self.reasonUser = reasonUser
    }

    /// The node's status from its state words and reason.
    public var status: HostStatus { HostStatus.of(states: states, reason: reason, since: reasonTime) }

    /// Every node of `scontrol show node -o`'s output (one line per node, `Key=Value` pairs separated by spaces).
    ///
    /// A value runs to the next word of the form `Key=` (`OS=Linux 6.1.0 #1 SMP…` holds spaces); `Reason=`
    /// runs to its `[user@time]` suffix, so a reason may hold `=` too.
    ///
    /// - Parameter output: the command's standard output.
    /// - Returns: the nodes, in Slurm's order.
    /// - Throws: `GridError.unexpectedOutput` for a non-empty line without `NodeName=` or `State=`.
    public static func parse(scontrolShowNode output: String) throws(GridError) -> [GridNode] {
        var nodes: [GridNode] = []
        for line in output.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let pairs = keyValues(String(line))
            guard let name = pairs["NodeName"], let state = pairs["State"], !name.isEmpty, !state.isEmpty else {
                throw .unexpectedOutput("scontrol show node -o", String(line))
            }
            var node = GridNode(name: name, states: stateWords(state),
                                availableFeatures: features(pairs["AvailableFeatures"]),
                                activeFeatures: features(pairs["ActiveFeatures"]))
            if let reason = pairs["Reason"] { (node.reason, node.reasonUser, node.reasonTime) = splitReason(reason) }
            nodes.append(node)
        }
        return nodes
    }

    /// The words of `State=`: `IDLE+DRAIN` → IDLE, DRAIN; `DOWN*` → DOWN, NOT_RESPONDING.
    static func stateWords(_ state: String) -> [String] {
        var words: [String] = []
        for part in state.split(separator: "+") {
            var word = String(part)
            var notResponding = false
            while let last = word.last, "*~#!%$@^-".contains(last) {
                if last == "*" { notResponding = true }
                word.removeLast()
            }
            if !word.isEmpty, !words.contains(word) { words.append(word) }
            if notResponding, !words.contains("NOT_RESPONDING") { words.append("NOT_RESPONDING") }
        }
        return words
    }

    /// A feature list (`lab_b,gpu`); empty for `(null)` or nothing.
    static func features(_ value: String?) -> [String] {
        guard let value, value != "(null)" else { return [] }
        return value.split(separator: ",").map(String.init).filter { !$0.isEmpty }
    }

    /// A reason without its `[user@2026-11-30T07:40:54]` suffix, the user, and the time (local time).
    static func splitReason(_ value: String) -> (String?, String?, Date?) {
        var reason = value
        var user: String?
        var time: Date?
        if value.hasSuffix("]"), let open = value.range(of: " [", options: .backwards) {
            let inside = value[open.upperBound..<value.index(before: value.endIndex)]
            if let at = inside.lastIndex(of: "@") {
                user = String(inside[..<at])
                time = reasonTimeFormat.date(from: String(inside[inside.index(after: at)...]))
                reason = String(value[..<open.lowerBound])
            }
        }
        return (reason == "(null)" || reason.isEmpty ? nil : reason, user, time)
    }

    /// Slurm's timestamps (`2026-11-30T07:40:54`, slurmctld's local time).
    nonisolated(unsafe) static let reasonTimeFormat: DateFormatter = {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        format.timeZone = TimeZone.current
        return format
    }()

    /// The `Key=Value` pairs of one line. A word that begins with `Key=` starts a pair, other words continue the
    /// value before; `Reason=` takes everything up to its `[user@time]` suffix.
    static func keyValues(_ line: String) -> [String: String] {
        var pairs: [String: String] = [:]
        var key: String?
        var value = ""
        func close() {
            if let key { pairs[key] = value.trimmingCharacters(in: .whitespaces) }
            key = nil
            value = ""
        }
        var rest = Substring(line)
        while !rest.isEmpty {
            let wordEnd = rest.firstIndex(of: " ") ?? rest.endIndex
            let word = rest[..<wordEnd]
            if let equals = word.firstIndex(of: "="), isKey(word[..<equals]) {
                close()
                key = String(word[..<equals])
                if key == "Reason", let end = reasonEnd(rest[rest.index(after: equals)...]) {
                    value = String(rest[rest.index(after: equals)..<end])
                    close()
                    rest = rest[end...].drop { $0 == " " }
                    continue
                }
                value = String(word[word.index(after: equals)...])
            } else if key != nil {
                value += " " + word
            }
            rest = rest[wordEnd...].drop { $0 == " " }
        }
        close()
        return pairs
    }

    /// Where a reason ends: just after its ` [user@time]` suffix; nil when it has none.
    static func reasonEnd(_ text: Substring) -> Substring.Index? {
        var search = text.startIndex
        while let open = text[search...].range(of: " [") {
            if let close = text[open.upperBound...].firstIndex(of: "]"), let at = text[open.upperBound..<close].lastIndex(of: "@"),
               reasonTimeFormat.date(from: String(text[text.index(after: at)..<close])) != nil,
               text.index(after: close) == text.endIndex || text[text.index(after: close)] == " " {
                return text.index(after: close)
            }
            search = open.upperBound
        }
        return nil
    }

    /// Whether a word is a key: a letter, then letters, digits or `_`.
    static func isKey(_ word: Substring) -> Bool {
        guard let first = word.first, first.isASCII, first.isLetter else { return false }
        return word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}
