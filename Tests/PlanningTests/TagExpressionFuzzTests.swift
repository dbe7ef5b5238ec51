@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Planning
import PropertyBased
@testable import Requirements
import TestSupport
import Testing

/// Pieces that `--tag` expressions are made of, and pieces that break them.
let tagPieces = [
    "a", "b", "quick", "slow", "x-y", "and", "or", "not", "AND", "Or", "NOT", "andy", "(", ")", "!", "&", "|", ",",
    " ", "\t", "\n", "\u{1B}[2J", "\r", "\u{0}", "é", "🙂", "e\u{301}", "((", "))", "!!", "&&", "||",
]

/// Runs of one piece long enough to matter: `(` and `!` by the hundreds or thousands.
let tagRuns = zip(Gen.element(of: ["(", ")", "!", "!(", "a&", "a|", "(!", "not "]), Gen.int(in: 0...3000))
    .map { piece, count in String(repeating: piece ?? "", count: count) }

let tagText = Gen.oneOf(
    Gen.element(of: tagPieces).array(of: 0...16).map { $0.compactMap { $0 }.joined() },
    // Deep structures: runs around a random middle, balanced or not.
    zip(tagRuns, Gen.element(of: tagPieces).array(of: 0...6), tagRuns)
        .map { open, middle, close in open + middle.compactMap { $0 }.joined() + close },
    // Balanced nesting around the limit.
    zip(Gen.int(in: 90...110), Gen.element(of: ["a", "!a", "a & b", "a | !b", "!!!a"]))
        .map { depth, inner in String(repeating: "(", count: depth) + (inner ?? "a") + String(repeating: ")", count: depth) }
)

/// The tag sets every parsed expression is checked against.
let tagSets: [Set<String>] = [[], ["a"], ["b"], ["a", "b"], ["quick", "slow"], ["a", "b", "quick", "slow", "x-y", "é", "🙂"]]

@Suite("fuzzing the --tag expression parser (TESTBED_FUZZ_SECONDS=600 runs it ten minutes)")
struct TagExpressionFuzzTests {
    @Test("random --tag expressions parse to what a reference evaluator computes, or fail with a short message; never a crash")
    func expressions() async {
        await fuzzRounds {
            await propertyCheck(count: fuzzCount, input: tagText) { text in
                Self.check(text)
            }
        }
    }

    static func check(_ text: String) {
        let reference = ReferenceTagEvaluator(text)
        do {
            let expression = try TagExpression(parsing: text)
            #expect(reference.valid, "the parser accepts what the reference refuses: \(text.debugDescription)")
            #expect(reference.depth <= TagExpression.maximumNesting)
            for tags in tagSets {
                #expect(expression.matches(tags) == reference.evaluate(tags), "\(text.debugDescription) on \(tags)")
            }
            // What it prints parses back to the same expression.
            #expect((try? TagExpression(parsing: expression.description)) == expression, "\(text.debugDescription)")
        } catch {
            #expect(!reference.valid || reference.depth > TagExpression.maximumNesting,
                    "the parser refuses what the reference accepts: \(text.debugDescription): \(error)")
            let message = error.description
            #expect(message.hasPrefix("invalid tag expression \""))
            #expect(message.hasSuffix("write e.g. `migration & !slow` or `quick | smoke`"))
            // One short line, whatever the input: no control character, at most ~250 characters.
            #expect(firstUnprintable(in: message) == nil, "\(message.debugDescription)")
            #expect(message.count < 260, "\(message.count) characters for \(text.count)")
        }
    }
}

/// An evaluator written another way (shunting-yard to postfix, then a stack
/// of booleans), to check the parser's tree against: `!` binds tightest,
/// then `&` (and `,`, `and`), then `|` (`or`). It also measures the
/// nesting of parentheses.
struct ReferenceTagEvaluator {
    enum Token: Equatable {
        case tag(String)
        case not, and, or, open, close
    }

    var postfix: [Token] = []
    var valid = true
    var depth = 0

    init(_ text: String) {
        var tokens: [Token] = []
        var word = ""
        func flush() {
            guard !word.isEmpty else { return }
            switch word.lowercased() {
            case "and": tokens.append(.and)
            case "or": tokens.append(.or)
            case "not": tokens.append(.not)
            default: tokens.append(.tag(word))
            }
            word = ""
        }
        for c in text {
            switch c {
            case "(": flush(); tokens.append(.open)
            case ")": flush(); tokens.append(.close)
            case "!": flush(); tokens.append(.not)
            case "&", ",": flush(); tokens.append(.and)
            case "|": flush(); tokens.append(.or)
            default: if c.isWhitespace { flush() } else { word.append(c) }
            }
        }
        flush()
        // Grammar check: an operand is expected after nothing, `(`, `!`, `&`, `|`.
        var expectOperand = true
        var open = 0
        for token in tokens {
            switch token {
            case .tag: if !expectOperand { valid = false }; expectOperand = false
            case .not, .open:
                if !expectOperand { valid = false }
                if token == .open { open += 1; depth = max(depth, open) }
            case .and, .or: if expectOperand { valid = false }; expectOperand = true
            case .close:
                if expectOperand || open == 0 { valid = false }
                open -= 1
            }
        }
        if expectOperand || open != 0 { valid = false }
        guard valid else { return }
        // Shunting-yard; `!` is a right-associative prefix operator.
        func precedence(_ token: Token) -> Int { token == .not ? 3 : token == .and ? 2 : 1 }
        var operators: [Token] = []
        for token in tokens {
            switch token {
            case .tag: postfix.append(token)
            case .not: operators.append(token)
            case .and, .or:
                while let top = operators.last, top != .open, precedence(top) >= precedence(token) {
                    postfix.append(operators.removeLast())
                }
                operators.append(token)
            case .open: operators.append(token)
            case .close:
                while let top = operators.last, top != .open { postfix.append(operators.removeLast()) }
                operators.removeLast()
            }
        }
        postfix += operators.reversed()
    }

    func evaluate(_ tags: Set<String>) -> Bool {
        var stack: [Bool] = []
        for token in postfix {
            switch token {
            case .tag(let name): stack.append(tags.contains(name))
            case .not: stack.append(!stack.removeLast())
            case .and:
                let b = stack.removeLast()
                let a = stack.removeLast()
                stack.append(a && b)
            case .or:
                let b = stack.removeLast()
                let a = stack.removeLast()
                stack.append(a || b)
            case .open, .close: break
            }
        }
        return stack.last ?? false
    }
}
