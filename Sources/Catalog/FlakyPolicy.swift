/// A test's `flaky: K/N`: a failure of the test counts (toward the exit
/// code) only when the test failed in at least K of its last N runs on this
/// host and environment, this run included (DESIGN.md, "Flaky policy"; the
/// RFC's "notify us only if it breaks in more than 9 of 10 runs" is `9/10`).
public struct FlakyPolicy: Sendable, Hashable, Codable, CustomStringConvertible {
    /// K: how many failures among the last `window` runs make a failure count (1 ... `window`).
    public let threshold: Int
    /// N: how many runs are looked at, this one included (`threshold` ... `maximumWindow`).
    public let window: Int

    /// The largest N: the window is read from the results database at the end of each failing test.
    public static let maximumWindow = 1000

    /// A policy; nil unless 1 ≤ `threshold` ≤ `window` ≤ `maximumWindow`.
    /// - Parameters:
    ///   - threshold: K, the failures that make a failure count.
    ///   - window: N, the runs looked at.
    public init?(threshold: Int, window: Int) {
        guard threshold >= 1, threshold <= window, window <= Self.maximumWindow else { return nil }
        self.threshold = threshold
        self.window = window
    }

    /// Reads `K/N` (blanks around the slash allowed): `9/10`; nil when the
    /// text is not two whole numbers with 1 ≤ K ≤ N ≤ 1000.
    /// - Parameter text: The value as written.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let numbers = parts.map { $0.trimmingWhitespaceAndCR() }
        guard numbers.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 4 && $0.utf8.allSatisfy { (48...57).contains($0) } }),
              let threshold = Int(numbers[0]), let window = Int(numbers[1]) else { return nil }
        self.init(threshold: threshold, window: window)
    }

    /// `K/N`, as written in a declaration.
    public var description: String { "\(threshold)/\(window)" }

    /// Decodes `K/N`.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError.dataCorrupted` when the text is not a valid `K/N`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let policy = FlakyPolicy(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a flaky policy K/N: \(text)")
        }
        self = policy
    }

    /// Encodes it as `K/N`.
    /// - Parameter encoder: The encoder.
    /// - Throws: What the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
