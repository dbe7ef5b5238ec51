import Catalog
import Declarations
import Foundation
import HostFacts
import Requirements

extension Plan {
    /// The plan as a Graphviz digraph: setups as boxes, tests as ellipses,
    /// teardowns as dashed boxes; an edge from each step to those waiting on it.
    ///
    /// - Returns: The DOT text, one statement a line, ending with `}` and a line break; unsupported tests in a dashed
    ///   cluster of notes naming what they lack.
    public func dot() -> String {
        var lines = ["digraph plan {", "  rankdir=LR;", "  node [fontname=\"monospace\"];",
                     "  label=\"testbed plan (environment \(Self.escape(environment)))\";"]
        for step in steps {
            let shape: String
            switch step.kind {
            case .setup, .testSetup: shape = "shape=box, style=rounded"
            case .teardown, .testTeardown: shape = "shape=box, style=\"rounded,dashed\""
            case .test: shape = "shape=ellipse"
            }
            lines.append("  s\(step.id) [label=\"\(step.kindName)\\n\(Self.escape(step.label))\", \(shape)];")
        }
        for step in steps {
            for dependency in step.dependencies { lines.append("  s\(dependency) -> s\(step.id);") }
        }
        let unsupported = tests.filter { if case .unsupported = $0.status { true } else { false } }
        if !unsupported.isEmpty {
            lines.append("  subgraph cluster_unsupported {")
            lines.append("    label=\"unsupported (not planned)\"; style=dashed;")
            for (n, test) in unsupported.enumerated() {
                let why = test.status.unmet.map { Self.escape($0.description) }.joined(separator: "\\n")
                lines.append("    u\(n) [label=\"\(Self.escape(test.test.id))\\n\(why)\", shape=note, color=gray];")
            }
            lines.append("  }")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                // Reasons quote the host: an ESC shown as `\u{1B}`, its backslash
                // doubled so that Graphviz prints it as written.
                if c.unicodeScalars.contains(where: isUnprintable) {
                    out += String(c).escapingControls.replacingOccurrences(of: "\\", with: "\\\\")
                } else {
                    out.append(c)
                }
            }
        }
        return out
    }
}
