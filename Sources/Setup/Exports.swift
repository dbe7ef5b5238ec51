/// The variables a setup exports to everything after it, read from the file
/// named by `$TESTBED_EXPORT`: `KEY=VALUE` lines, as CI systems read an outputs
/// file, and `KEY<<DELIMITER` … `DELIMITER` for values over several lines.
///
/// Values are literal text: nothing in them is ever evaluated.
public struct Exports: Sendable, Hashable {
    /// The variables in the order they were written; a later line wins.
    public private(set) var variables: [(key: String, value: String)] = []

    public init() {}

    public static func == (lhs: Exports, rhs: Exports) -> Bool {
        lhs.variables.map(\.key) == rhs.variables.map(\.key) && lhs.variables.map(\.value) == rhs.variables.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        for (key, value) in variables {
            hasher.combine(key)
            hasher.combine(value)
        }
    }

    /// The value of a variable, if exported.
    public subscript(key: String) -> String? {
        variables.last(where: { $0.key == key })?.value
    }

    /// The variables as a dictionary (a later line wins).
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for (key, value) in variables { result[key] = value }
        return result
    }

    /// A line that cannot be read.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Reads an export file. Blank lines and `#` comments are skipped.
    public static func parse(_ text: String) throws(ParseError) -> Exports {
        var exports = Exports()
        // "\r\n" is one Character in Swift: split on both.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
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
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ParseError(line: number, message: "expected KEY=VALUE, got `\(line.prefix(60))`")
            }
            let key = String(line[..<eq])
            try check(key: key, line: number)
            exports.variables.append((key, String(line[line.index(after: eq)...])))
        }
        return exports
    }

    static func check(key: String, line: Int) throws(ParseError) {
        guard let first = key.first, first == "_" || (first.isASCII && first.isLetter),
              key.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
            throw ParseError(line: line, message: "`\(key.prefix(60))` is not a variable name; use letters, digits and _")
        }
    }
}
