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
/// it has no header.
public struct DropInHeader: Sendable, Hashable {
    /// One `testbed-KEY: value` line.
    public struct Line: Sendable, Hashable {
        public let key: String
        public let value: String
        /// 1-based line in the file.
        public let line: Int
    }

    public let lines: [Line]

    /// The keys a header may carry.
    public static let keys = ["requires", "setup", "tags", "timeout", "exclusive", "dirties", "skip-code", "description"]
    /// How much of a file is read for its header.
    public static let scanLimit = 8192

    /// Finds the header lines in the first bytes of a file; empty when there are
    /// none or the bytes are binary.
    public init(bytes: some Collection<UInt8>) {
        let head = bytes.prefix(Self.scanLimit)
        guard !head.contains(0) else {
            lines = []
            return
        }
        let text = String(decoding: head, as: UTF8.self)
        var found: [Line] = []
        var number = 0
        // "\r\n" is one Character: a file with DOS line endings splits on it too.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            guard raw.contains("testbed-") else { continue }
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
            guard hadLeader else { continue }
            rest = rest.drop(while: { $0 == " " || $0 == "\t" })
            guard rest.hasPrefix("testbed-"), let colon = rest.firstIndex(of: ":") else { continue }
            let key = rest[rest.index(rest.startIndex, offsetBy: 8)..<colon]
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0 == "-" }) else { continue }
            var value = rest[rest.index(after: colon)...].trimmingWhitespaceAndCR()
            if value.hasSuffix("*/") { value = String(value.dropLast(2)).trimmingWhitespaceAndCR() }
            found.append(Line(key: String(key), value: value, line: number))
        }
        lines = found
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
