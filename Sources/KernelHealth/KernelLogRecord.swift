/// One record of the kernel's log as `/dev/kmsg` gives it
/// (Documentation/ABI/testing/dev-kmsg):
/// `PRIO,SEQ,TS_USEC,FLAGS[,…];MESSAGE` then continuation lines that start
/// with a space (` SUBSYSTEM=pci`, dictionary pairs). The message keeps the
/// kernel's escapes of unprintable bytes (`\x0a`) in `escapedMessage`;
/// `message` has them decoded.
public struct KernelLogRecord: Sendable, Hashable {
    /// Facility and level: `facility << 3 | level` (`<4>` is a warning of the kernel facility).
    public var priority: Int
    /// The record's sequence number (consecutive: a gap is records lost).
    public var sequence: UInt64
    /// Microseconds since boot (the monotonic clock, as dmesg shows it).
    public var timestamp: UInt64
    /// The message as the kernel wrote it: unprintable bytes and `\` escaped as `\xNN`, on one line.
    public var escapedMessage: String
    /// The continuation lines' `KEY=value` pairs, in order, without their leading space.
    public var dictionary: [String]

    /// The level: 0 emergency to 7 debug (`priority & 7`).
    public var level: Int { priority & 7 }

    /// A record from its parts.
    /// - Parameters:
    ///   - priority: Facility and level (`facility << 3 | level`).
    ///   - sequence: Its sequence number.
    ///   - timestamp: Microseconds since boot.
    ///   - escapedMessage: The message with `\xNN` escapes, on one line.
    ///   - dictionary: The continuation lines' pairs.
    public init(priority: Int, sequence: UInt64, timestamp: UInt64, escapedMessage: String, dictionary: [String] = []) {
        self.priority = priority
        self.sequence = sequence
        self.timestamp = timestamp
        self.escapedMessage = escapedMessage
        self.dictionary = dictionary
    }

    /// The record of one `/dev/kmsg` read (or one record of a fixture file):
    /// the header line and its continuation lines, a trailing newline or not;
    /// nil when the header is not `PRIO,SEQ,TS,FLAGS…;` (at least three numbers before `;`).
    /// - Parameter text: The record's text.
    public init?(parsing text: Substring) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        guard let header = lines.popFirst(), let semicolon = header.firstIndex(of: ";") else { return nil }
        let fields = header[..<semicolon].split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count >= 3, let priority = Int(fields[0]), priority >= 0, let sequence = UInt64(fields[1]),
              let timestamp = UInt64(fields[2]) else { return nil }
        self.priority = priority
        self.sequence = sequence
        self.timestamp = timestamp
        escapedMessage = String(header[header.index(after: semicolon)...])
        dictionary = lines.filter { $0.first == " " }.map { String($0.dropFirst()) }
    }

    /// The message with the kernel's `\xNN` escapes decoded (a multi-line message has its newlines back).
    public var message: String {
        guard escapedMessage.contains("\\x") else { return escapedMessage }
        var bytes: [UInt8] = []
        let source = Array(escapedMessage.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count, source[index + 1] == UInt8(ascii: "x"),
               let high = Self.hexValue(source[index + 2]), let low = Self.hexValue(source[index + 3]) {
                bytes.append(high << 4 | low)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The record as `dmesg -r` shows it, on one line: `[   43.559333] <4> message`
    /// (the message as escaped: a multi-line message stays on one line).
    public var dmesgLine: String {
        let seconds = String(timestamp / 1_000_000)
        let micros = String(timestamp % 1_000_000)
        let padded = String(repeating: " ", count: max(0, 5 - seconds.count)) + seconds
        return "[" + padded + "." + String(repeating: "0", count: 6 - micros.count) + micros + "] <\(priority)> " + escapedMessage
    }

    /// The first line of a report the kernel writes when something breaks:
    /// a warning, a BUG, an oops, a lockup, a hung task, a panic, a call trace.
    public var explainsTaint: Bool {
        let text = escapedMessage
        return Self.markers.contains { text.contains($0) }
    }

    /// What `explainsTaint` looks for.
    static let markers = ["WARNING:", "BUG:", "Oops", "soft lockup", "hard LOCKUP", "Call Trace", "general protection fault",
                          "Kernel panic", "blocked for more than", "UBSAN:", "KASAN:", "kernel BUG", "RCU detected stall",
                          "Machine check", "Tainted:"]
}
