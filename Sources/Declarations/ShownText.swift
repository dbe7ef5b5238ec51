/// Text read from a file, a file name or a command line, as a message or a
/// report line may show it: never a raw control character (a newline that
/// forges a summary line, an ESC sequence that clears the screen, a CR that
/// overwrites the line), never more than a line.

/// Whether a character must not reach a terminal as it is: the C0 and C1
/// controls (newline, CR, ESC, DEL, NUL…), the line and paragraph separators
/// (U+2028, U+2029), and the format characters (Unicode category Cf): the
/// bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069) that reorder what a terminal shows, and the invisible ones
/// (U+00AD soft hyphen, U+200B zero width space, U+FEFF, U+FFF9–U+FFFB,
/// U+E0001…) that make two different texts print the same. The emoji
/// joiners stay, so that a family or a flag of Scotland prints as one emoji:
/// U+200D (zero width joiner) and the tag letters U+E0020–U+E007F
/// (`isEmojiJoiner`); names refuse those too (`firstUnprintableNamed`).
/// - Parameter scalar: One Unicode scalar.
/// - Returns: True when it must be escaped before it is shown.
public func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x20...0x7E: false
    case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
    default: scalar.value >= 0xAD && !isEmojiJoiner(scalar) && scalar.properties.generalCategory == .format
    }
}

/// Whether the character is a format character (Cf) that joins emoji
/// sequences: U+200D (zero width joiner) or a tag letter, U+E0020–U+E007F.
func isEmojiJoiner(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value == 0x200D || (0xE0020...0xE007F).contains(scalar.value)
}

/// Whether a character is refused in a name (a test id, a setup name, an
/// environment's names and values): what `isUnprintable` names and the
/// emoji joiners it lets through, every one invisible in `/a<U+200D>b`.
func isRefusedInName(_ scalar: Unicode.Scalar) -> Bool {
    isUnprintable(scalar) || isEmojiJoiner(scalar)
}

/// Whether the character is an invisible format character (category Cf),
/// as opposed to a control character (C0, C1, DEL, U+2028, U+2029) or a
/// bidirectional control (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069).
func isInvisibleFormat(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: false
    default: scalar.value >= 0xAD && scalar.properties.generalCategory == .format
    }
}

/// The first character of `text` that must not reach a terminal
/// (`isUnprintable`), escaped as `escapingControls` shows it (`\n`,
/// `\u{1B}`); nil when there is none.
/// - Parameter text: Text about to be shown.
/// - Returns: The escape of the first unprintable character, or nil.
public func firstUnprintable(in text: some StringProtocol) -> String? {
    text.unicodeScalars.first(where: isUnprintable).map { escaped($0) }
}

/// The first character a name must not hold (`isUnprintable`, and the emoji
/// joiners U+200D and U+E0020–U+E007F too), in words for a message: "a
/// control character (`\u{1B}`)", or "an invisible format character
/// (`\u{200B}`)"; nil when there is none. Quote the name with
/// `shortenedName`, which escapes the same characters.
/// - Parameter text: A name (test id, setup, file or environment name).
/// - Returns: The first refused character in words, or nil.
public func firstUnprintableNamed(in text: some StringProtocol) -> String? {
    guard let scalar = text.unicodeScalars.first(where: isRefusedInName) else { return nil }
    return isInvisibleFormat(scalar) ? "an invisible format character (`\(escaped(scalar))`)"
        : "a control character (`\(escaped(scalar))`)"
}

/// One character as a JSON string writes it: `\u001b`, `\u200b`, and a
/// character beyond U+FFFF as its UTF-16 surrogate pair (`\udb40\udc01` for
/// U+E0001), which every JSON reader turns back into the character.
/// - Parameter scalar: One Unicode scalar.
/// - Returns: One `\uXXXX` (lowercase hexadecimal) per UTF-16 code unit.
public func jsonEscaped(_ scalar: Unicode.Scalar) -> String {
    var out = ""
    for unit in String(scalar).utf16 {
        let hex = String(unit, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
    return out
}

/// JSON text with every character `isUnprintable` names from U+007F up
/// written `\uXXXX` (`jsonEscaped`). JSON encoders escape the C0 controls
/// in strings but leave DEL, the C1 controls (U+009B is a CSI to some
/// terminals), U+2028/U+2029 and the format characters raw; outside
/// strings a JSON text has only ASCII, so each one found is in a string and
/// its escape reads back as the same string.
/// - Parameter json: The output of a JSON encoder.
/// - Returns: The same JSON, those characters escaped; `json` itself when it has none.
public func escapingUnprintableInJSON(_ json: String) -> String {
    guard json.unicodeScalars.contains(where: { $0.value >= 0x7F && isUnprintable($0) }) else { return json }
    var out = String.UnicodeScalarView()
    for scalar in json.unicodeScalars {
        if scalar.value >= 0x7F && isUnprintable(scalar) { out.append(contentsOf: jsonEscaped(scalar).unicodeScalars) } else { out.append(scalar) }
    }
    return String(out)
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
    public var escapingControls: String { escaping(where: isUnprintable) }

    /// The text with every character `shown` picks escaped as in a Swift literal.
    func escaping(where shown: (Unicode.Scalar) -> Bool) -> String {
        guard unicodeScalars.contains(where: shown) else { return String(self) }
        var result = ""
        for scalar in unicodeScalars {
            if shown(scalar) { result += escaped(scalar) } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}

/// Text to quote in a message: control characters escaped, and when it
/// takes more than `limit` characters so, its first `limit - 20` (whole
/// characters and escapes) followed by `… (N characters)`, so one long line of
/// input cannot flood the terminal.
/// - Parameters:
///   - text: The text to quote.
///   - limit: The most characters shown, escapes counted as shown.
/// - Returns: The escaped text, cut short when longer than `limit`.
public func shortened(_ text: some StringProtocol, limit: Int = 80) -> String {
    shortened(text, limit: limit, escaping: isUnprintable)
}

/// A name to quote in the message that refuses it (`firstUnprintableNamed`):
/// as `shortened`, the emoji joiners escaped too (`/a\u{200D}b`).
/// - Parameters:
///   - text: The name to quote.
///   - limit: The most characters shown, escapes counted as shown.
/// - Returns: The escaped name, cut short when longer than `limit`.
public func shortenedName(_ text: some StringProtocol, limit: Int = 80) -> String {
    shortened(text, limit: limit, escaping: isRefusedInName)
}

func shortened(_ text: some StringProtocol, limit: Int, escaping: (Unicode.Scalar) -> Bool) -> String {
    let whole = text.escaping(where: escaping)
    guard whole.count > limit else { return whole }
    let budget = max(1, limit - 20)
    var result = ""
    var used = 0
    for character in text {
        let shown = String(character).escaping(where: escaping)
        guard used + shown.count <= budget else { break }
        result += shown
        used += shown.count
    }
    return result + "… (\(text.count) characters)"
}

extension StringProtocol {
    /// The text without leading and trailing whitespace (spaces, tabs,
    /// newlines and the other Unicode whitespace characters).
    /// - Returns: The trimmed text; empty when it is all whitespace.
    public func trimmingWhitespace() -> String {
        var start = startIndex
        var end = endIndex
        while start < end, self[start].isWhitespace { start = index(after: start) }
        while end > start, self[index(before: end)].isWhitespace { end = index(before: end) }
        return String(self[start..<end])
    }
}
