/// Text read from a file, a file name or a command line, as a message or a
/// report line may show it: never a raw control character (a newline that
/// forges a summary line, an ESC sequence that clears the screen, a CR that
/// overwrites the line), never more than a line.

/// Whether a character must not reach a terminal as it is: the C0 and C1
/// controls (newline, CR, ESC, DEL, NUL…), the line and paragraph separators
/// (U+2028, U+2029) and the bidirectional controls (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069) that reorder what a terminal shows.
public func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
    default: false
    }
}

/// The first character of `text` that must not reach a terminal
/// (`isUnprintable`), escaped as `escapingControls` shows it (`\n`,
/// `\u{1B}`); nil when there is none.
public func firstUnprintable(in text: some StringProtocol) -> String? {
    text.unicodeScalars.first(where: isUnprintable).map { escaped($0) }
}

/// One scalar as Swift writes it in a string literal: `\n`, `\r`, `\t`,
/// `\0`, otherwise `\u{1B}` (hexadecimal, upper case).
func escaped(_ scalar: Unicode.Scalar) -> String {
    switch scalar {
    case "\n": "\\n"
    case "\r": "\\r"
    case "\t": "\\t"
    case "\0": "\\0"
    default: "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
    }
}

extension StringProtocol {
    /// The text with every unprintable character (`isUnprintable`) escaped as
    /// in a Swift literal: `a\nb`, `\u{1B}[2J`. The text itself when it has none.
    public var escapingControls: String {
        guard unicodeScalars.contains(where: isUnprintable) else { return String(self) }
        var result = ""
        for scalar in unicodeScalars {
            if isUnprintable(scalar) { result += escaped(scalar) } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}

/// Text to quote in a message: control characters escaped, and when it
/// takes more than `limit` characters so, its first `limit - 20` (whole
/// characters and escapes) followed by `… (N characters)`, so one long line of
/// input cannot flood the terminal.
public func shortened(_ text: some StringProtocol, limit: Int = 80) -> String {
    let whole = text.escapingControls
    guard whole.count > limit else { return whole }
    let budget = max(1, limit - 20)
    var result = ""
    var used = 0
    for character in text {
        let shown = String(character).escapingControls
        guard used + shown.count <= budget else { break }
        result += shown
        used += shown.count
    }
    return result + "… (\(text.count) characters)"
}
