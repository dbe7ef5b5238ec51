import Declarations

/// A Debian control file (deb822, RFC 822 style) read into stanzas: `debian/tests/control` and `debian/control`.
///
/// Stanzas are separated by blank lines (or lines of blanks); a field is `Name: value` at the start of a line, continued
/// on the lines after it that start with a space or a tab; lines starting with `#` are comments, wherever they are.
/// Field names are compared without case, as dpkg does.
struct ControlFile {
    /// One field of a stanza.
    struct Field: Equatable {
        /// The name as written (`Test-Command`).
        let name: String
        /// The value: the first line's text after the colon and each continuation line, trimmed and joined with spaces.
        let value: String
        /// The 1-based line of the field's name.
        let line: Int
    }

    /// One paragraph of fields.
    struct Stanza: Equatable {
        /// The fields in the order written.
        var fields: [Field] = []
        /// The 1-based line of its first field.
        var line: Int

        /// The field named `name` (any case), if the stanza has it.
        ///
        /// - Parameter name: A field name.
        /// - Returns: The field, or nil.
        func field(_ name: String) -> Field? {
            let lowered = name.lowercased()
            return fields.first { $0.name.lowercased() == lowered }
        }

        /// The value of the field named `name` (any case), if the stanza has it.
        subscript(name: String) -> String? { field(name)?.value }
    }

    /// The stanzas in the order written.
    let stanzas: [Stanza]

    /// Reads a control file's text.
    ///
    /// - Parameters:
    ///   - text: The file's text; lines end with `\n` or `\r\n`.
    ///   - file: The file as shown in errors.
    /// - Returns: The stanzas, and an error naming file and line for each line that is neither a field, a continuation, a
    ///   comment nor blank, and for each field written twice in one stanza.
    static func parse(_ text: String, file: String) -> (ControlFile, [DeclarationError]) {
        var stanzas: [Stanza] = []
        var errors: [DeclarationError] = []
        var current: Stanza?
        // The field being read: its name, line and lines of value.
        var pending: (name: String, line: Int, lines: [Substring])?

        func closeField() {
            guard let field = pending else { return }
            pending = nil
            // autopkgtest joins continuation lines into one line, as if written on it.
            let trimmed = field.lines.map { $0.trimmingWhitespaceAndCR() }.filter { !$0.isEmpty }.joined(separator: " ")
            if let existing = current?.field(field.name) {
                errors.append(DeclarationError(file: file, line: field.line, message:
                    "field \(field.name) is written twice in one stanza (first at line \(existing.line)); keep one"))
                return
            }
            current?.fields.append(Field(name: field.name, value: trimmed, line: field.line))
        }
        func closeStanza() {
            closeField()
            if let stanza = current, !stanza.fields.isEmpty { stanzas.append(stanza) }
            current = nil
        }

        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.first(where: { $0 != " " && $0 != "\t" }) == "#" { continue }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                closeStanza()
                continue
            }
            if line.first == " " || line.first == "\t" {
                if pending != nil {
                    pending?.lines.append(line)
                } else {
                    errors.append(DeclarationError(file: file, line: number, message:
                        "a continuation line (starting with a blank) before any field; start the stanza with `Name: value`"))
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                errors.append(DeclarationError(file: file, line: number, message:
                    "\"\(line.prefix(60))\" is not a field; write `Name: value`, or start a continuation line with a blank"))
                continue
            }
            let name = String(line[..<colon])
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                errors.append(DeclarationError(file: file, line: number, message:
                    "\"\(name.prefix(60))\" is not a field name; use letters, digits and -"))
                continue
            }
            closeField()
            if current == nil { current = Stanza(line: number) }
            pending = (name, number, [line[line.index(after: colon)...]])
        }
        closeStanza()
        return (ControlFile(stanzas: stanzas), errors)
    }

    /// Splits a list field (`Tests`, `Restrictions`, `Features`): items separated by commas, blanks or newlines.
    ///
    /// - Parameter value: The field's value.
    /// - Returns: The items in order, none empty.
    static func items(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    }
}
