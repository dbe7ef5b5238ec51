import Foundation
import Yams

/// Reads a YAML declaration file with the line of every value at hand, so each
/// error can name file and line.
public struct YAMLReader: Sendable {
    /// The file as the user named it.
    public let file: String

    public init(file: String) {
        self.file = file
    }

    /// Parses the text; nil for an empty document.
    public func parse(_ text: String) throws(DeclarationError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            let line = Self.secondOccurrence(of: duplicates.first ?? "", in: text, after: context.mark.line) ?? context.mark.line
            throw DeclarationError(file: file, line: line,
                                   message: "duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")); keep one of them")
        } catch let error as YamlError {
            throw convert(error)
        } catch {
            throw DeclarationError(file: file, line: nil, message: "cannot read YAML: \(error); fix the syntax")
        }
    }

    /// The line where `key:` is written a second time at the same indentation,
    /// starting from the mapping's line (Yams reports only the mapping).
    static func secondOccurrence(of key: String, in text: String, after line: Int) -> Int? {
        var first: Int?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where number + 1 >= line {
            let indent = raw.prefix(while: { $0 == " " }).count
            var rest = raw.dropFirst(indent)
            if rest.hasPrefix("- ") { continue }
            for quote in ["\"", "'"] where rest.hasPrefix(quote) { rest = rest.dropFirst() }
            guard rest.hasPrefix(key) else { continue }
            let after = rest.dropFirst(key.count).drop(while: { $0 == "\"" || $0 == "'" || $0 == " " })
            guard after.hasPrefix(":") else { continue }
            if let first, first == indent { return number + 1 }
            if first == nil { first = indent }
        }
        return nil
    }

    func convert(_ error: YamlError) -> DeclarationError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let where_ = context.map { " \($0.text)" } ?? ""
            return DeclarationError(file: file, line: mark.line,
                                    message: "YAML syntax error: \(problem)\(where_) (column \(mark.column)); fix the YAML at that line")
        case let .duplicatedKeysInMapping(duplicates, context):
            return DeclarationError(file: file, line: context.mark.line,
                                    message: "duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")); keep one of them")
        case let .reader(problem, _, _, _):
            return DeclarationError(file: file, line: nil, message: "cannot read YAML: \(problem); save the file as UTF-8 text")
        default:
            return DeclarationError(file: file, line: nil, message: "cannot read YAML: \(error)")
        }
    }

    /// The 1-based line of a node.
    public func line(_ node: Node) -> Int? { node.mark?.line }

    public func error(_ node: Node?, _ message: String) -> DeclarationError {
        DeclarationError(file: file, line: node.flatMap(line), message: message)
    }

    /// The entries of a mapping in file order, with their key nodes.
    public func mapping(_ node: Node, what: String) throws(DeclarationError) -> [(key: String, keyNode: Node, value: Node)] {
        guard case let .mapping(mapping) = node else {
            throw error(node, "\(what) must be a mapping of `key: value` lines, not \(describe(node))")
        }
        var entries: [(String, Node, Node)] = []
        for (key, value) in mapping {
            guard case let .scalar(scalar) = key else {
                throw error(key, "a key in \(what) must be plain text")
            }
            entries.append((scalar.string, key, value))
        }
        return entries
    }

    /// Rejects keys not in `allowed`, suggesting the nearest one.
    public func checkKeys(_ entries: [(key: String, keyNode: Node, value: Node)], allowed: [String], what: String) throws(DeclarationError) {
        for entry in entries where !allowed.contains(entry.key) {
            var message = "unknown key \"\(entry.key)\" in \(what)"
            if let guess = closest(to: entry.key, in: allowed) {
                message += "; did you mean \"\(guess)\"?"
            } else {
                message += "; known keys are \(allowed.joined(separator: ", "))"
            }
            throw error(entry.keyNode, message)
        }
    }

    /// A scalar as the text it was written with (`8.10` stays `8.10`).
    public func string(_ node: Node, what: String) throws(DeclarationError) -> String {
        guard case let .scalar(scalar) = node else {
            throw error(node, "\(what) must be a single value, not \(describe(node))")
        }
        return scalar.string
    }

    /// A list of strings; a single scalar counts as a list of one.
    public func strings(_ node: Node, what: String) throws(DeclarationError) -> [String] {
        switch node {
        case let .scalar(scalar):
            return scalar.string.isEmpty && scalar.style == .plain ? [] : [scalar.string]
        case let .sequence(sequence):
            var result: [String] = []
            for item in sequence {
                result.append(try string(item, what: "each item of \(what)"))
            }
            return result
        default:
            throw error(node, "\(what) must be a list such as [a, b], not \(describe(node))")
        }
    }

    /// A boolean: true/false, yes/no, on/off.
    public func bool(_ node: Node, what: String) throws(DeclarationError) -> Bool {
        let text = try string(node, what: what).lowercased()
        switch text {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, "\(what) must be true or false, not \"\(text)\"")
        }
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): "the value \"\(s.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

/// Reads a file as UTF-8 text, or throws a declaration error naming it.
public func readDeclarationFile(_ path: String, shownAs: String) throws(DeclarationError) -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                throw DeclarationError(file: shownAs, line: nil, message: "is a directory, not a file; name a YAML file")
            }
            throw DeclarationError(file: shownAs, line: nil, message: "cannot be read; check its permissions")
        }
        throw DeclarationError(file: shownAs, line: nil, message: "no such file; check the path")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw DeclarationError(file: shownAs, line: nil, message: "is not UTF-8 text; save it as UTF-8")
    }
    return text
}
