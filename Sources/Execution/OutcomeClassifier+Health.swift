import KernelHealth
import ProcessSupervision

// A test's verdict when it broke the host: it tainted the kernel, or could
// not be killed (docs/kernel-health.md).
extension OutcomeClassifier {
    /// The most kernel log lines a tainted test's reason quotes.
    static let explainingLines = 4

    /// A test during which the kernel became tainted with flags no earlier
    /// test was blamed for: `fail` (a `timeout` or `error` stays what it
    /// is, a test that did not run is not blamed), its reason naming the
    /// flags, the kernel log lines that explain them and the tests still
    /// running (the other suspects); the host is unhealthy (`unhealthy`).
    /// - Parameters:
    ///   - result: The test's result, changed in place.
    ///   - health: What the monitor saw of it (`newTaint` not empty).
    static func tainted(_ result: inout TestResult, _ health: TestHealth) {
        let taint = health.newTaint
        guard !taint.isEmpty else { return }
        if result.outcome == .pass || result.outcome == .fail || result.outcome == .skip { result.outcome = .fail }
        var words = "the kernel became tainted while it ran: \(taint.decoded)"
        let lines = health.kernelLog?.explaining(limit: explainingLines) ?? []
        if !lines.isEmpty {
            words += "; the kernel log says: " + lines.map { LogTail.printable($0.message, limit: 200) }.joined(separator: " | ")
        }
        if !health.stillRunning.isEmpty { words += "; ran at the same time: " + health.stillRunning.joined(separator: ", ") }
        result.reason = result.reason.map { words + "; " + $0 } ?? words
        result.unhealthy = "\(result.id) tainted the kernel (\(taint.letters))"
    }

    /// The text of a test's `kmsg.log`: a header line naming the other
    /// tests that got some of its records (those running when they arrived),
    /// then one record a line in dmesg's form, a `# N records lost` line
    /// where the kernel overwrote records, and a last line saying how many
    /// records were left out; at most `KernelLogReader.maximumBytes` bytes in all.
    /// - Parameter health: What the monitor saw of the test.
    /// - Returns: The text; nil when there is nothing to say (no record, nothing lost).
    static func kernelLogText(_ health: TestHealth) -> String? {
        guard let capture = health.kernelLog, !capture.records.isEmpty || capture.lost > 0 || capture.omitted > 0 else { return nil }
        var text = ""
        if !capture.sharedWith.isEmpty {
            let names = capture.sharedWith.prefix(10).joined(separator: ", ") + (capture.sharedWith.count > 10 ? " +\(capture.sharedWith.count - 10)" : "")
            text += "# \(names) also ran when some of these records arrived: those records are in their kmsg.log too\n"
        }
        // Room kept for the last line, saying how many were left out.
        let budget = KernelLogReader.maximumBytes - 100
        var bytes = text.utf8.count
        var omitted = capture.omitted
        var gaps = capture.gaps[...]
        func lost(_ count: Int) -> String {
            "# \(count) record\(count == 1 ? "" : "s") lost here: the kernel overwrote them before they were read\n"
        }
        for (index, record) in capture.records.enumerated() {
            var lines = ""
            while let gap = gaps.first, gap.before <= index {
                lines += lost(gap.count)
                gaps.removeFirst()
            }
            lines += record.dmesgLine + "\n"
            guard bytes + lines.utf8.count <= budget else {
                omitted += capture.records.count - index
                break
            }
            text += lines
            bytes += lines.utf8.count
        }
        if omitted == 0 { for gap in gaps { text += lost(gap.count) } }
        if omitted > 0 {
            text += "# \(omitted) more record\(omitted == 1 ? "" : "s") left out (over \(KernelLogReader.maximumBytes) bytes)\n"
        }
        return text
    }

    /// The kernel log as a result keeps it: at most `TestResult.kernelLogLimit`
    /// bytes, cut at a line, then a line saying how much was left out.
    /// - Parameter text: The `kmsg.log` text.
    /// - Returns: The text, bounded.
    static func boundedKernelLog(_ text: String) -> String {
        let bytes = text.utf8
        guard bytes.count > TestResult.kernelLogLimit else { return text }
        let head = bytes.prefix(TestResult.kernelLogLimit)
        let cut = head.lastIndex(of: UInt8(ascii: "\n")).map { bytes.index(after: $0) } ?? head.endIndex
        let kept = String(decoding: bytes[..<cut], as: UTF8.self)
        let left = text[cut...].split(separator: "\n").count
        return kept + "# \(left) more line\(left == 1 ? "" : "s") in kmsg.log (the result keeps \(TestResult.kernelLogLimit) bytes)\n"
    }

    /// A timed-out test that could not be killed: its reason says so; the host is unhealthy.
    /// - Parameters:
    ///   - result: The test's result (`timeout`), changed in place.
    ///   - wchan: The kernel function it sleeps in.
    static func unkillable(_ result: inout TestResult, wchan: String) {
        result.reason = adding("could not be killed: in uninterruptible sleep (D) in \(wchan)", to: result.reason)
        result.unhealthy = "\(result.id) could not be killed (uninterruptible sleep in \(wchan))"
    }
}
