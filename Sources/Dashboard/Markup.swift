import Plot

/// A piece of the page: a Plot node in an HTML body.
public typealias Markup = Node<HTML.BodyContext>

/// Building the page's nodes on Plot's generic `element(named:nodes:)` and
/// `attribute(named:value:)`: one spelling for HTML and SVG elements alike.
///
/// Plot writes attribute values as given and keeps what looks like an entity
/// in text (`&lt;` stays `&lt;`), so every value and text here is escaped
/// first (`escaped`), completely: a test id is shown as written, whatever it holds.
enum Tag {
    /// An element with attributes (nil values are left out) and children.
    ///
    /// - Parameters:
    ///   - name: the element's name (`div`, `svg`, `rect`).
    ///   - attributes: name, value pairs, in order.
    ///   - children: its content.
    /// - Returns: the node.
    static func element(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:], _ children: [Markup] = []) -> Markup {
        var nodes: [Markup] = []
        nodes.reserveCapacity(attributes.count + children.count)
        for (key, value) in attributes {
            if let value { nodes.append(.attribute(named: key, value: escaped(value), ignoreIfValueIsEmpty: false)) }
        }
        return .element(named: name, nodes: nodes + children)
    }

    /// An element holding text only.
    ///
    /// - Parameters:
    ///   - name: the element's name.
    ///   - attributes: name, value pairs.
    ///   - text: its text (escaped).
    /// - Returns: the node.
    static func element(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:], text: String) -> Markup {
        element(name, attributes, [self.text(text)])
    }

    /// Text, escaped.
    ///
    /// - Parameter text: the text.
    /// - Returns: the node.
    static func text(_ text: String) -> Markup { .raw(escaped(text)) }

    /// `&`, `<`, `>`, `"` and `'` as entities.
    ///
    /// - Parameter text: the text.
    /// - Returns: the escaped text.
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
