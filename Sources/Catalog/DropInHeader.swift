import Requirements

/// The `testbed-KEY: value` comment lines near the top of a drop-in executable.
///
/// ```sh
/// #!/bin/sh
/// # testbed-requires: root, kernel >= 5.10, qemu >= 8.2
/// # testbed-setup: guest-image
/// # testbed-tags: migration slow
/// # testbed-timeout: 5m
/// ```
///
/// Any comment leader works (`#`, `//`, `--`, `;`). Only the first
/// `scanLimit` bytes are read, and a file with a NUL byte there is binary:
/// it has no header. A header line must end within those bytes: one that
/// runs past them (`kernel >= 60` cut to `kernel >= 6`) is not read but
/// reported as `cutLine`, for the loader to refuse.
public struct DropInHeader: Sendable, Hashable {
    /// One `testbed-KEY: value` line.
    public struct Line: Sendable, Hashable {
        public let key: String
        public let value: String
        /// 1-based line in the file.
        public let line: Int
    }

    public let lines: [Line]
    /// The 1-based number of a header line (`testbed-…`) that starts within
    /// the first `scanLimit` bytes and does not end there; nil when none is cut.
    public let cutLine: Int?
    /// The cut line's key as far as it was read (`testbed-requires`).
    public let cutKey: String?

    /// The keys a header may carry.
    public static let keys = ["requires", "setup", "tags", "timeout", "exclusive", "dirties", "skip-code", "description"]
    /// How much of a file is read for its header.
    public static let scanLimit = 8192
    /// How many bytes past `scanLimit` a caller reads, to tell whether the line
    /// the window cuts is a header line: pass up to `scanLimit + lookahead` bytes.
    public static let lookahead = 64

    /// Finds the header lines in the first bytes of a file; empty when there are
    /// none or the bytes are binary. Bytes past `scanLimit` (at most
    /// `lookahead` are looked at) only say whether the last line is cut.
    public init(bytes: some Collection<UInt8>) {
        let all = Array(bytes.prefix(Self.scanLimit + Self.lookahead))
        let head = all.prefix(Self.scanLimit)
        guard !head.contains(0) else {
            (lines, cutLine, cutKey) = ([], nil, nil)
            return
        }
        // The window ends inside a line when more bytes follow and it does not end with a line break.
        let beyond = all.dropFirst(Self.scanLimit)
        let cut = !beyond.isEmpty && head.last != UInt8(ascii: "\n") && !(head.last == 13 && beyond.first == UInt8(ascii: "\n"))
        let text = String(decoding: head, as: UTF8.self)
        var found: [Line] = []
        var number = 0
        var cutLine: Int?
        var cutKey: String?
        // "\r\n" is one Character: a file with DOS line endings splits on it too.
        let raws = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, raw) in raws.enumerated() {
            number += 1
            guard raw.contains("testbed-") || (cut && index == raws.count - 1) else { continue }
            if cut && index == raws.count - 1 {
                // Enough of the rest of the line to see whether it is a header line.
                let rest = beyond.prefix { $0 != UInt8(ascii: "\n") }
                let whole = String(raw) + String(decoding: rest, as: UTF8.self)
                if let key = Self.headerKey(whole[...]) {
                    cutLine = number
                    cutKey = "testbed-" + key
                }
                continue
            }
            guard let (key, value) = Self.headerLine(raw) else { continue }
            found.append(Line(key: key, value: value, line: number))
        }
        lines = found
        self.cutLine = cutLine
        self.cutKey = cutKey
    }

    /// The text after a comment leader and blanks, when the line has a leader.
    static func afterLeader(_ raw: Substring) -> Substring? {
        var rest = raw.drop(while: { $0 == " " || $0 == "\t" })
        var hadLeader = false
        while true {
            if rest.hasPrefix("#") || rest.hasPrefix(";") {
                rest = rest.dropFirst()
            } else if rest.hasPrefix("//") || rest.hasPrefix("--") {
                rest = rest.dropFirst(2)
            } else {
                break
            }
            hadLeader = true
        }
        guard hadLeader else { return nil }
        return rest.drop(while: { $0 == " " || $0 == "\t" })
    }

    /// The key (what follows `testbed-`, up to a colon or the end) of a line
    /// that starts like a header line, even without its colon or value.
    static func headerKey(_ raw: Substring) -> String? {
        guard let rest = afterLeader(raw), rest.hasPrefix("testbed-") else { return nil }
        let key = rest.dropFirst(8).prefix { $0.isLetter || $0 == "-" }
        return String(key)
    }

    /// `(key, value)` of a `testbed-KEY: value` comment line.
    static func headerLine(_ raw: Substring) -> (String, String)? {
        guard let rest = afterLeader(raw), rest.hasPrefix("testbed-"), let colon = rest.firstIndex(of: ":") else { return nil }
        let key = rest[rest.index(rest.startIndex, offsetBy: 8)..<colon]
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0 == "-" }) else { return nil }
        var value = rest[rest.index(after: colon)...].trimmingWhitespaceAndCR()
        if value.hasSuffix("*/") { value = String(value.dropLast(2)).trimmingWhitespaceAndCR() }
        return (String(key), value)
    }

    public var isEmpty: Bool { lines.isEmpty }
}

extension StringProtocol {
    func trimmingWhitespaceAndCR() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
