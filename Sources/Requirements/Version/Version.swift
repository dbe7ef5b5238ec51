import Declarations

/// A version as the requirement grammar compares it: `8.2`, `6.1.0-13-amd64`,
/// `7sp1`, `2013-10-24`, `1.0~rc1`.
///
/// The text is split into runs of digits and of letters; `.`, `-`, `_`, `+` (and
/// any other punctuation) only separate. Digit runs compare as numbers, letter
/// runs as text. Missing trailing zero parts are equal (`8.2 == 8.2.0`). A run the
/// other side lacks sorts below the end when it is a pre-release marker (`rc`,
/// `alpha`, `beta`, `pre`, in any case, or anything after `~`) and above it otherwise,
/// so `9.0.0-rc1 < 9.0.0 < 9.0.0-13-amd64` and `7 < 7sp1`.
///
/// A Debian epoch comes first, as dpkg compares it: a leading run of digits
/// followed by `:` and more text (`1:7.2+dfsg-7+deb12u18`) is the epoch, compared
/// as a number before everything else; a version without one has epoch 0. So
/// `1:7.2+dfsg-7 > 8.2` and `>= 7.2` holds for `1:7.2+dfsg-7+deb12u18`, while
/// `0:7.2 == 7.2`. Any other `:` only separates.
///
/// The order is total: every text is a version, and two versions compare by
/// their epochs and then their canonical token lists, so the ordering is
/// antisymmetric and transitive.
public struct Version: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The text as it was written.
    public let text: String
    /// The epoch's digits without leading zeros; "0" when the text has none.
    let epoch: String
    /// The canonical tokens of the text after the epoch, which comparisons use.
    let tokens: [Token]

    /// A version; every text is one.
    /// - Parameter text: The version as written.
    public init(_ text: String) {
        self.text = text
        let (epoch, rest) = Version.splitEpoch(text)
        self.epoch = epoch
        self.tokens = Version.canonicalTokens(of: rest)
    }

    /// The text as written.
    public var description: String { text }

    /// Equal when epochs and canonical tokens are (`8.2 == 8.2.0`).
    /// - Parameters:
    ///   - lhs: A version.
    ///   - rhs: Another version.
    /// - Returns: True when they compare equal.
    public static func == (lhs: Version, rhs: Version) -> Bool {
        lhs.epoch == rhs.epoch && lhs.tokens == rhs.tokens
    }

    /// Hashes the epoch and canonical tokens.
    /// - Parameter hasher: The hasher to feed.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(epoch)
        hasher.combine(tokens)
    }

    /// The grammar's order (see the type).
    /// - Parameters:
    ///   - lhs: A version.
    ///   - rhs: Another version.
    /// - Returns: True when `lhs` sorts first.
    public static func < (lhs: Version, rhs: Version) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// -1, 0 or 1 as `lhs` sorts below, equal to or above `rhs`.
    ///
    /// - Parameters:
    ///   - lhs: A version.
    ///   - rhs: Another version.
    /// - Returns: -1, 0 or 1; epochs first, then token by token (`~` lowest, pre-release words below the end).
    public static func compare(_ lhs: Version, _ rhs: Version) -> Int {
        let epochs = Token.compare(.number(lhs.epoch), .number(rhs.epoch))
        if epochs != 0 { return epochs }
        let count = max(lhs.tokens.count, rhs.tokens.count)
        var index = 0
        while index < count {
            let left = index < lhs.tokens.count ? lhs.tokens[index] : .end
            let right = index < rhs.tokens.count ? rhs.tokens[index] : .end
            let order = Token.compare(left, right)
            if order != 0 { return order }
            index += 1
        }
        return 0
    }
}

extension Version {
    /// One comparable part of a version.
    enum Token: Hashable, Sendable {
        /// `~`: sorts below everything, even the end.
        case tilde
        /// A pre-release word: below the end.
        case preRelease(String)
        /// Where a version stops (never stored; used to pad the shorter side).
        case end
        /// Any other word: above the end.
        case word(String)
        /// A run of digits without leading zeros ("0" for zero).
        case number(String)

        var rank: Int {
            switch self {
            case .tilde: 0
            case .preRelease: 1
            case .end: 2
            case .word: 3
            case .number: 4
            }
        }

        static func compare(_ lhs: Token, _ rhs: Token) -> Int {
            if lhs.rank != rhs.rank { return lhs.rank < rhs.rank ? -1 : 1 }
            switch (lhs, rhs) {
            case let (.number(a), .number(b)):
                if a.utf8.count != b.utf8.count { return a.utf8.count < b.utf8.count ? -1 : 1 }
                return a == b ? 0 : (a < b ? -1 : 1)
            case let (.word(a), .word(b)), let (.preRelease(a), .preRelease(b)):
                return a == b ? 0 : (a < b ? -1 : 1)
            default:
                return 0
            }
        }
    }

    static let preReleaseWords: Set<String> = ["rc", "alpha", "beta", "pre"]

    /// The epoch of `1:7.2+dfsg-7` ("1", leading zeros dropped) and the text
    /// after its `:`; "0" and the whole text when there is no leading run of
    /// digits followed by `:` and more text.
    static func splitEpoch(_ text: String) -> (epoch: String, rest: Substring) {
        let digits = text.utf8.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty else { return ("0", text[...]) }
        let colon = digits.endIndex
        guard colon < text.utf8.endIndex, text.utf8[colon] == UInt8(ascii: ":") else { return ("0", text[...]) }
        let rest = text.utf8.index(after: colon)
        guard rest < text.utf8.endIndex else { return ("0", text[...]) }
        var epoch = Substring(text[..<colon])
        while epoch.count > 1, epoch.first == "0" { epoch = epoch.dropFirst() }
        return (String(epoch), text[rest...])
    }

    /// Splits the text into tokens and drops zero numbers that end a run of
    /// numbers (those equal the end: `8.2.0` is `8.2`, `9.0.0-rc1` is `9-rc1`).
    static func canonicalTokens(of text: Substring) -> [Token] {
        var raw: [Token] = []
        var afterTilde = false
        var current: [UInt8] = []
        var currentIsDigit = false

        func flush() {
            guard !current.isEmpty else { return }
            let run = String(decoding: current, as: UTF8.self)
            if currentIsDigit {
                var digits = Substring(run)
                while digits.count > 1, digits.first == "0" { digits = digits.dropFirst() }
                raw.append(.number(String(digits)))
            } else if afterTilde || preReleaseWords.contains(run.lowercased()) {
                raw.append(.preRelease(run))
            } else {
                raw.append(.word(run))
            }
            current.removeAll(keepingCapacity: true)
        }

        for byte in text.utf8 {
            let isDigit = byte >= 0x30 && byte <= 0x39
            let isLetter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte >= 0x80
            if isDigit || isLetter {
                if !current.isEmpty && currentIsDigit != isDigit { flush() }
                currentIsDigit = isDigit
                current.append(byte)
            } else {
                flush()
                if byte == UInt8(ascii: "~") {
                    raw.append(.tilde)
                    afterTilde = true
                }
            }
        }
        flush()

        // Drop zeros at the end of each run of numbers.
        var result: [Token] = []
        result.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            if case .number = raw[index] {
                var end = index
                while end < raw.count, case .number = raw[end] { end += 1 }
                var last = end
                while last > index, raw[last - 1] == .number("0") { last -= 1 }
                result.append(contentsOf: raw[index..<last])
                index = end
            } else {
                result.append(raw[index])
                index += 1
            }
        }
        return result
    }
}
