import Declarations

/// A size in bytes written with an optional binary unit: `8G`, `512MiB`, `64GB`,
/// `1.5T`, `4096`. Units are powers of 1024 whatever their spelling (`K M G T`,
/// with an optional `i`, `iB` or `B`).
public struct Size: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The size in bytes.
    public let bytes: Double
    /// Whether the text carried a unit (`8G`), as opposed to a bare number.
    public let hasUnit: Bool

    /// A size.
    /// - Parameters:
    ///   - bytes: The size in bytes.
    ///   - hasUnit: Whether it was written with a unit.
    public init(bytes: Double, hasUnit: Bool = false) {
        self.bytes = bytes
        self.hasUnit = hasUnit
    }

    /// Parses `8G`, `8 GiB`, `8192M`, `25769803776`; nil when the text is not a size.
    ///
    /// - Parameter text: Digits (a decimal point allowed), then optionally `K`, `M`, `G`, `T` or `P`, alone or followed by `i`,
    ///   `B` or `iB`, in either case; units are 1024-based, whitespace around is ignored.
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        var digits = ""
        var rest = Substring(trimmed)
        while let c = rest.first, c.isASCII, c.isNumber || c == "." {
            digits.append(c)
            rest = rest.dropFirst()
        }
        guard !digits.isEmpty, digits.first != ".", let number = Double(digits) else { return nil }
        let unit = rest.trimmingWhitespace().uppercased()
        let exponents: [String: Double] = ["": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5]
        var letter = unit
        if letter.hasSuffix("IB") {
            letter.removeLast(2)
        } else if letter.hasSuffix("I") || letter.hasSuffix("B") {
            letter.removeLast()
        }
        if letter.isEmpty && (unit == "I" || unit == "IB") { return nil }
        guard let exponent = exponents[letter] else { return nil }
        var value = number
        for _ in 0..<Int(exponent) { value *= 1024 }
        self.bytes = value
        self.hasUnit = !unit.isEmpty
    }

    /// Orders sizes by bytes.
    /// - Parameters:
    ///   - lhs: A size.
    ///   - rhs: Another size.
    /// - Returns: True when `lhs` has fewer bytes.
    public static func < (lhs: Size, rhs: Size) -> Bool { lhs.bytes < rhs.bytes }
    /// Equal when the bytes are (`8G == 8192M`), however written.
    /// - Parameters:
    ///   - lhs: A size.
    ///   - rhs: Another size.
    /// - Returns: True when both have as many bytes.
    public static func == (lhs: Size, rhs: Size) -> Bool { lhs.bytes == rhs.bytes }
    /// Hashes the bytes.
    /// - Parameter hasher: The hasher to feed.
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The size in the largest binary unit that keeps it at or above 1: `23.4G`.
    public var description: String {
        let units = ["", "K", "M", "G", "T", "P"]
        var value = bytes
        var index = 0
        while value >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 { return String(Int(value)) }
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return "\(Int(rounded))\(units[index])" }
        return "\(rounded)\(units[index])"
    }
}
