/// Reads a test's output as it comes, in chunks of any size, and collects the subtests its protocol reports,
/// in bounded memory: a line longer than `maximumLineBytes` is cut there (the rest of it dropped), and past
/// `maximumKept` subtests the rest are only counted (`counts`, `dropped`).
///
/// ```swift
/// var stream = SubtestStream(protocol: .tap)
/// stream.feed(Array("ok 1 - a\nnot ok 2 - b\n".utf8))
/// stream.finish()
/// stream.subtests  // [a: pass, b: fail]
/// ```
public struct SubtestStream: Sendable {
    /// The longest line read, in bytes (4 KiB); the rest of a longer line is dropped.
    public static let maximumLineBytes = 4096
    /// The most subtests kept per test (10,000); the rest are counted only.
    public static let maximumKept = 10_000

    /// The protocol read.
    public let outputProtocol: OutputProtocol
    /// The subtests kept, in the order reported, their ordinals from 1.
    public private(set) var subtests: [Subtest] = []
    /// Every subtest reported, kept or not, by outcome.
    public private(set) var counts = SubtestCounts()
    /// How many subtests were reported past `maximumKept` (counted, not kept).
    public private(set) var dropped = 0
    /// The first subtest that failed (kept or not): the one a verdict names.
    public private(set) var firstFailure: Subtest?

    private var parser: (any SubtestLineParser)?
    private var line: [UInt8] = []
    private var cut = false
    private var finished = false
    private let limit: Int

    /// A stream for `outputProtocol`; `exitcode` reads nothing.
    /// - Parameters:
    ///   - outputProtocol: How the output reports subtests.
    ///   - maximumKept: The most subtests kept (the rest counted); `maximumKept` unless given (tests use less).
    public init(protocol outputProtocol: OutputProtocol, maximumKept: Int = SubtestStream.maximumKept) {
        self.outputProtocol = outputProtocol
        self.limit = maximumKept
        switch outputProtocol {
        case .exitcode: parser = nil
        case .tap: parser = TAPParser(kernel: false)
        case .ktap: parser = TAPParser(kernel: true)
        case .kvmUnitTests: parser = KVMUnitTestsParser()
        case .gtest: parser = GTestParser()
        }
        line.reserveCapacity(256)
    }

    /// Whether this protocol reads anything (every one but `exitcode`).
    public var parses: Bool { parser != nil }

    /// Reads the next bytes of the output.
    /// - Parameter bytes: The bytes, as they came (a line may span several calls).
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        guard parser != nil, !finished else { return }
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                endLine()
            } else if line.count < Self.maximumLineBytes {
                line.append(byte)
            } else {
                cut = true
            }
        }
    }

    /// Reads the last, unterminated line and closes what the output left open (a plan's missing tests,
    /// a GoogleTest test that never ended); nothing is read after.
    public mutating func finish() {
        guard parser != nil, !finished else { return }
        if !line.isEmpty { endLine() }
        finished = true
        if let found = parser?.finish() { take(found) }
        if let extra = parser?.countedOnly, extra.total > 0 {
            counts.fail += extra.fail
            dropped += extra.total
        }
    }

    private mutating func endLine() {
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let text = String(decoding: line, as: UTF8.self)
        line.removeAll(keepingCapacity: true)
        cut = false
        if let found = parser?.read(text), !found.isEmpty { take(found) }
    }

    private mutating func take(_ found: [Subtest]) {
        for var subtest in found {
            subtest.name = Self.capped(subtest.name)
            counts.add(subtest.outcome)
            if subtest.outcome == .fail, firstFailure == nil { firstFailure = subtest }
            if subtests.count < limit {
                subtest.ordinal = subtests.count + 1
                subtests.append(subtest)
            } else {
                dropped += 1
            }
        }
    }
}

extension SubtestStream {
    /// `name` cut to `maximumLineBytes` (a deeply nested name grows with each parent), `…` at the end when cut.
    static func capped(_ name: String) -> String {
        guard name.utf8.count > maximumLineBytes else { return name }
        var cut = String(decoding: name.utf8.prefix(maximumLineBytes - 3), as: UTF8.self)
        while cut.utf8.count > maximumLineBytes - 3 { cut.removeLast() }
        return cut + "…"
    }
}

/// A protocol's reader of one line at a time (the stream splits and bounds the lines).
protocol SubtestLineParser: Sendable {
    /// The subtests `line` completes (it has no newline), in report order.
    mutating func read(_ line: String) -> [Subtest]
    /// The subtests the end of the output completes.
    mutating func finish() -> [Subtest]
    /// Failures counted but never made into values (a plan of millions never reported), known once finished.
    var countedOnly: SubtestCounts { get }
}

extension SubtestLineParser {
    /// None.
    var countedOnly: SubtestCounts { SubtestCounts() }
}
