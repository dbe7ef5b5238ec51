import ArgumentParser
import Catalog
import Declarations
import Foundation

/// Says what a misspelt command line meant: a subcommand (`rn`: `run`), a
/// long option (`--tags`: `--tag`), a suite path (`exmaples`: `examples`)
/// and an `--id` pattern that selects nothing (the nearest ids). The
/// suggestions come from `closest(to:in:)` of Declarations, as for YAML keys.
enum CommandLineTypos {
    /// Refuses a command line whose subcommand or a long option is misspelt,
    /// before ArgumentParser reads it (its own suggestion for an option comes
    /// after `validate()`, which may fail first on the option's value taken
    /// as a suite path: `check --tags quick` said `quick does not exist`).
    ///
    /// - Parameter arguments: the command line without the program's name.
    /// - Throws: `ValidationError` (64) naming the word and what was meant;
    ///   nothing when no known word is close enough (ArgumentParser's own
    ///   error follows then).
    static func check(_ arguments: [String]) throws {
        guard let first = arguments.first, !first.hasPrefix("-") else { return }
        let subcommands = Testbed.configuration.subcommands
        guard let command = subcommands.first(where: { $0._commandName == first }) else {
            let names = subcommands.map { $0._commandName } + ["help"]
            if first != "help", let guess = closest(to: first, in: names) {
                throw ValidationError("unknown subcommand '\(first.escapingControls)'; did you mean '\(guess)'?")
            }
            return
        }
        let known = longOptions(of: command)
        let takesAnything = RepeatedSelections.subcommands[first] ?? []
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { return }
            if takesAnything.contains(argument) {
                index += 2
                continue
            }
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            let name = String(argument.prefix { $0 != "=" })
            guard !known.contains(name), let guess = closest(to: name, in: known.sorted()) else { continue }
            throw ValidationError("unknown option '\(name.escapingControls)'; did you mean '\(guess)'?")
        }
    }

    /// The long options of a subcommand (`--tag`, `--help`), read from its help screen.
    static func longOptions(of command: ParsableCommand.Type) -> Set<String> {
        let help = Testbed.helpMessage(for: command, includeHidden: true, columns: 1000)
        var names: Set<String> = []
        for line in help.split(separator: "\n") where line.drop { $0 == " " }.hasPrefix("-") {
            // `  -k, --id <pattern>    Select …`: the names before the value and the help.
            let words = line.split(separator: " ").prefix { $0.hasPrefix("-") }
            for word in words where word.hasPrefix("--") {
                names.insert(String(word.prefix { $0 != "," && $0 != "=" }))
            }
        }
        return names
    }

    /// The entry beside a path that does not exist whose name is nearest to
    /// the path's last component (`exmaples` → `examples`,
    /// `suites/exmaples` → `suites/examples`); nil when none is close.
    static func nearestSibling(of path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent
        let directory = path.contains("/") ? url.deletingLastPathComponent().path : "."
        guard !name.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: directory),
              let guess = closest(to: name, in: entries.sorted()) else { return nil }
        guard let slash = path.trimmingSuffix("/").lastIndex(of: "/") else { return guess }
        return String(path[...slash]) + guess
    }

    /// For a pattern with a variant's `[axis=value,…]` that selects nothing: the combination is excluded (every pair is
    /// some variant's of that test, all its axes named), or `--variant` selects by those values.
    /// - Parameters:
    ///   - pattern: the pattern, with its leading `/` or `*`.
    ///   - ids: every test id of the catalog.
    /// - Returns: the text to add to the line (`; use --variant fruit=kiwi …`); nil when the pattern names no known pair.
    static func variantHint(_ pattern: String, ids: [String]) -> String? {
        guard let open = pattern.lastIndex(of: "[") else { return nil }
        let base = String(pattern[..<open])
        let inside = pattern[pattern.index(after: open)...].trimmingCharacters(in: CharacterSet(charactersIn: "*]"))
        let pairs = inside.split(separator: ",").map(String.init)
        guard !pairs.isEmpty else { return nil }
        // Each variant's pairs, by its test's id (the catalog holds no other `[`).
        var known: Set<String> = []
        var axesOfBase: Set<String>?
        for id in ids where id.last == "]" {
            guard let bracket = id.lastIndex(of: "[") else { continue }
            let own = id[id.index(after: bracket)..<id.index(before: id.endIndex)].split(separator: ",").map(String.init)
            known.formUnion(own)
            if id[..<bracket] == base { axesOfBase = Set(own.map { String($0.prefix { $0 != "=" }) }) }
        }
        guard pairs.allSatisfy({ known.contains($0) }) else { return nil }
        let axes = Set(pairs.map { String($0.prefix { $0 != "=" }) })
        if let axesOfBase, axes == axesOfBase, axes.count == pairs.count {
            return ": that combination of \(base.escapingControls)'s variants is excluded (`exclude:`)"
        }
        let options = pairs.map { "--variant " + $0 }.joined(separator: " ")
        let test = axesOfBase != nil ? "--id \(base.escapingControls) " : ""
        return "; to select variants by their values, write \(test)\(options.escapingControls)"
    }

    /// The id patterns that select no test of the catalog, each with the
    /// ids nearest to it: `--id /migraton selects no test;
    /// did you mean --id /migration?`. Called when nothing is selected (each line is printed as a warning).
    ///
    /// - Parameters:
    ///   - options: each `--id` and `-k` as written (`-k precopy`) and as the pattern it matches (`*precopy*`).
    ///   - ids: every test id of the catalog.
    ///   - elsewhere: the ids of the suite's tests the paths left out (`SuiteCatalog.unselectedIDs`):
    ///     a pattern that matches one of them says so, and how to reach it.
    ///   - narrowing: what the paths select (`those under /net`), when they name part of a suite.
    ///   - command: the subcommand, for the command suggested (`check`).
    ///   - root: the way to the suite root from here (`..`).
    /// - Returns: one line for each pattern that selects nothing (at most 10 lines).
    static func unmatchedIDs(_ options: [(written: String, pattern: String)], ids: [String], elsewhere: [String] = [],
                             narrowing: String? = nil, command: String = "check", root: String? = nil) -> [String] {
        var lines: [String] = []
        // The candidates: every id and every directory above one (`/migration`).
        var candidates: Set<String> = []
        for (written, pattern) in options where lines.count < 10 {
            guard !ids.contains(where: { TestSelection.idMatches(pattern: pattern, id: $0) }) else { continue }
            if candidates.isEmpty {
                for id in ids {
                    candidates.insert(id)
                    var prefix = Substring(id)
                    while let slash = prefix.lastIndex(of: "/"), slash > prefix.startIndex {
                        prefix = prefix[..<slash]
                        candidates.insert(String(prefix))
                    }
                }
            }
            let full = pattern.hasPrefix("/") || pattern.hasPrefix("*") ? pattern : "/" + pattern
            let word = full.trimmingCharacters(in: CharacterSet(charactersIn: "*"))
            var line = "\(written.escapingControls) selects no test"
            if let outside = elsewhere.first(where: { TestSelection.idMatches(pattern: pattern, id: $0) }) {
                let more = elsewhere.count(where: { TestSelection.idMatches(pattern: pattern, id: $0) }) - 1
                let also = more > 0 ? " (and \(more) more)" : ""
                if let narrowing {
                    line = "\(written.escapingControls) selects none of \(narrowing) (the path narrows the selection to them)"
                }
                line += "; it matches \(outside.escapingControls)\(also) elsewhere in the suite"
                if let root {
                    line += ": name the suite root (`testbed \(command) \(written.escapingControls) \(root.escapingControls)`) or run from it"
                }
                lines.append(line)
                continue
            }
            if let hint = variantHint(full, ids: ids) {
                line += hint
            } else if written.hasPrefix("-k "), let guess = closestComponent(word, in: candidates) {
                line += "; did you mean -k \(guess.escapingControls)?"
            } else if !written.hasPrefix("-k "), let guess = closest(to: full.hasPrefix("*") ? "/" + word : full, in: candidates.sorted()) {
                line += "; did you mean --id \(guess.escapingControls)?"
            } else {
                line += "; `testbed check --json` lists the ids"
            }
            lines.append(line)
        }
        return lines
    }

    /// What to write instead of a suite path that does not exist but names a
    /// test of the suite around the current directory: `/wrong-token is a
    /// test id, not a path; use --id /wrong-token`, or `-k WORD` when it is
    /// part of ids. Loads that suite (only when such a path was refused).
    ///
    /// - Parameter path: the path as given.
    /// - Returns: the message, or nil when no test matches (or the suite cannot be loaded).
    static func testIDHint(for path: String) async -> String? {
        var word = Substring(path)
        while word.hasPrefix("./") { word = word.dropFirst(2) }
        let trimmed = String(String(word).trimmingSuffix("/"))
        // Only inside a suite: outside one, `.` would be walked whole (a home directory).
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
        guard !trimmed.isEmpty, SuiteRoot.find(from: here) != nil, let catalog = try? await CatalogLoader().load(["."]) else { return nil }
        let ids = catalog.tests.map(\.id) + catalog.unselectedIDs
        let id = trimmed.hasPrefix("/") ? trimmed : "/" + trimmed
        let shown = path.escapingControls
        if ids.contains(where: { TestSelection.idMatches(pattern: id, id: $0) }) {
            return "\(shown) does not exist; it is a test id, not a path: use --id \(id.escapingControls)"
        }
        let keyword = trimmed.hasPrefix("/") ? String(trimmed.dropFirst()) : trimmed
        let pattern = keywordPattern(keyword)
        if let match = ids.first(where: { TestSelection.idMatches(pattern: pattern, id: $0) }) {
            return "\(shown) does not exist; it is part of test ids (\(match.escapingControls)), not a path: use -k \(keyword.escapingControls)"
        }
        return nil
    }

    /// The component of an id nearest to `word` (`-k precopi` → `precopy`).
    private static func closestComponent(_ word: String, in candidates: Set<String>) -> String? {
        closest(to: word, in: Set(candidates.flatMap { $0.split(separator: "/").map(String.init) }).sorted())
    }

    /// The `--id` pattern for `-k WORD`: ids containing WORD (`*WORD*`) when
    /// WORD has no `/` and no glob character, as pytest's `-k`; else WORD as `--id` reads it.
    static func keywordPattern(_ word: String) -> String {
        guard !word.isEmpty, !word.contains(where: { "/*?[".contains($0) }) else { return word }
        // fnmatch reads a backslash as an escape: one in WORD is literal.
        return "*" + word.replacingOccurrences(of: "\\", with: "\\\\") + "*"
    }
}

extension String {
    /// The string without trailing `suffix`es (`examples//` → `examples`).
    func trimmingSuffix(_ suffix: Character) -> Substring {
        var text = Substring(self)
        while text.count > 1, text.last == suffix { text = text.dropLast() }
        return text
    }
}
