import Declarations
import Foundation
import HostFacts
import Requirements

/// Which tests of a catalog to consider: by tag expression, by test id and by
/// variant.
///
/// A test is selected when it matches any `--tag` expression (or there is none),
/// any id pattern or exact id (or there is neither) and every axis of `--variant` it has. A test not selected by default
/// (`TestDefinition.selectedByDefault`, kvm-unit-tests' `nodefault`) is selected
/// only by a `--tag` or `--id` that matches it.
public struct TestSelection: Sendable {
    /// `--tag` expressions; a test matching any is selected (every test when none).
    public let tags: [TagExpression]
    /// `--id` patterns; a test matching any is selected (every test when none).
    public let ids: [String]
    /// `--variant AXIS=VALUE`: the values each axis may take. A test with the axis is selected when its value is one of
    /// them (the same axis repeated: either); a test without the axis is not filtered by it; different axes: all hold.
    public let variants: [String: Set<String>]
    /// `--ids-from FILE`: ids matched exactly (no prefix, no glob: `/a` does not select `/a/b` nor `/a[x=1]`), OR'ed with
    /// `ids`; nil when no such list was given. An empty set selects nothing by itself.
    public let exactIDs: Set<String>?

    /// A selection.
    /// - Parameters:
    ///   - tags: Tag expressions, OR'ed.
    ///   - ids: Id patterns, OR'ed.
    ///   - variants: The values each axis may take (`--variant`); empty: every variant.
    ///   - exactIDs: Ids selected as they stand (`--ids-from`), OR'ed with `ids`; nil: none given.
    public init(tags: [TagExpression] = [], ids: [String] = [], variants: [String: Set<String>] = [:], exactIDs: Set<String>? = nil) {
        self.tags = tags
        self.ids = ids
        self.variants = variants
        self.exactIDs = exactIDs
    }

    /// Whether tests are selected by id: an `--id` pattern or an `--ids-from` list was given.
    public var selectsByID: Bool { !ids.isEmpty || exactIDs != nil }

    /// Whether the selection takes a test.
    /// - Parameter test: A test.
    /// - Returns: True when it matches a tag expression (or there is none), an id pattern or exact id (or there is
    ///   neither) and `variants` (`matchesVariant`); for a test not selected by default, only when there is a tag
    ///   expression, an id pattern or an exact id list.
    public func matches(_ test: TestDefinition) -> Bool {
        if !test.selectedByDefault, tags.isEmpty, !selectsByID { return false }
        if !variants.isEmpty, !matchesVariant(test) { return false }
        if !tags.isEmpty {
            let own = Set(test.tags)
            guard tags.contains(where: { $0.matches(own) }) else { return false }
        }
        guard selectsByID else { return true }
        if let exactIDs, exactIDs.contains(test.id) { return true }
        // The declared variant, not the id's text, says which test a variant belongs to.
        return ids.contains { Self.idMatches(pattern: $0, id: test.id, baseID: test.variant?.baseID) }
    }

    /// Whether a test's variant agrees with `variants`: for each axis named that the test has, its value is one of those
    /// given. A test without variants, or without an axis, is not filtered by it.
    /// - Parameter test: A test.
    /// - Returns: True when no axis it has rules it out.
    public func matchesVariant(_ test: TestDefinition) -> Bool {
        guard let variant = test.variant else { return true }
        for value in variant.values {
            if let allowed = variants[value.axis], !allowed.contains(value.value) { return false }
        }
        return true
    }

    /// An exact id (brackets and all: `/migration/precopy[machine=pc,accel=tcg]`), a
    /// glob (`/migration/*/tcp`, `*precopy*`; `*` also matches `/`) or a
    /// prefix that ends at a `/` or a variant's `[` (`/migration` selects `/migration/precopy/tcp`
    /// but not `/migrations`; `/migration/precopy` selects `/migration/precopy[machine=pc]`).
    /// A glob also selects a variant whose test's id it matches (`*precopy` selects `/m/precopy[machine=pc]`).
    ///
    /// - Parameters:
    ///   - pattern: The pattern as written on the command line; a leading `/` is added unless it starts with `/` or `*`.
    ///   - id: A test id (`/migration/precopy/tcp`).
    /// - Returns: True when the id equals the pattern, the glob matches the whole id (`fnmatch`, no flags) or the id
    ///   without its variant, or the id lies below the prefix or is one of its variants.
    public static func idMatches(pattern: String, id: String) -> Bool {
        // A test id holds no `[` but in its variant's suffix (the catalog refuses others): the last `[` starts it.
        var baseID: String?
        if id.last == "]", let bracket = id.lastIndex(of: "[") { baseID = String(id[..<bracket]) }
        return idMatches(pattern: pattern, id: id, baseID: baseID)
    }

    /// `idMatches(pattern:id:)` for a test whose variant is known (a catalog's test): its test's id is given, not read
    /// from the id.
    ///
    /// - Parameters:
    ///   - pattern: The pattern as written on the command line.
    ///   - id: A test id.
    ///   - baseID: The id of the test it is a variant of (`TestVariant.baseID`); nil when it is not a variant.
    /// - Returns: True when the id equals the pattern, the glob matches the whole id or `baseID`, or the id lies below the
    ///   prefix, or `baseID` equals it.
    public static func idMatches(pattern: String, id: String, baseID: String?) -> Bool {
        var pattern = pattern
        if !pattern.hasPrefix("/") && !pattern.hasPrefix("*") { pattern = "/" + pattern }
        // Before any glob reading: `[machine=pc]` would be a bracket expression.
        if id == pattern { return true }
        if pattern.contains(where: { "*?[".contains($0) }) {
            if fnmatch(pattern, id, 0) == 0 { return true }
            guard let baseID else { return false }
            return fnmatch(pattern, baseID, 0) == 0
        }
        if pattern.hasSuffix("/") { return id.hasPrefix(pattern) }
        if let baseID, baseID == pattern { return true }
        return id.hasPrefix(pattern + "/")
    }
}

/// A boolean expression over tags: `migration`, `quick | smoke`,
/// `migration & !slow`, `(kvm or tcg) and not flaky`. `,` means and (as
/// Avocado's `--filter-by-tags`), `|` or, `!` not, with parentheses.
///
/// One line of input bounds the work: parentheses nest at most
/// `maximumNesting` levels (deeper is a `ParseError`), a run of `!` is folded
/// as it is read (`!!!a` is `!a`), and `a & b & c` is one node with three
/// operands, so the tree is never deeper than the parentheses and matching
/// or printing it cannot exhaust the stack.
public indirect enum TagExpression: Sendable, Hashable, CustomStringConvertible {
    case tag(String)
    case not(TagExpression)
    /// Every operand matches (two or more).
    case and([TagExpression])
    /// Any operand matches (two or more).
    case or([TagExpression])

    /// How deep parentheses may nest: 100 levels.
    public static let maximumNesting = 100

    /// Whether a test with these tags matches.
    /// - Parameter tags: The test's tags.
    /// - Returns: True when the expression holds.
    public func matches(_ tags: Set<String>) -> Bool {
        switch self {
        case .tag(let name): tags.contains(name)
        case .not(let inner): !inner.matches(tags)
        case .and(let operands): operands.allSatisfy { $0.matches(tags) }
        case .or(let operands): operands.contains { $0.matches(tags) }
        }
    }

    /// The expression, fully parenthesized (`(a & !b)`).
    public var description: String {
        switch self {
        case .tag(let name): name
        case .not(let inner): "!\(inner)"
        case .and(let operands): "(" + operands.map(\.description).joined(separator: " & ") + ")"
        case .or(let operands): "(" + operands.map(\.description).joined(separator: " | ") + ")"
        }
    }

    /// A tag expression that does not parse: the expression (shown cut to
    /// 60 characters when longer, control characters escaped), what is wrong,
    /// and an example of one that parses.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// The expression as written.
        public let expression: String
        /// What is wrong with it.
        public let problem: String
        /// `invalid tag expression "…": problem; write e.g. …`.
        public var description: String {
            "invalid tag expression \"\(shortened(expression))\": \(problem); write e.g. `migration & !slow` or `quick | smoke`"
        }
    }

    /// Parses a tag expression: names, `!`, `&`, `|` (or `,`) and parentheses.
    /// - Parameter text: The expression as written.
    /// - Throws: `ParseError` saying what is wrong.
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
        var depth = 0
        func fail(_ problem: String) -> ParseError { ParseError(expression: text, problem: problem) }
        // Recursion only at `(`: at most `maximumNesting` levels of three frames.
        func parseOr() throws(ParseError) -> TagExpression {
            var operands = [try parseAnd()]
            while position < tokens.count, tokens[position] == "|" {
                position += 1
                operands.append(try parseAnd())
            }
            return operands.count == 1 ? operands[0] : .or(operands)
        }
        func parseAnd() throws(ParseError) -> TagExpression {
            var operands = [try parseUnary()]
            while position < tokens.count, tokens[position] == "&" {
                position += 1
                operands.append(try parseUnary())
            }
            return operands.count == 1 ? operands[0] : .and(operands)
        }
        func parseUnary() throws(ParseError) -> TagExpression {
            // A run of `!` is counted, not recursed into.
            var negated = false
            while position < tokens.count, tokens[position] == "!" {
                negated.toggle()
                position += 1
            }
            let inner = try parsePrimary()
            if negated, case .not(let plain) = inner { return plain }
            return negated ? .not(inner) : inner
        }
        func parsePrimary() throws(ParseError) -> TagExpression {
            guard position < tokens.count else { throw fail("it ends where a tag was expected") }
            let token = tokens[position]
            position += 1
            switch token {
            case "(":
                depth += 1
                guard depth <= Self.maximumNesting else {
                    throw fail("parentheses nest more than \(Self.maximumNesting) levels deep (remove the extra ones)")
                }
                let inner = try parseOr()
                guard position < tokens.count, tokens[position] == ")" else { throw fail("a `(` is never closed") }
                position += 1
                depth -= 1
                return inner
            case ")", "&", "|": throw fail("unexpected `\(token)` where a tag was expected")
            default: return .tag(token)
            }
        }
        let expression = try parseOr()
        guard position == tokens.count else { throw fail("unexpected `\(shortened(tokens[position]))`") }
        self = expression
    }
}
