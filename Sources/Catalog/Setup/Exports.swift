import Declarations
import HostFacts
import Requirements

/// The variables a setup exports to everything after it, read from the file
/// named by `$TESTBED_EXPORT`: `KEY=VALUE` lines, as CI systems read an outputs
/// file, and `KEY<<DELIMITER` … `DELIMITER` for values over several lines.
///
/// Values are literal text: nothing in them is ever evaluated.
public struct Exports: Sendable, Hashable {
    /// The variables in the order they were written; a later line wins.
    public private(set) var variables: [(key: String, value: String)] = []
    /// The line each of `variables` was written on (its `KEY<<DELIMITER` line for a multi-line value).
    public private(set) var lines: [Int] = []

    /// No variables.
    public init() {}

    /// Whether both export the same variables with the same values in the same order (lines aside).
    /// - Parameters:
    ///   - lhs: Exports.
    ///   - rhs: Other exports.
    /// - Returns: True when the keys and values are equal in order.
    public static func == (lhs: Exports, rhs: Exports) -> Bool {
        lhs.variables.map(\.key) == rhs.variables.map(\.key) && lhs.variables.map(\.value) == rhs.variables.map(\.value)
    }

    /// Hashes the keys and values in order.
    /// - Parameter hasher: The hasher to feed.
    public func hash(into hasher: inout Hasher) {
        for (key, value) in variables {
            hasher.combine(key)
            hasher.combine(value)
        }
    }

    /// The value of a variable, if exported.
    ///
    /// - Parameter key: A variable's name, case-sensitive.
    /// - Returns: The value of the last line that exports it, or nil when none does.
    public subscript(key: String) -> String? {
        variables.last(where: { $0.key == key })?.value
    }

    /// The variables as a dictionary (a later line wins).
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for (key, value) in variables { result[key] = value }
        return result
    }

    /// A line that cannot be read, or a variable that cannot be passed on.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The 1-based line of the export file.
        public let line: Int
        /// What is wrong with it.
        public let message: String
        /// What the setup should do instead.
        public let fix: String

        /// An error at a line of the export file.
        /// - Parameters:
        ///   - line: The 1-based line.
        ///   - message: What is wrong.
        ///   - fix: What the setup should do instead.
        public init(line: Int, message: String, fix: String = "write KEY=VALUE lines to $TESTBED_EXPORT") {
            self.line = line
            self.message = message
            self.fix = fix
        }

        /// `line N: message`.
        public var description: String { "line \(line): \(message)" }
    }

    /// Reads an export file's bytes: UTF-8 text (see `parse(_:)`).
    ///
    /// - Parameter bytes: The whole export file.
    /// - Returns: The variables, as `parse(_:)` reads them.
    /// - Throws: `ParseError` at the first line that is not valid UTF-8, or any error of `parse(_:)`.
    public static func parse(bytes: [UInt8]) throws(ParseError) -> Exports {
        if let text = String(validating: bytes, as: UTF8.self) { return try parse(text) }
        var number = 1
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if String(validating: line, as: UTF8.self) == nil { break }
            number += 1
        }
        throw ParseError(line: number, message: "is not UTF-8 text",
                         fix: "write text KEY=VALUE lines to $TESTBED_EXPORT; put binary data in a file and export its path")
    }

    /// Reads an export file. Blank lines and `#` comments are skipped; a NUL
    /// byte (which no environment variable can hold) is refused.
    ///
    /// - Parameter text: The export file's text; lines end with `\n` or `\r\n`.
    /// - Returns: The variables in the order written, with their 1-based lines.
    /// - Throws: `ParseError` for the first line that holds a NUL byte (checked before any other), that is not `KEY=VALUE` or
    ///   `KEY<<DELIMITER`, whose key is not a variable name, or whose `KEY<<` has no delimiter or is never closed.
    public static func parse(_ text: String) throws(ParseError) -> Exports {
        var exports = Exports()
        // "\r\n" is one Character in Swift: split on both.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in lines.enumerated() where line.contains("\u{0}") {
            throw ParseError(line: index + 1, message: "contains a NUL byte, which no environment variable can hold",
                             fix: "write binary data to a file and export its path")
        }
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let number = index + 1
            index += 1
            if line.allSatisfy(\.isWhitespace) || line.first == "#" { continue }
            if let heredoc = line.range(of: "<<"), !line[..<heredoc.lowerBound].contains("=") {
                let key = String(line[..<heredoc.lowerBound])
                let delimiter = String(line[heredoc.upperBound...])
                try check(key: key, line: number)
                guard !delimiter.isEmpty else {
                    throw ParseError(line: number, message: "`\(key)<<` needs a delimiter, e.g. `\(key)<<EOF`")
                }
                var body: [Substring] = []
                var closed = false
                while index < lines.count {
                    let next = lines[index]
                    index += 1
                    if next == delimiter { closed = true; break }
                    body.append(next)
                }
                guard closed else {
                    throw ParseError(line: number, message: "`\(key)<<\(delimiter)` is never closed; end the value with a line `\(delimiter)`")
                }
                exports.variables.append((key, body.joined(separator: "\n")))
                exports.lines.append(number)
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ParseError(line: number, message: "expected KEY=VALUE, got `\(line.prefix(60))`")
            }
            let key = String(line[..<eq])
            try check(key: key, line: number)
            exports.variables.append((key, String(line[line.index(after: eq)...])))
            exports.lines.append(number)
        }
        return exports
    }

    // MARK: - What a program can be given

    /// Linux's limit on one `KEY=VALUE` string of an environment, its NUL
    /// included (MAX_ARG_STRLEN: 32 pages), in bytes.
    public static let maxVariableBytes = 131072

    /// What one variable takes of a program's argument space, in bytes: Linux
    /// counts `KEY=VALUE`, its NUL and its pointer.
    ///
    /// - Parameters:
    ///   - key: The variable's name.
    ///   - value: Its value.
    /// - Returns: The UTF-8 bytes of `KEY=VALUE`, its NUL, and a pointer's size (8 bytes on 64-bit hosts).
    public static func cost(key: String, value: String) -> Int {
        key.utf8.count + 1 + value.utf8.count + 1 + MemoryLayout<UnsafeRawPointer>.size
    }

    /// Checks that the steps after the setup can be started with these
    /// variables: each `KEY=VALUE` within `maxVariableBytes`, and the whole
    /// environment within `limit` bytes. `environmentBytes`: what the rest of
    /// their environment takes (counted as `cost(key:value:)` does);
    /// `existingCost`: what a variable of that name takes of it already (an
    /// export replaces it). Throws for the first line that does not fit, with
    /// the fix: a value that large belongs in a file whose path is exported.
    ///
    /// - Parameters:
    ///   - environmentBytes: What the rest of the steps' environment takes, in bytes, counted as `cost(key:value:)` does.
    ///   - limit: The bytes a program can be given on this host (from `ARG_MAX`, less room for each step's own variables).
    ///   - existingCost: What a variable of that name already takes of `environmentBytes`, in bytes (0 when it has none).
    /// - Throws: `ParseError` at the line of the first variable over `maxVariableBytes` (131,072 bytes as `KEY=VALUE` and its
    ///   NUL), or with which the environment grows over `limit`.
    public func checkPassable(environmentBytes: Int, limit: Int, existingCost: (String) -> Int) throws(ParseError) {
        var total = environmentBytes
        var counted: [String: Int] = [:]
        for ((key, value), line) in zip(variables, lines) {
            let entry = key.utf8.count + 1 + value.utf8.count + 1
            if entry > Self.maxVariableBytes {
                throw ParseError(line: line, message: "`\(key)` is \(entry) bytes as \(key)=VALUE, over the \(Self.maxVariableBytes) bytes "
                                 + "Linux passes in one environment variable (MAX_ARG_STRLEN, its NUL included)",
                                 fix: "write the value to a file and export its path")
            }
            total -= counted[key] ?? existingCost(key)
            counted[key] = Self.cost(key: key, value: value)
            total += counted[key]!
            if total > limit {
                throw ParseError(line: line, message: "with `\(key)` the exports make the environment of the steps after this "
                                 + "setup \(total) bytes, over the \(limit) bytes a program can be given on this host "
                                 + "(ARG_MAX, less room for each step's own variables and command line)",
                                 fix: "write large values to files and export their paths")
            }
        }
    }

    static func check(key: String, line: Int) throws(ParseError) {
        guard let first = key.first, first == "_" || (first.isASCII && first.isLetter),
              key.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
            throw ParseError(line: line, message: "`\(key.prefix(60))` is not a variable name; use letters, digits and _")
        }
    }
}
