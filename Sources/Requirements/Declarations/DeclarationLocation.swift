/// Where something was declared: a file as the user named it, and a line.
public struct DeclarationLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public let file: String
    public let line: Int?

    public init(file: String, line: Int?) {
        self.file = file
        self.line = line
    }

    public var description: String {
        if let line { return "\(file):\(line)" }
        return file
    }

    /// An error at this place.
    public func error(_ message: String) -> DeclarationError {
        DeclarationError(file: file, line: line, message: message)
    }
}

/// The longest timeout a declaration may write: ten years (longer ones
/// would overflow the clock; write 0 for no limit).
public let longestTimeoutSeconds = 315_360_000.0

/// Parses a timeout: `90`, `90s`, `2m`, `1h30m`, `500ms`, `1.5m`; `0` is
/// zero (no limit, where a timeout is declared). Nil when the text is not
/// one, is negative, or is longer than ten years.
public func parseTimeout(_ text: String) -> Duration? {
    let trimmed = text.trimmingWhitespace().lowercased()
    guard !trimmed.isEmpty else { return nil }
    if let seconds = Double(trimmed), seconds >= 0, seconds <= longestTimeoutSeconds {
        return milliseconds(seconds)
    }
    var total = 0.0
    var number = ""
    var unit = ""
    func flush() -> Bool {
        guard let value = Double(number), value.isFinite else { return false }
        let scale: Double
        switch unit {
        case "ms": scale = 0.001
        case "s", "sec", "secs": scale = 1
        case "m", "min", "mins": scale = 60
        case "h", "hr", "hrs": scale = 3600
        case "d": scale = 86400
        default: return false
        }
        total += value * scale
        number = ""
        unit = ""
        return true
    }
    for c in trimmed where c != " " {
        if c.isNumber || c == "." {
            if !unit.isEmpty { guard flush() else { return nil } }
            number.append(c)
        } else if c.isLetter {
            guard !number.isEmpty else { return nil }
            unit.append(c)
        } else {
            return nil
        }
    }
    guard flush(), total >= 0, total <= longestTimeoutSeconds else { return nil }
    return milliseconds(total)
}

/// Whole milliseconds, rounded up: a timeout above zero never becomes 0 (no limit).
private func milliseconds(_ seconds: Double) -> Duration {
    .milliseconds(Int64((seconds * 1000).rounded(.up)))
}

/// A duration as a user writes it: `10m`, `90s`, `1h30m`, `1.5s`.
public func formatTimeout(_ duration: Duration) -> String {
    let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    if ms % 1000 != 0 { return ms < 1000 ? "\(ms)ms" : "\(Double(ms) / 1000)s" }
    let s = ms / 1000
    if s == 0 { return "0s" }
    var parts = ""
    if s >= 3600 { parts += "\(s / 3600)h" }
    if s % 3600 >= 60 { parts += "\(s % 3600 / 60)m" }
    if s % 60 != 0 { parts += "\(s % 60)s" }
    return parts
}
