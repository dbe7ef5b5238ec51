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

    /// The text of a test's `kmsg.log`: a header (`# ` lines: who ran at the
    /// same time, records lost or left out), then one record a line in dmesg's form.
    /// - Parameter health: What the monitor saw of the test.
    /// - Returns: The text; nil when there is nothing to say (no record, nothing lost).
    static func kernelLogText(_ health: TestHealth) -> String? {
        guard let capture = health.kernelLog, !capture.records.isEmpty || capture.lost > 0 || capture.omitted > 0 else { return nil }
        var text = ""
        if !health.alongside.isEmpty {
            text += "# ran at the same time as \(health.alongside.joined(separator: ", ")): "
                + "records written while they ran are in their kmsg.log too\n"
        }
        if capture.lost > 0 {
            text += "# \(capture.lost) record\(capture.lost == 1 ? "" : "s") lost: the kernel overwrote them before they were read\n"
        }
        for record in capture.records { text += record.dmesgLine + "\n" }
        if capture.omitted > 0 {
            text += "# \(capture.omitted) more record\(capture.omitted == 1 ? "" : "s") left out (over \(KernelLogReader.maximumBytes) bytes)\n"
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
