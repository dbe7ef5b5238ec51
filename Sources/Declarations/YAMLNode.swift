import CYaml

/// A YAML value with the line it starts on: what declaration files are read
/// into. Scalars keep the text they were written with (`8.10` stays `8.10`);
/// nothing is typed implicitly.
public enum YAMLNode: Sendable {
    /// A scalar's text as written, at its 1-based line; `plain` is false for
    /// quoted and block scalars.
    case scalar(String, line: Int, plain: Bool)
    /// A mapping's pairs in file order (merge keys not yet expanded), at the
    /// 1-based line it starts on.
    case mapping([(key: YAMLNode, value: YAMLNode)], line: Int)
    /// A list's items in file order, at the 1-based line it starts on.
    case sequence([YAMLNode], line: Int)

    /// The 1-based line the node starts on.
    public var line: Int {
        switch self {
        case .scalar(_, let line, _), .mapping(_, let line), .sequence(_, let line): line
        }
    }

    /// The text of a scalar; nil for a mapping or a list.
    public var text: String? {
        if case .scalar(let text, _, _) = self { return text }
        return nil
    }
}

/// Reads YAML text into `YAMLNode`s straight from libyaml's events.
///
/// Aliases are expanded (with a budget, so an alias bomb is an error, not an
/// exhausted machine), duplicate keys are errors at the second key's line, and
/// a file holds one document.
struct YAMLEventParser {
    struct Failure: Error {
        var line: Int?
        var message: String
        /// Where libyaml's reader stopped (a DEL, a C1 control, U+FFFE): the
        /// byte offset in the input and the code point; `message` is then
        /// libyaml's problem alone. libyaml gives no line for these; `parse`
        /// counts it from the offset.
        var refused: (offset: Int, value: UInt32)? = nil
        /// A YAML syntax error (`message` starts "YAML syntax error:"): the
        /// reader adds "fix the YAML at that line".
        var isSyntax = false
    }

    /// How many nodes a document may expand to, aliases included.
    static let nodeBudget = 2_000_000
    /// How deep lists and mappings may nest (a declaration needs four or
    /// five levels); `node` recurses once per level. libyaml stops at 1000.
    static let maximumNesting = 64

    var parser = yaml_parser_t()
    var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    var expanded = 0
    var depth = 0

    static func parse(_ text: String) throws(Failure) -> YAMLNode? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        var state = YAMLEventParser()
        guard yaml_parser_initialize(&state.parser) == 1 else { throw Failure(line: nil, message: "out of memory") }
        defer { yaml_parser_delete(&state.parser) }
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(Failure) -> YAMLNode? in
            yaml_parser_set_input_string(&state.parser, buffer.baseAddress, buffer.count)
            do throws(Failure) {
                return try state.document()
            } catch {
                guard let (offset, value) = error.refused else { throw error }
                throw Self.readerFailure(error.message, value: value, at: offset, in: UnsafeBufferPointer(buffer))
            }
        }
    }

    /// The error for what libyaml's reader refuses (`problem`), at its real
    /// line and column (in characters); a refused control character shown escaped.
    static func readerFailure(_ problem: String, value: UInt32, at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Failure {
        let end = min(max(0, offset), bytes.count)
        var line = 1
        var lineStart = 0
        for index in 0..<end where bytes[index] == 10 {
            line += 1
            lineStart = index + 1
        }
        // Columns count characters, as libyaml's marks do: every byte but UTF-8 continuation bytes.
        let column = bytes[lineStart..<end].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
        guard problem == "control characters are not allowed", let scalar = Unicode.Scalar(value) else {
            return Failure(line: line, message: "YAML syntax error: \(problem) (column \(column))", isSyntax: true)
        }
        let shown = isUnprintable(scalar) ? String(scalar).escapingControls : "\\u{" + String(value, radix: 16, uppercase: true) + "}"
        return Failure(line: line, message: "YAML syntax error: control character `\(shown)` is not allowed (column \(column))", isSyntax: true)
    }

    /// The next event; the caller deletes it.
    mutating func next() throws(Failure) -> yaml_event_t {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else {
            var problem = parser.problem.map { String(cString: $0) } ?? "unreadable YAML"
            var context = parser.context.map { " " + String(cString: $0) } ?? ""
            let line = Int(parser.problem_mark.line) + 1
            let column = Int(parser.problem_mark.column) + 1
            if parser.error == YAML_READER_ERROR {
                // libyaml's reader leaves problem_mark at 0 (line 1, column 1): `parse` counts from the offset.
                throw Failure(line: nil, message: problem, refused: (Int(parser.problem_offset), UInt32(bitPattern: parser.problem_value)))
            }
            if problem.hasPrefix("Maximum nesting level reached") {
                (problem, context) = ("lists or mappings nested more than \(Self.maximumNesting) levels deep", "")
            }
            let plain = Self.plainWords(problem: problem, context: context).map { ": " + $0 } ?? ""
            throw Failure(line: line, message: "YAML syntax error: \(problem)\(context) (column \(column))\(plain)", isSyntax: true)
        }
        return event
    }

    /// The common YAML mistakes in plain words, from libyaml's own problem
    /// and context texts (libyaml reports no error codes): a tab used for
    /// indentation, an unclosed quote, a key without its colon, indentation
    /// that does not line up.
    /// - Parameters:
    ///   - problem: libyaml's `problem` ("found character that cannot start any token").
    ///   - context: libyaml's `context`, with a leading space, or empty.
    /// - Returns: what most likely went wrong, or nil for the rarer errors.
    static func plainWords(problem: String, context: String) -> String? {
        switch (problem, context) {
        case ("found character that cannot start any token", _):
            "most likely a tab indents this line (YAML indents with spaces only), or a value starts with ` or @ (quote it)"
        case ("found unexpected end of stream", let context) where context.contains("quoted scalar"):
            "a quoted value is never closed (the file ends first); end it with the quote it starts with"
        case ("could not find expected ':'", _):
            "a key has no `:` after it; write `key: value`"
        case ("did not find expected key", _):
            "the indentation does not line up with the lines above, or a value holds `: ` (quote it)"
        case ("mapping values are not allowed in this context", _):
            "a line above lacks the `:` after its key, the indentation does not line up, or a value holds `: ` (quote it)"
        case ("did not find expected node content", _):
            "a value is missing or starts with a character YAML reserves; quote it"
        default:
            nil
        }
    }

    mutating func document() throws(Failure) -> YAMLNode? {
        var event = try next() // stream start
        yaml_event_delete(&event)
        event = try next()
        defer { yaml_event_delete(&event) }
        if event.type == YAML_STREAM_END_EVENT { return nil }
        var first = try next()
        let root = try node(&first)
        var end = try next() // document end
        yaml_event_delete(&end)
        var after = try next()
        defer { yaml_event_delete(&after) }
        if after.type == YAML_DOCUMENT_START_EVENT {
            throw Failure(line: Int(after.start_mark.line) + 1,
                          message: "a second YAML document; keep one document per file (remove the `---`)")
        }
        return root
    }

    static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// Builds the node that starts with `event` (which it deletes), and its size.
    mutating func node(_ event: inout yaml_event_t) throws(Failure) -> YAMLNode {
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let node = YAMLNode.scalar(text, line: line, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE)
            try count(1, line: line)
            if let anchor = Self.string(scalar.anchor) { anchors[anchor] = (node, 1) }
            return node
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else {
                throw Failure(line: line, message: "alias *\(name) names no anchor; define `&\(name)` before using it")
            }
            try count(target.size, line: line)
            return target.node
        case YAML_SEQUENCE_START_EVENT:
            try enter(line: line)
            defer { depth -= 1 }
            let anchor = Self.string(event.data.sequence_start.anchor)
            let before = expanded
            try count(1, line: line)
            var items: [YAMLNode] = []
            items.reserveCapacity(4) // lists are mostly short: one allocation, not two or three
            while true {
                var item = try next()
                if item.type == YAML_SEQUENCE_END_EVENT {
                    yaml_event_delete(&item)
                    break
                }
                items.append(try node(&item))
            }
            let node = YAMLNode.sequence(items, line: line)
            if let anchor { anchors[anchor] = (node, expanded - before) }
            return node
        case YAML_MAPPING_START_EVENT:
            try enter(line: line)
            defer { depth -= 1 }
            let anchor = Self.string(event.data.mapping_start.anchor)
            let before = expanded
            try count(1, line: line)
            var entries: [(key: YAMLNode, value: YAMLNode)] = []
            entries.reserveCapacity(4)
            // Small mappings (most of them) look for a duplicate key by a scan: cheaper than hashing.
            var keys: Set<String>?
            while true {
                var keyEvent = try next()
                if keyEvent.type == YAML_MAPPING_END_EVENT {
                    yaml_event_delete(&keyEvent)
                    break
                }
                let key = try node(&keyEvent)
                if let text = key.text {
                    if keys == nil, entries.count >= 16 {
                        keys = Set(entries.compactMap { $0.key.text })
                    }
                    let duplicate = keys != nil ? !keys!.insert(text).inserted
                                                : entries.contains { $0.key.text == text }
                    if duplicate {
                        throw Failure(line: key.line, message: "duplicate key \"\(text)\"; keep one of them")
                    }
                }
                var valueEvent = try next()
                entries.append((key, try node(&valueEvent)))
            }
            let node = YAMLNode.mapping(entries, line: line)
            if let anchor { anchors[anchor] = (node, expanded - before) }
            return node
        default:
            throw Failure(line: line, message: "unexpected YAML event \(event.type.rawValue)")
        }
    }

    /// One level deeper; refuses more than `maximumNesting`.
    mutating func enter(line: Int) throws(Failure) {
        depth += 1
        if depth > Self.maximumNesting {
            throw Failure(line: line, message: "YAML syntax error: lists or mappings nested more than \(Self.maximumNesting) levels deep", isSyntax: true)
        }
    }

    mutating func count(_ nodes: Int, line: Int) throws(Failure) {
        expanded += nodes
        if expanded > Self.nodeBudget {
            throw Failure(line: line, message: "the document expands to more than \(Self.nodeBudget) values through aliases "
                + "(a YAML alias bomb?); remove the nested aliases")
        }
    }
}
