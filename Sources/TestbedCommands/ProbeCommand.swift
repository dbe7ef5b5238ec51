import ArgumentParser
import Catalog
import Declarations
import Execution
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Reporting
import Requirements
import Results

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show the facts of this host (or of --environment FILE).",
        discussion: """
        Every probe runs: root, kernel, arch, os, os-version, cpus, memory, kvm, \
        virtualized, qemu and the QEMU binaries on PATH, CPU flags, PCI devices, and \
        the kernel config and module counts. Facts that are missing are listed with \
        the reason. cmd:NAME, kconfig:CONFIG_X, module:NAME and file:PATH are probed \
        when a requirement names them.
        """)

    @OptionGroup var environmentOptions: EnvironmentOptions

    @Flag(help: "Print JSON: {\"environment\", \"facts\": [{\"name\", \"value\", \"source\"}], \"missing\": [{\"name\", \"reason\"}]}.")
    var json = false

    static let listed = ["root", "kernel", "arch", "os", "os-version", "cpus", "memory", "kvm", "virtualized", "qemu", "qemu-img"]

    struct Output: Encodable {
        struct Missing: Encodable { let name: String; let reason: String }
        let environment: String
        let facts: [Fact]
        let missing: [Missing]
    }

    func validate() throws {
        try environmentOptions.requireExistingFile()
    }

    func run() throws {
        let environment = try environmentOptions.load()
        let facts = environment.allFacts()
        let present = Set(facts.map(\.name))
        var missing: [Output.Missing] = []
        let names = (environment.host != nil ? Self.listed : []) + environment.unavailable().map(\.name)
        for name in names where !present.contains(name) && !missing.contains(where: { $0.name == name }) {
            if case .absent(let reason) = environment.lookup(name) { missing.append(.init(name: name, reason: reason)) }
        }
        if json {
            emit(encodeJSON(Output(environment: environment.environmentName, facts: facts, missing: missing)))
            return
        }
        let style = Style.standard
        // Values, sources and reasons quote the host (/etc/os-release, a
        // program's --version line, a file: fact, a directory on PATH): shown
        // escaped, as run and report show them.
        var out = style.bold("environment: \(environment.environmentName.escapingControls)")
        if let description = environment.description { out += " (\(description.escapingControls))" }
        out += "\n\n"
        // CPU flags fold into one row: there are a hundred of them.
        let flags = facts.filter { $0.name.hasPrefix("cpu-flag:") }.map { $0.name.dropFirst(9).escapingControls }
        var rows: [(String, String, String)] = facts.filter { !$0.name.hasPrefix("cpu-flag:") }.map {
            ($0.name.escapingControls, Self.show($0).escapingControls, $0.source.escapingControls)
        }
        if !flags.isEmpty { rows.append(("cpu-flag:*", flags.joined(separator: " "), "/proc/cpuinfo")) }
        // At least as wide as the headings, and two spaces: "FACT  VALUE  SOURCE".
        let width = min(28, max(4, rows.map(\.0.count).max() ?? 0) + 2)
        let valueWidth = min(40, max(5, rows.map(\.1.count).max() ?? 0) + 2)
        out += style.dim("FACT".padded(width) + "VALUE".padded(valueWidth) + "SOURCE") + "\n"
        // A name or value that leaves less than two spaces before the next
        // column ends its line, and the next column goes on below, in its
        // place: the columns never run together, whatever a fact's length.
        for (name, value, source) in rows {
            out += name.count + 2 > width ? name + "\n" + String(repeating: " ", count: width) : name.padded(width)
            if value.count + 2 > valueWidth {
                out += value + "\n" + String(repeating: " ", count: width + valueWidth) + source + "\n"
            } else {
                out += value.padded(valueWidth) + source + "\n"
            }
        }
        if !missing.isEmpty {
            out += "\n" + style.bold("missing") + "\n"
            for item in missing { out += "  " + Self.cell(item.name.escapingControls, width - 2) + item.reason.escapingControls + "\n" }
        }
        out += "\n\(facts.count) facts; cmd:NAME, kconfig:CONFIG_X, module:NAME and file:PATH are probed on demand.\n"
        emit(out)
    }

    /// `text` padded to `width` columns, with at least two spaces after it
    /// however long it is (a name of 60 characters in a 28-column column).
    static func cell(_ text: String, _ width: Int) -> String {
        text.count + 2 > width ? text + "  " : text.padded(width)
    }

    static func show(_ fact: Fact) -> String {
        guard let value = fact.value else { return "yes" }
        if fact.name == "memory", let size = Size(parsing: value), !size.hasUnit { return "\(size) (\(value))" }
        return value
    }
}
