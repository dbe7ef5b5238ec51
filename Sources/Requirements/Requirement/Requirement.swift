import Declarations

/// What a test or setup needs from the host: one string of the requirement
/// grammar (DESIGN.md), such as `root`, `!virtualized`, `qemu >= 8.2`,
/// `kernel-5.10+` or `cpu-flag:vmx | cpu-flag:svm`.
///
/// A requirement is met when any one of its alternatives is met.
public struct Requirement: Sendable, Hashable, CustomStringConvertible {
    /// The text as written in the declaration.
    public let text: String
    /// The alternatives; any one suffices.
    public let alternatives: [Alternative]

    /// The text as written.
    public var description: String { text }

    /// Parses one requirement; throws a `RequirementError` that quotes the text
    /// and points at the bad part.
    ///
    /// - Parameter text: One requirement as written: alternatives separated by `|`, each `NAME`, `!NAME` or `NAME OP VALUE`.
    ///   Surrounding whitespace is dropped.
    /// - Throws: `RequirementError` with the 1-based column of the first bad part: a control character (a tab aside), an empty
    ///   alternative, a name with a character outside `isNameCharacter(_:)`, a missing or unknown operator or value.
    public init(parsing text: String) throws(RequirementError) {
        self.text = text.trimmingWhitespace()
        // A control character (but a tab) would reach the terminal in every verdict that quotes the requirement.
        if let bad = text.firstIndex(where: { $0.unicodeScalars.contains { isUnprintable($0) && $0 != "\t" } }) {
            throw RequirementError(text: text, column: text.distance(from: text.startIndex, to: bad) + 1,
                                   problem: "control character `\(String(text[bad]).escapingControls)`",
                                   fix: "a requirement is one line of plain text; remove it")
        }
        var alternatives: [Alternative] = []
        var offset = 0
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        for part in parts {
            alternatives.append(try Alternative(parsing: part, in: text, at: offset))
            offset += part.count + 1
        }
        self.alternatives = alternatives
    }

    /// Every fact name the requirement mentions.
    public var factNames: [String] { alternatives.map(\.name) }
}

/// One alternative of a requirement.
public enum Alternative: Sendable, Hashable, CustomStringConvertible {
    /// `NAME`: the fact must be present (and, if it is a flag, true).
    case present(String)
    /// `!NAME`: the fact must be absent.
    case absent(String)
    /// `NAME OP VALUE` or `NAME-VERSION+`: compare the fact's value.
    case compare(String, ComparisonOperator, String)

    /// The fact this alternative is about.
    public var name: String {
        switch self {
        case let .present(name), let .absent(name), let .compare(name, _, _): name
        }
    }

    /// The alternative in the grammar (`!root`, `qemu >= 8.2`).
    public var description: String {
        switch self {
        case let .present(name): name
        case let .absent(name): "!\(name)"
        case let .compare(name, op, value): "\(name) \(op.rawValue) \(value)"
        }
    }
}

/// The comparison operators of the grammar.
public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    case greaterOrEqual = ">="
    case greater = ">"
    case lessOrEqual = "<="
    case less = "<"
    case equal = "=="
    case notEqual = "!="

    /// Whether `order` (-1, 0, 1: fact against wanted value) satisfies the operator.
    ///
    /// - Parameter order: -1, 0 or 1 as the fact's value is below, equal to or above the wanted value (see `compareValues`).
    /// - Returns: True when the order satisfies the operator (`>=`: 0 or 1, `!=`: -1 or 1…).
    public func holds(order: Int) -> Bool {
        switch self {
        case .greaterOrEqual: order >= 0
        case .greater: order > 0
        case .lessOrEqual: order <= 0
        case .less: order < 0
        case .equal: order == 0
        case .notEqual: order != 0
        }
    }
}

/// A requirement that does not parse: the text, the 1-based column of the bad
/// part, what is wrong and how to fix it.
public struct RequirementError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The requirement as written.
    public let text: String
    /// The 1-based column of the bad part.
    public let column: Int
    /// What is wrong.
    public let problem: String
    /// How to fix it.
    public let fix: String

    /// `invalid requirement "…": problem at column N; fix`.
    public var description: String {
        "invalid requirement \"\(shortened(text))\": \(problem) at column \(column); \(fix)"
    }
}

extension Alternative {
    /// Characters allowed in a fact name besides letters and digits.
    static let nameSymbols: Set<Character> = ["_", ".", ":", "/", "@", "-"]

    /// A digit or number that is not ASCII 0-9 (`６`, `٣`, `²`, `½`, `Ⅻ`):
    /// versions and numbers of the grammar are ASCII only, and version
    /// order would read `６０` as a word, not as 60.
    static func isForeignDigit(_ c: Character) -> Bool {
        !c.isASCII && c.isNumber
    }

    /// The text with each decimal digit of another script (`６`, `٢`)
    /// written in ASCII; other characters (`²`, `½`) as they are, shortened
    /// for a message.
    static func asciiDigits(_ text: String) -> String {
        shortened(String(text.map { c -> Character in
            guard isForeignDigit(c), c.unicodeScalars.count == 1, c.unicodeScalars.first!.properties.numericType == .decimal,
                  let value = c.wholeNumberValue else { return c }
            return Character(String(value))
        }))
    }

    /// Whether a character may appear in a fact name: ASCII letters and digits, `_ . : / @ -`.
    ///
    /// - Parameter c: A character of a requirement.
    /// - Returns: True for ASCII letters and digits and `_ . : / @ -`.
    public static func isNameCharacter(_ c: Character) -> Bool {
        (c.isASCII && (c.isLetter || c.isNumber)) || nameSymbols.contains(c)
    }

    init(parsing raw: Substring, in text: String, at offset: Int) throws(RequirementError) {
        func fail(_ column: Int, _ problem: String, _ fix: String) -> RequirementError {
            RequirementError(text: text, column: column + 1, problem: problem, fix: fix)
        }
        let chars = Array(raw)
        var start = 0
        var end = chars.count
        while start < end, chars[start].isWhitespace { start += 1 }
        while end > start, chars[end - 1].isWhitespace { end -= 1 }
        guard start < end else {
            throw fail(offset + start, "empty alternative",
                       "write a fact name on each side of `|`, e.g. `cpu-flag:vmx | cpu-flag:svm`")
        }
        let body = chars[start..<end]
        let base = offset + start

        // `!NAME`
        if body.first == "!" {
            let name = String(body.dropFirst()).trimmingWhitespace()
            guard !name.isEmpty else {
                throw fail(base, "`!` without a fact name", "write `!NAME`, e.g. `!virtualized`")
            }
            try Alternative.validate(name: name, text: text, at: base + 1 + (body.count - 1 - name.count), fail)
            self = .absent(name)
            return
        }

        // NAME OP VALUE
        if let (opIndex, op) = Alternative.findOperator(in: body) {
            let name = String(body[body.startIndex..<opIndex]).trimmingWhitespace()
            let valueStart = opIndex + op.rawValue.count
            // `=>` and `=<`, written as spoken: the `=` would end up in the fact name.
            if op == .greater || op == .less, opIndex > body.startIndex, body[opIndex - 1] == "=" {
                let meant = op.rawValue + "="
                let stem = String(name.dropLast()).trimmingWhitespace()
                let value = String(body[valueStart..<body.endIndex]).trimmingWhitespace()
                throw fail(base + (opIndex - 1 - body.startIndex), "`=\(op.rawValue)` is not an operator",
                           "did you mean `\(meant)`? write `\(shortened(stem.isEmpty ? "NAME" : stem)) \(meant) \(shortened(value.isEmpty ? "VALUE" : value))`")
            }
            let value = String(body[valueStart..<body.endIndex]).trimmingWhitespace()
            guard !name.isEmpty else {
                throw fail(base + (opIndex - body.startIndex), "missing fact name before `\(op.rawValue)`",
                           "write `NAME \(op.rawValue) VALUE`, e.g. `qemu \(op.rawValue) 8.2`")
            }
            try Alternative.validate(name: name, text: text, at: base, fail)
            guard !value.isEmpty else {
                throw fail(base + (opIndex - body.startIndex), "missing value after `\(op.rawValue)`",
                           "write `\(shortened(name)) \(op.rawValue) VALUE`, e.g. `\(shortened(name)) \(op.rawValue) 8.2`")
            }
            if let bad = value.firstIndex(where: { $0.isWhitespace || "<>=!|".contains($0) }) {
                let leading = body[valueStart...].prefix(while: \.isWhitespace).count
                let column = base + (valueStart - body.startIndex) + leading + value.distance(from: value.startIndex, to: bad)
                throw fail(column, "unexpected `\(value[bad])` in value `\(shortened(value))`",
                           "a value is one word such as `8.2` or `2013-10-24`; join alternatives with `|`")
            }
            if let bad = value.firstIndex(where: Alternative.isForeignDigit) {
                let leading = body[valueStart...].prefix(while: \.isWhitespace).count
                let column = base + (valueStart - body.startIndex) + leading + value.distance(from: value.startIndex, to: bad)
                throw fail(column, "`\(value[bad])` in value `\(shortened(value))` is not an ASCII digit",
                           "write versions and numbers with the digits 0-9: `\(shortened(name)) \(op.rawValue) \(Alternative.asciiDigits(value))`")
            }
            self = .compare(name, op, value)
            return
        }

        // A lone `=` is a common slip for `==`.
        if let eq = body.firstIndex(of: "=") {
            throw fail(base + (eq - body.startIndex), "`=` is not an operator",
                       "compare with `==` (or >=, >, <=, <, !=)")
        }

        // NAME-VERSION+
        let word = String(body)
        if word.hasSuffix("+") {
            let stem = Array(word.dropLast())
            var split: Int?
            for i in stem.indices where stem[i] == "-" && i + 1 < stem.count && stem[i + 1].isNumber {
                split = i
                break
            }
            guard let split, split > 0 else {
                throw fail(base + word.count - 1, "`+` without `NAME-VERSION` before it",
                           "write the shorthand as `NAME-VERSION+`, e.g. `kernel-5.10+`, or `NAME >= VERSION`")
            }
            let name = String(stem[0..<split])
            let version = String(stem[(split + 1)...])
            try Alternative.validate(name: name, text: text, at: base, fail)
            if let bad = version.firstIndex(where: Alternative.isForeignDigit) {
                throw fail(base + split + 1 + version.distance(from: version.startIndex, to: bad),
                           "`\(version[bad])` in version `\(shortened(version))` is not an ASCII digit",
                           "write versions with the digits 0-9: `\(shortened(name))-\(Alternative.asciiDigits(version))+`")
            }
            if let bad = version.firstIndex(where: { !(Alternative.isNameCharacter($0) || $0 == "~" || $0 == "+") }) {
                throw fail(base + split + 1 + version.distance(from: version.startIndex, to: bad),
                           "unexpected `\(version[bad])` in version `\(shortened(version))`", "write e.g. `\(shortened(name))-8.2+`")
            }
            self = .compare(name, .greaterOrEqual, version)
            return
        }

        try Alternative.validate(name: word, text: text, at: base, fail)
        self = .present(word)
    }

    /// The first operator in the text, longest match first.
    static func findOperator(in body: ArraySlice<Character>) -> (Int, ComparisonOperator)? {
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            let next: Character? = i + 1 < body.endIndex ? body[i + 1] : nil
            switch (c, next) {
            case (">", "="): return (i, .greaterOrEqual)
            case ("<", "="): return (i, .lessOrEqual)
            case ("=", "="): return (i, .equal)
            case ("!", "="): return (i, .notEqual)
            case (">", _): return (i, .greater)
            case ("<", _): return (i, .less)
            default: i += 1
            }
        }
        return nil
    }

    static func validate(
        name: String, text: String, at column: Int,
        _ fail: (Int, String, String) -> RequirementError
    ) throws(RequirementError) {
        for (i, c) in name.enumerated() where !isNameCharacter(c) {
            if c.isWhitespace {
                throw fail(column + i, "space inside fact name `\(shortened(name))`",
                           "compare with an operator (`qemu >= 8.2`) or join alternatives with `|`")
            }
            throw fail(column + i, "unexpected `\(c)` in fact name `\(shortened(name))`",
                       "names use letters, digits and _ . : / @ -")
        }
    }
}
