import Foundation
import Testing
import TestSupport

/// The commands and long options the argument parser knows, from
/// `testbed --experimental-dump-help` (what the man page generator reads):
/// each displayed command's path ("testbed run") and its long option names.
func parserCommands() throws -> [(path: String, subcommand: String?, options: [String])] {
    let dump = try testbed(["--experimental-dump-help"])
    #expect(dump.status == 0, "\(dump.stderr)")
    let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
    var found: [(String, String?, [String])] = []
    func walk(_ command: [String: Any], path: String, name: String?) {
        guard command["shouldDisplay"] as? Bool ?? true else { return }
        let arguments = command["arguments"] as? [[String: Any]] ?? []
        let long = arguments.flatMap { argument -> [String] in
            guard argument["shouldDisplay"] as? Bool ?? true else { return [] }
            let names = argument["names"] as? [[String: Any]] ?? []
            return names.compactMap { $0["kind"] as? String == "long" ? $0["name"] as? String : nil }
        }
        found.append((path, name, long))
        for sub in command["subcommands"] as? [[String: Any]] ?? [] {
            let subName = sub["commandName"] as? String ?? "?"
            walk(sub, path: path + " " + subName, name: subName)
        }
    }
    walk(try #require(root["command"] as? [String: Any]), path: "testbed", name: nil)
    return found
}

@Suite("The man page and shell completions follow the argument parser")
struct ManualTests {
    static let regenerate = "regenerate it: swift package --allow-writing-to-package-directory generate-manual --date YYYY-MM-DD "
        + "&& cp .build/plugins/GenerateManual/outputs/testbed/testbed.1 docs/man/testbed.1"

    @Test("docs/man/testbed.1 names every command and every long option the binary has")
    func manualIsCurrent() throws {
        let manual = try String(contentsOf: packageRoot.appendingPathComponent("docs/man/testbed.1"), encoding: .utf8)
        let commands = try parserCommands()
        #expect(commands.count >= 6, "probe, check, plan, run, report and help: \(commands.map(\.path))")
        for (path, subcommand, options) in commands {
            if let subcommand, subcommand != "help" {
                #expect(manual.contains(".It Em \(subcommand)\n"), "docs/man/testbed.1 lacks the command \(path); \(Self.regenerate)")
            }
            for option in options {
                #expect(Self.documents(manual, option), "docs/man/testbed.1 lacks --\(option) of \(path); \(Self.regenerate)")
            }
        }
    }

    @Test("every help text the manual is made of is ASCII (the man page generator drops other characters: ±, √, −, →)")
    func helpIsASCII() throws {
        let dump = try testbed(["--experimental-dump-help"])
        #expect(dump.status == 0, "\(dump.stderr)")
        let foreign = dump.stdout.unicodeScalars.filter { !$0.isASCII }.map { String($0) }
        #expect(foreign.isEmpty, "characters the manual would lose: \(Set(foreign).sorted()); use +/-, sqrt, ->")
        let manual = try String(contentsOf: packageRoot.appendingPathComponent("docs/man/testbed.1"), encoding: .utf8)
        let manualIsASCII = manual.unicodeScalars.allSatisfy(\.isASCII)
        #expect(manualIsASCII, "docs/man/testbed.1 has characters beyond ASCII")
        #expect(manual.contains("1.96 * sqrt(p(1-p)/n)"), "docs/man/testbed.1 is not regenerated; \(Self.regenerate)")
    }

    /// Whether an item line of the manual (`.It Fl -json`, `.It Fl e , -environment Ar file`) names `--option` exactly.
    static func documents(_ manual: String, _ option: String) -> Bool {
        manual.split(separator: "\n").contains { line in
            line.hasPrefix(".It Fl ") && line.split(separator: " ").contains { $0 == "-" + option }
        }
    }

    @Test("completion scripts come from the binary and know every command and long option", arguments: ["bash", "zsh", "fish"])
    func completions(shell: String) throws {
        let script = try testbed(["--generate-completion-script", shell])
        #expect(script.status == 0, "\(script.stderr)")
        for (path, subcommand, options) in try parserCommands() {
            if let subcommand { #expect(script.stdout.contains(subcommand), "\(shell) completion lacks \(path)") }
            for option in options { #expect(script.stdout.contains(option), "\(shell) completion lacks --\(option) of \(path)") }
        }
    }
}
