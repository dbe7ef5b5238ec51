/// Where something was declared: a file as the user named it, and a line.
public struct DeclarationLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file as the user named it (relative paths stay relative).
    public let file: String
    /// 1-based line, or nil when the whole file is meant.
    public let line: Int?

    /// A place in a declaration file.
    /// - Parameters:
    ///   - file: The file as the user named it.
    ///   - line: The 1-based line, or nil for the whole file.
    public init(file: String, line: Int?) {
        self.file = file
        self.line = line
    }

    /// `file:line`, or `file` alone when there is no line (not escaped).
    public var description: String {
        if let line { return "\(file):\(line)" }
        return file
    }

    /// An error at this place.
    /// - Parameter message: What is wrong and how to fix it: lowercase, ending with the fix.
    /// - Returns: The error at this file and line.
    public func error(_ message: String) -> DeclarationError {
        DeclarationError(file: file, line: line, message: message)
    }
}

/// The longest timeout a declaration may write, in seconds: ten years (longer
/// ones would overflow the clock; write 0 for no limit).
public let longestTimeoutSeconds = 315_360_000.0

/// The forms `parseTimeout` accepts, for a message that refuses one.
public let durationForms = "write seconds (90) or NUMBER UNIT pairs, the largest unit first (10m, 1h30m, 1.5 min, 500ms; "
    + "units ms, s, m, h, d, also sec, min, hr, second(s), minute(s), hour(s), day(s)), at most ten years"

/// Parses a timeout: `90`, `90s`, `2m`, `1h30m`, `500ms`, `1.5m`; `0` is
/// zero (no limit, where a timeout is declared). The grammar: a number
/// alone (seconds), or one or more `NUMBER UNIT` pairs whose units go from
/// largest to smallest, each at most once (`1d2h`, not `1h1h` or `30s1m`);
/// a NUMBER is ASCII digits with at most one `.` (`1.5`, `.5`; no sign,
/// exponent or hexadecimal: `0x1`, `1e3` and `+5` are refused); the units
/// are `ms`, `s`/`sec`/`secs`/`second`/`seconds`, `m`/`min`/`mins`/`minute`/`minutes`,
/// `h`/`hr`/`hrs`/`hour`/`hours`, `d`/`day`/`days`, in any case; spaces may
/// stand between the pairs and their parts. `durationForms` says the same to users.
/// - Parameter text: The timeout as written, surrounding whitespace ignored.
/// - Returns: The duration in whole milliseconds, rounded up
///   (`wholeMilliseconds`); nil when `text` is not a timeout or is longer
///   than `longestTimeoutSeconds` (ten years).
public func parseTimeout(_ text: String) -> Duration? {
    let trimmed = text.trimmingWhitespace().lowercased()
    guard !trimmed.isEmpty, trimmed.unicodeScalars.allSatisfy(\.isASCII) else { return nil }
    let characters = Array(trimmed.utf8).filter { $0 != UInt8(ascii: " ") }
    var index = 0
    /// `digits[.digits]` or `.digits`, as a Double; nil when there is none.
    func number() -> Double? {
        let start = index
        var dots = 0
        var digits = 0
        while index < characters.count {
            let c = characters[index]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { digits += 1 }
            else if c == UInt8(ascii: ".") { dots += 1 }
            else { break }
            index += 1
        }
        guard digits > 0, dots <= 1 else { return nil }
        return Double(String(decoding: characters[start..<index], as: UTF8.self))
    }
    guard let first = number() else { return nil }
    if index == characters.count {
        // A number alone: seconds.
        guard first <= longestTimeoutSeconds else { return nil }
        return milliseconds(first)
    }
    let scales: [(names: Set<String>, seconds: Double)] = [
        (["d", "day", "days"], 86400), (["h", "hr", "hrs", "hour", "hours"], 3600), (["m", "min", "mins", "minute", "minutes"], 60),
        (["s", "sec", "secs", "second", "seconds"], 1), (["ms"], 0.001),
    ]
    var total = 0.0
    var value: Double? = first
    var largest = scales.count  // the units still allowed: those after the last one used
    while let amount = value {
        let start = index
        while index < characters.count, characters[index] >= UInt8(ascii: "a"), characters[index] <= UInt8(ascii: "z") { index += 1 }
        let unit = String(decoding: characters[start..<index], as: UTF8.self)
        guard let position = scales.firstIndex(where: { $0.names.contains(unit) }),
              largest == scales.count || position > largest else { return nil }
        largest = position
        total += amount * scales[position].seconds
        if index == characters.count { break }
        guard let next = number() else { return nil }
        value = next
    }
    guard total.isFinite, total <= longestTimeoutSeconds else { return nil }
    return milliseconds(total)
}

/// The smallest positive `--timeout-multiplier`. Timeouts are kept in whole
/// milliseconds (rounded up): a smaller factor would shrink a second to less
/// than one, a report would name a limit of 1ms for one of about nothing, and
/// one small enough to underflow (`1e-400`) would read as 0, no timeouts.
public let smallestTimeoutMultiplier = 0.001

/// Why a `--timeout-multiplier` was refused (`parseTimeoutMultiplier`).
public enum TimeoutMultiplierProblem: Error, Sendable, Equatable {
    /// Not a decimal number (`0x10`, `nan`, `2x`).
    case notANumber
    /// Above 0 but below `smallestTimeoutMultiplier` (`1e-320`).
    case tooSmall
}

/// Parses a `--timeout-multiplier` (`-t`): a decimal number with an optional
/// sign, fraction and exponent (`2`, `0.5`, `-1`, `1e3`), or `inf`; 0 or less
/// (`-inf` too) means no timeouts, and so, in effect, does one so large a
/// timeout passes ten years (`1e30`, `inf`). Hexadecimal (`0x10`, `0x1p0`)
/// and `nan` are `.notANumber`; a positive value under
/// `smallestTimeoutMultiplier` (also one that underflows to 0, `1e-400`) is
/// `.tooSmall`.
/// - Parameter text: The option's value, surrounding whitespace ignored.
/// - Returns: The factor the declared timeouts are multiplied by (0 or less: no timeouts).
/// - Throws: `TimeoutMultiplierProblem.notANumber` or `.tooSmall`.
public func parseTimeoutMultiplier(_ text: String) throws(TimeoutMultiplierProblem) -> Double {
    let trimmed = text.trimmingWhitespace().lowercased()
    var rest = Substring(trimmed)
    let negative = rest.first == "-"
    if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
    if rest == "inf" || rest == "infinity" { return negative ? -.infinity : .infinity }
    var mantissa = rest
    if let e = rest.firstIndex(of: "e") {
        mantissa = rest[..<e]
        var exponent = rest[rest.index(after: e)...]
        if exponent.first == "-" || exponent.first == "+" { exponent = exponent.dropFirst() }
        guard !exponent.isEmpty, exponent.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .notANumber }
    }
    let digits = mantissa.filter { $0 != "." }
    guard !digits.isEmpty, mantissa.count - digits.count <= 1, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
          let value = Double(trimmed) else { throw .notANumber }
    // Written above zero, but too small to mean anything (1e-320), or so small it reads as 0 (1e-400).
    if !negative && digits.contains(where: { $0 != "0" }) && value < smallestTimeoutMultiplier { throw .tooSmall }
    return value
}

/// Seconds as whole milliseconds, rounded up: a timeout above zero never
/// becomes 0 (no limit). Rounded to the microsecond first, so float noise is not a
/// millisecond more (`0.3 × 1000` is 300, not 301).
/// - Parameter seconds: A duration in seconds; 0 or less, or NaN, means none.
/// - Returns: The duration in whole milliseconds, at least 1 ms when `seconds`
///   is above 0; `.zero` otherwise.
public func wholeMilliseconds(_ seconds: Double) -> Duration {
    guard seconds > 0 else { return .zero }
    return .milliseconds(max(1, Int64(((seconds * 1_000_000).rounded() / 1000).rounded(.up))))
}

private func milliseconds(_ seconds: Double) -> Duration { wholeMilliseconds(seconds) }

/// A duration as a user writes it: `10m`, `90s`, `1h30m`, `1.5s`.
/// - Parameter duration: A non-negative duration; below a millisecond is dropped.
/// - Returns: Whole seconds as `h`, `m` and `s` parts (`1h30m`, `0s` for
///   zero); a duration with a millisecond part as `ms` below a second
///   (`500ms`) or as decimal seconds above (`1.5s`).
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
