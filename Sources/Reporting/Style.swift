import Foundation

/// ANSI styling for a terminal: each function wraps text in one SGR escape
/// (`ESC[31m` … `ESC[0m`), or returns it as it is when styling is off.
public struct Style: Sendable {
    /// Whether escapes are written.
    public let enabled: Bool

    /// - Parameter enabled: whether escapes are written.
    public init(enabled: Bool) {
        self.enabled = enabled
    }

    /// On when stdout is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb` (no-color.org).
    public static let standard = Style(
        enabled: isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
            && ProcessInfo.processInfo.environment["TERM"] != "dumb")

    /// Text in the SGR style `code` (`"31"` red), reset after it.
    /// - Parameters:
    ///   - text: the text to style.
    ///   - code: the SGR parameters, e.g. `"1"` bold, `"31"` red.
    /// - Returns: the text wrapped in the escapes, or the text alone when styling is off.
    public func paint(_ text: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    /// Bold text.
    /// - Parameter text: the text to style.
    /// - Returns: the text wrapped in the escapes, or as it is when styling is off.
    public func bold(_ text: String) -> String { paint(text, "1") }
    /// Green (passed) text.
    /// - Parameter text: the text to style.
    /// - Returns: the text wrapped in the escapes, or as it is when styling is off.
    public func green(_ text: String) -> String { paint(text, "32") }
    /// Yellow (blocked, interrupted) text.
    /// - Parameter text: the text to style.
    /// - Returns: the text wrapped in the escapes, or as it is when styling is off.
    public func yellow(_ text: String) -> String { paint(text, "33") }
    /// Red (failures) text.
    /// - Parameter text: the text to style.
    /// - Returns: the text wrapped in the escapes, or as it is when styling is off.
    public func red(_ text: String) -> String { paint(text, "31") }
    /// Dim (skips, durations) text.
    /// - Parameter text: the text to style.
    /// - Returns: the text wrapped in the escapes, or as it is when styling is off.
    public func dim(_ text: String) -> String { paint(text, "2") }
}
