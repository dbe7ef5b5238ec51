import Foundation

/// Which tests of a catalog to consider: by tag expression and by test id.
///
/// A test is selected when it matches any `--tag` expression (or there is none)
/// and any id pattern (or there is none).
public struct TestSelection: Sendable {
    public let tags: [TagExpression]
    public let ids: [String]

    public init(tags: [TagExpression] = [], ids: [String] = []) {
        self.tags = tags
        self.ids = ids
    }

    public func matches(_ test: TestDefinition) -> Bool {
        (tags.isEmpty || tags.contains { $0.matches(Set(test.tags)) })
            && (ids.isEmpty || ids.contains { Self.idMatches(pattern: $0, id: test.id) })
    }

    /// A glob (`/migration/*/tcp`, `*precopy*`; `*` also matches `/`) or a
    /// prefix that ends at a `/` (`/migration` selects `/migration/precopy/tcp`
    /// but not `/migrations`).
    public static func idMatches(pattern: String, id: String) -> Bool {
        var pattern = pattern
        if !pattern.hasPrefix("/") && !pattern.hasPrefix("*") { pattern = "/" + pattern }
        if pattern.contains(where: { "*?[".contains($0) }) {
            return fnmatch(pattern, id, 0) == 0
        }
        if pattern.hasSuffix("/") { return id.hasPrefix(pattern) }
        return id == pattern || id.hasPrefix(pattern + "/")
    }
}

/// A boolean expression over tags: `migration`, `quick | smoke`,
/// `migration & !slow`, `(kvm or tcg) and not flaky`. `,` means and (as
/// Avocado's `--filter-by-tags`), `|` or, `!` not, with parentheses.
public indirect enum TagExpression: Sendable, Hashable, CustomStringConvertible {
    case tag(String)
    case not(TagExpression)
    case and(TagExpression, TagExpression)
    case or(TagExpression, TagExpression)

    public func matches(_ tags: Set<String>) -> Bool {
        switch self {
        case .tag(let name): tags.contains(name)
        case .not(let inner): !inner.matches(tags)
        case let .and(a, b): a.matches(tags) && b.matches(tags)
        case let .or(a, b): a.matches(tags) || b.matches(tags)
        }
    }

    public var description: String {
        switch self {
        case .tag(let name): name
        case .not(let inner): "!\(inner)"
        case let .and(a, b): "(\(a) & \(b))"
        case let .or(a, b): "(\(a) | \(b))"
        }
    }

    /// A tag expression that does not parse.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let expression: String
        public let problem: String
        public var description: String {
            "invalid tag expression \"\(expression)\": \(problem); write e.g. `migration & !slow` or `quick | smoke`"
        }
    }

    public init(parsing text: String) throws(ParseError) {
        var tokens: [String] = []
        var word = ""
        for c in text {
            if "()!&|,".contains(c) || c.isWhitespace {
                if !word.isEmpty { tokens.append(word); word = "" }
                if !c.isWhitespace { tokens.append(String(c)) }
            } else {
                word.append(c)
            }
        }
        if !word.isEmpty { tokens.append(word) }
        tokens = tokens.map { token in
            switch token.lowercased() {
            case "and", ",": "&"
            case "or": "|"
            case "not": "!"
            default: token
            }
        }
        var position = 0
        func fail(_ problem: String) -> ParseError { ParseError(expression: text, problem: problem) }
        func parseOr() throws(ParseError) -> TagExpression {
            var left = try parseAnd()
            while position < tokens.count, tokens[position] == "|" {
                position += 1
                left = .or(left, try parseAnd())
            }
            return left
        }
        func parseAnd() throws(ParseError) -> TagExpression {
            var left = try parseUnary()
            while position < tokens.count, tokens[position] == "&" {
                position += 1
                left = .and(left, try parseUnary())
            }
            return left
        }
        func parseUnary() throws(ParseError) -> TagExpression {
            guard position < tokens.count else { throw fail("it ends where a tag was expected") }
            let token = tokens[position]
            position += 1
            switch token {
            case "!": return .not(try parseUnary())
            case "(":
                let inner = try parseOr()
                guard position < tokens.count, tokens[position] == ")" else { throw fail("a `(` is never closed") }
                position += 1
                return inner
            case ")", "&", "|": throw fail("unexpected `\(token)` where a tag was expected")
            default: return .tag(token)
            }
        }
        let expression = try parseOr()
        guard position == tokens.count else { throw fail("unexpected `\(tokens[position])`") }
        self = expression
    }
}
