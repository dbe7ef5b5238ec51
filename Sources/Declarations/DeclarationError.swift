import Glibc

/// A declaration that is not valid: which file, which line, what is wrong and
/// how to fix it. Rendered as `examples/testbed.yaml:12: unknown key "timout"
/// in test "qmp"; did you mean "timeout"?`.
public struct DeclarationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file as the user named it (relative paths stay relative).
    public let file: String
    /// 1-based line, or nil when the problem is the whole file.
    public let line: Int?
    /// What is wrong and how to fix it, lowercase, ending with the fix.
    public let message: String
    /// Not the file's fault: Testbed itself was out of file descriptors
    /// (`EMFILE`, `ENFILE`) when it read the file (`outOfDescriptors`).
    public var isTestbedLimit = false

    /// An error in `file` at `line`, not a Testbed limit.
    /// - Parameters:
    ///   - file: The file as the user named it.
    ///   - line: The 1-based line, or nil for the whole file.
    ///   - message: What is wrong and how to fix it: lowercase, ending with the fix.
    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// Whether an errno of open, opendir or read means Testbed ran out of
    /// file descriptors (its own, `EMFILE`, or the system's, `ENFILE`).
    /// - Parameter code: An `errno` value.
    /// - Returns: True for `EMFILE` and `ENFILE`.
    public static func isDescriptorShortage(_ code: Int32) -> Bool {
        code == EMFILE || code == ENFILE
    }

    /// `file` could not be read because Testbed was out of file descriptors
    /// (`code` is `EMFILE` or `ENFILE`): Testbed's limit, not the suite's.
    /// - Parameters:
    ///   - file: The file as the user named it.
    ///   - code: The `errno` of the failed open or read, `EMFILE` or `ENFILE`.
    /// - Returns: An error for the whole file with `isTestbedLimit` set, whose
    ///   message names `strerror(code)` and how to raise the limit.
    public static func outOfDescriptors(file: String, errno code: Int32) -> DeclarationError {
        var error = DeclarationError(file: file, line: nil, message:
            "cannot be read: testbed ran out of file descriptors (\(String(cString: strerror(code)))); this is testbed's "
            + "limit, not the file's: raise it (ulimit -n 1024, or fs.file-max for the whole system) and run again")
        error.isTestbedLimit = true
        return error
    }

    /// One line: control characters in the file name or the message (a test
    /// name with a newline or an ESC sequence, quoted) are escaped (`\n`,
    /// `\u{1B}`), so an error cannot forge lines or clear the terminal.
    public var description: String {
        if let line { return "\(file.escapingControls):\(line): \(message.escapingControls)" }
        return "\(file.escapingControls): \(message.escapingControls)"
    }
}

/// Suggests the closest of `candidates` to a misspelt `word`.
/// - Parameters:
///   - word: What the user wrote.
///   - candidates: The names that are known.
/// - Returns: The candidate equal to `word` ignoring case if there is one;
///   else the candidate at the smallest edit distance (Levenshtein, in
///   characters) if that distance is at most max(2, a third of `word`'s
///   length); else nil.
public func closest(to word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    // The same name in another case (`KVM`, `Kernel`) is the answer.
    if let same = candidates.first(where: { $0.lowercased() == word.lowercased() }) { return same }
    let chars = Array(word)
    let allowed = max(2, chars.count / 3)
    // Names whose lengths differ by more than the distance allowed cannot be
    // close: skipped before the quadratic distance (a 100,000-character name
    // against every fact name took seconds).
    let best = candidates.lazy.map { Array($0) }.filter { abs($0.count - chars.count) <= allowed }
        .map { (String($0), distance(chars, $0)) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= allowed else { return nil }
    return best.0
}
