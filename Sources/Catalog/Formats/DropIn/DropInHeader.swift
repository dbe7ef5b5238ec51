import Declarations
import HostFacts
import Requirements

/// The `testbed-KEY: value` comment lines near the top of a drop-in executable.
///
/// ```sh
/// #!/bin/sh
/// # testbed-requires: root, kernel >= 5.10, qemu >= 8.2
/// # testbed-setup: guest-image
/// # testbed-tags: migration slow
/// # testbed-timeout: 5m
/// # testbed-flaky: 2/3
/// # testbed-variants: {machine: [pc, q35], accel: {tcg: {}, kvm: {requires: [kvm]}}}
/// ```
///
/// Any comment leader works (`#`, `//`, `--`, `;`). Only the first
/// `scanLimit` bytes are read, and a file with a NUL byte there is binary:
/// it has no header. A header line must end within those bytes: one that
/// runs past them (`kernel >= 60` cut to `kernel >= 6`) is not read but
/// reported as `cutLine`, for the loader to refuse.
///
/// `testbed` in any case followed by `-` or `_` (`# Testbed-Requires:`,
/// `# TESTBED_TAGS:`) is read as an attempt at a header line when what
/// follows is, or is close to, a known key: the loader refuses it
/// (`write it testbed-requires:`) rather than drop the file, which would no
/// longer be a test. Other such lines (`# TESTBED_OUTPUT_DIR: …`, naming a
/// variable Testbed sets) are comments. With `testbed-` as written every
/// `testbed-KEY:` line is a header line.
public struct DropInHeader: Sendable, Hashable {
    /// One `testbed-KEY: value` line.
    public struct Line: Sendable, Hashable {
        /// The key after `testbed-`, lowercased and with `-` for `_` (`requires`, `skip-code`).
        public let key: String
        /// The value after the colon, trimmed.
        public let value: String
        /// 1-based line in the file.
        public let line: Int
        /// The key as written, `testbed` and all (`Testbed-Requires`, `TESTBED_TAGS`).
        public let written: String

        /// A header line.
        /// - Parameters:
        ///   - key: The key after `testbed-`, canonical (`requires`).
        ///   - value: The value, trimmed.
        ///   - line: The 1-based line in the file.
        ///   - written: The key as written (`testbed-KEY` by default).
        public init(key: String, value: String, line: Int, written: String? = nil) {
            self.key = key
            self.value = value
            self.line = line
            self.written = written ?? "testbed-" + key
        }

        /// Written as Testbed reads it: `testbed-` and the key, lowercase, with `-`.
        public var isCanonical: Bool { written == "testbed-" + key }
    }

    /// The header lines, in file order.
    public let lines: [Line]
    /// The 1-based number of a header line (`testbed-…`) that starts within
    /// the first `scanLimit` bytes and does not end there; nil when none is cut.
    public let cutLine: Int?
    /// The cut line's key as far as it was read (`testbed-requires`).
    public let cutKey: String?

    /// The keys a header may carry.
    public static let keys = ["requires", "setup", "tags", "timeout", "exclusive", "dirties", "skip-code", "flaky", "description", "protocol",
                              "variants"]
    /// How much of a file is read for its header.
    public static let scanLimit = 8192
    /// How many bytes past `scanLimit` a caller reads, to tell whether the line
    /// the window cuts is a header line: pass up to `scanLimit + lookahead` bytes.
    public static let lookahead = 64

    /// Finds the header lines in the first bytes of a file; empty when there are
    /// none or the bytes are binary. Bytes past `scanLimit` (at most
    /// `lookahead` are looked at) only say whether the last line is cut.
    ///
    /// - Parameter bytes: The file's first bytes: up to `scanLimit + lookahead` (8,256) are looked at, more are ignored; a NUL
    ///   byte in the first `scanLimit` (8,192) makes the file binary.
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
        var found: [Line] = []
        var cutLine: Int?
        var cutKey: String?
        // Lines are split on the bytes: only those that mention `testbed` become text.
        head.withUnsafeBufferPointer { buffer in
            var start = 0
            var number = 0
            while start <= buffer.count {
                number += 1
                var end = start
                while end < buffer.count, buffer[end] != UInt8(ascii: "\n") { end += 1 }
                let isLast = end == buffer.count
                // "\r\n" ends a line as "\n" does (DOS line endings).
                let stop = !isLast && end > start && buffer[end - 1] == 13 ? end - 1 : end
                let bytes = UnsafeBufferPointer(rebasing: buffer[start..<stop])
                start = end + 1
                if cut && isLast {
                    // Enough of the rest of the line to see whether it is a header line.
                    let rest = beyond.prefix { $0 != UInt8(ascii: "\n") }
                    let whole = String(decoding: bytes, as: UTF8.self) + String(decoding: rest, as: UTF8.self)
                    if let written = Self.headerKey(whole[...]) {
                        cutLine = number
                        cutKey = written
                    }
                    continue
                }
                guard Self.mentionsTestbed(bytes), let (written, value) = Self.headerLine(String(decoding: bytes, as: UTF8.self)[...])
                else { continue }
                let key = Self.normalized(written)
                // `# TESTBED_OUTPUT_DIR: …` names a variable; `# TESTBED-REQUIRES:` is a header that would be lost.
                guard written.hasPrefix("testbed-") || Self.keys.contains(key) || closest(to: key, in: Self.keys) != nil else { continue }
                found.append(Line(key: key, value: value, line: number, written: written))
            }
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

    /// Whether the text after a comment leader starts with `testbed` in any
    /// case and `-` or `_`.
    static func startsLikeHeader(_ rest: Substring) -> Bool {
        var count = 0
        for byte in rest.utf8 {
            if count == 7 { return byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") }
            guard byte | 0x20 == testbedBytes[count] else { return false }
            count += 1
        }
        return false
    }

    static let testbedBytes = Array("testbed".utf8)

    /// Whether a line holds `testbed` in any case followed by `-` or `_`:
    /// the cheap test before a line is looked at as a header line.
    static func mentionsTestbed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 8 else { return false }
        var index = 0
        while index <= bytes.count - 8 {
            if bytes[index] | 0x20 == UInt8(ascii: "t") {
                var matched = 1
                while matched < 7, bytes[index + matched] | 0x20 == testbedBytes[matched] { matched += 1 }
                if matched == 7, bytes[index + 7] == UInt8(ascii: "-") || bytes[index + 7] == UInt8(ascii: "_") { return true }
            }
            index += 1
        }
        return false
    }

    /// The key as written (`testbed-requires`, `TESTBED_REQUIRES`, up to a
    /// colon or the end) of a line that starts like a header line, even
    /// without its colon or value.
    static func headerKey(_ raw: Substring) -> String? {
        guard let rest = afterLeader(raw), startsLikeHeader(rest) else { return nil }
        let key = rest.dropFirst(8).prefix { $0.isLetter || $0 == "-" || $0 == "_" }
        return String(rest.prefix(8)) + key
    }

    /// `(key as written, value)` of a `testbed-KEY: value` comment line
    /// (`testbed` in any case, `-` or `_` after it and in the key).
    static func headerLine(_ raw: Substring) -> (String, String)? {
        guard let rest = afterLeader(raw), startsLikeHeader(rest), let colon = rest.firstIndex(of: ":") else { return nil }
        let key = rest[rest.index(rest.startIndex, offsetBy: 8)..<colon]
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0 == "-" || $0 == "_" }) else { return nil }
        var value = rest[rest.index(after: colon)...].trimmingWhitespaceAndCR()
        if value.hasSuffix("*/") { value = String(value.dropLast(2)).trimmingWhitespaceAndCR() }
        return (String(rest[..<colon]), value)
    }

    /// The key after `testbed-` or `testbed_`, lowercased, `_` made `-`.
    static func normalized(_ written: String) -> String {
        String(written.dropFirst(8).lowercased().map { $0 == "_" ? "-" : $0 })
    }

    /// Whether the file has no header line.
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
