import Declarations
import Foundation
import HostFacts
import Requirements

/// Reads `testbed.yaml` files: tests (`tests:`), setups (`setups:`) and the
/// `root:` marker (read by `SuiteRoot.find`).
struct TestbedYAMLDecoder {
    /// Reads one `testbed.yaml`: its tests and setups into `state`, every
    /// problem into `state.errors`.
    func decode(_ path: String, shownAs: String, suiteRoot: String, relativeDirectory: String, state: inout LoadState) {
        let reader = YAMLReader(file: shownAs)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        do {
            let text = try readDeclarationFile(path, shownAs: shownAs)
            guard let root = try reader.parse(text) else { return }
            let entries = try reader.mapping(root, what: "a testbed.yaml file")
            try reader.checkKeys(entries, allowed: ["setups", "tests", SuiteRoot.rootKey], what: "a testbed.yaml file (top level)")
            for entry in entries {
                if entry.key == SuiteRoot.rootKey {
                    // `root: true` stops the walk up to the suite root here (SuiteRoot.find).
                    _ = try reader.bool(entry.value, what: "root")
                    continue
                }
                if case .scalar(let text, _, true) = entry.value, text.isEmpty { continue }
                let items = try reader.mapping(entry.value, what: entry.key)
                for item in items {
                    do {
                        if entry.key == "tests" {
                            let prefix = relativeDirectory.isEmpty ? "" : "/" + relativeDirectory
                            for test in try loadTest(item, idPrefix: prefix, directory: directory, reader: reader,
                                                     cache: state.requirements, errors: &state.errors) {
                                state.tests.append(test)
                                if case .shell(let run) = test.command, ProgramLookup.relativeProgram(of: run) != nil {
                                    state.relativePrograms += 1
                                }
                            }
                        } else {
                            if let setup = try loadSetup(item, directory: directory, reader: reader, errors: &state.errors) {
                                state.setups.append(setup)
                                for requirement in setup.requires { state.requirements.note(requirement) }
                            }
                        }
                    } catch {
                        state.errors.append(error)
                    }
                }
            }
        } catch {
            state.errors.append(error)
        }
    }

    static let testKeys = FieldTable.keys + [variantsKey]
    /// The key of a test's variant matrix (`VariantMatrix`).
    static let variantsKey = "variants"
    static let setupKeys = ["run", "teardown", "check", "provides", "requires", "after", "scope", "timeout", "description"]

    func loadTest(_ item: YAMLReader.Entry, idPrefix: String, directory: String,
                  reader: YAMLReader, cache: RequirementCache, errors: inout [DeclarationError]) throws(DeclarationError) -> [TestDefinition] {
        let location = DeclarationLocation(file: reader.file, line: reader.line(item.keyNode))
        let key = item.key
        if !Self.isValidIDPart(key) {
            throw location.error("test key \"\(key)\" is not a valid id part; use names separated by single `/`, without `.`, `..` or empty parts")
        }
        var fields = TestFields(location: location)
        var matrix = VariantMatrix()
        var matrixLocation = location
        if case .scalar(let command, _, _) = item.value {
            fields.values.run = ([command], location)
        } else {
            let entries = try reader.mapping(item.value, what: "test \"\(key)\"")
            // Unknown keys first: a misspelt key is the error to show, before any value's.
            for entry in entries where FieldTable.slot(entry.key) == nil {
                try reader.checkKeys([entry], allowed: Self.testKeys, what: "test \"\(key)\"")
            }
            for entry in entries {
                guard let slot = FieldTable.slot(entry.key) else {
                    if entry.key == Self.variantsKey {
                        try matrix.read(entry.value, reader: reader, test: idPrefix + "/" + key)
                        matrixLocation = DeclarationLocation(file: reader.file, line: entry.keyNode.line)
                    }
                    continue
                }
                let at = DeclarationLocation(file: reader.file, line: entry.keyNode.line)
                // A mapping has each key once (duplicates are YAML errors): set, not add.
                switch slot {
                case FieldTable.requiresSlot, FieldTable.setupSlot, FieldTable.tagsSlot:
                    var values = try reader.strings(entry.value, what: entry.key)
                    if slot == FieldTable.tagsSlot, case .scalar = entry.value {
                        values = values.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
                    }
                    fields.values[slot: slot] = (values, at)
                default:
                    fields.values[slot: slot] = ([try reader.string(entry.value, what: "\(entry.key) of test \"\(key)\"")], at)
                }
            }
        }
        guard let run = fields.values.run?.values.first else {
            throw location.error("test \"\(key)\" has no `run`; add `run: COMMAND` (a command line run in \(reader.file)'s directory)")
        }
        // The program is looked for when the test runs (a setup may build it), not here.
        if Self.isBlank(run) {
            errors.append((fields.values.run?.location ?? location).error("test \"\(key)\": the command is empty; write the command line to run"))
            return []
        }
        let id = idPrefix + "/" + key
        if !matrix.isEmpty {
            try matrix.readExclusions(test: id)
            return matrix.expand(fields, baseID: id, command: .shell(run), directory: directory, location: matrixLocation,
                                 file: reader.file, cache: cache, errors: &errors)
        }
        return fields.build(id: id, command: .shell(run), directory: directory, cache: cache, errors: &errors).map { [$0] } ?? []
    }

    /// Names separated by single `/`, without `.`, `..`, empty parts or NUL.
    static func isValidIDPart(_ key: String) -> Bool {
        var part = 0 // bytes in the current part; -1 and -2 for "." and ".."
        for byte in key.utf8 {
            switch byte {
            case 0: return false
            case UInt8(ascii: "/"):
                if part <= 0 { return false }
                part = 0
            case UInt8(ascii: "."): part = part == 0 ? -1 : part == -1 ? -2 : part < 0 ? 3 : part + 1
            default: part = part < 0 ? 3 : part + 1
            }
        }
        return part > 0
    }

    func loadSetup(_ item: YAMLReader.Entry, directory: String,
                   reader: YAMLReader, errors: inout [DeclarationError]) throws(DeclarationError) -> SetupDefinition? {
        let location = DeclarationLocation(file: reader.file, line: reader.line(item.keyNode))
        let name = item.key
        if let bad = firstUnprintableNamed(in: name) {
            throw location.error("setup name \"\(shortenedName(name))\" has \(bad) that would reach "
                + "terminals and reports as it is; rename it with letters, digits and _ . - : @")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_.-:@".contains($0) }) else {
            throw location.error("setup name \"\(name)\" is not valid; use letters, digits and _ . - : @")
        }
        let entries = try reader.mapping(item.value, what: "setup \"\(name)\"")
        try reader.checkKeys(entries, allowed: Self.setupKeys, what: "setup \"\(name)\"")
        var run: String?
        var teardown: String?
        var check: String?
        var provides: [ProvidedFact] = []
        var requires: [Requirement] = []
        var after: [String] = []
        var requiresLocation: DeclarationLocation?
        var scope = SetupDefinition.Scope.run
        var timeout = SetupDefinition.defaultTimeout
        var description: String?
        for entry in entries {
            let at = DeclarationLocation(file: reader.file, line: reader.line(entry.keyNode))
            switch entry.key {
            case "run", "teardown", "check":
                let command = try reader.string(entry.value, what: "\(entry.key) of setup \"\(name)\"")
                if Self.isBlank(command) {
                    throw at.error("\(entry.key) of setup \"\(name)\": the command is empty; write the command line to run")
                }
                if entry.key == "run" { run = command } else if entry.key == "teardown" { teardown = command } else { check = command }
            case "provides":
                for (index, text) in try reader.strings(entry.value, what: "provides").enumerated() {
                    guard let fact = ProvidedFact(parsing: text) else {
                        let node = Self.item(entry.value, index)
                        throw reader.error(node, "\"\(text)\" in provides of setup \"\(name)\" is not a fact; write NAME or \"NAME = VALUE\"")
                    }
                    provides.append(fact)
                }
            case "requires":
                requires = try Self.requirements(try reader.strings(entry.value, what: "requires"), node: entry.value, reader: reader,
                                                 owner: "setup \"\(name)\"")
                requiresLocation = at
            case "after":
                after = try reader.strings(entry.value, what: "after")
            case "scope":
                let text = try reader.string(entry.value, what: "scope")
                guard let value = SetupDefinition.Scope(rawValue: text) else {
                    throw at.error("scope of setup \"\(name)\" is \"\(text)\"; use `run` (once for all tests) or `test` (around each test)")
                }
                scope = value
            case "timeout":
                let text = try reader.string(entry.value, what: "timeout")
                guard let value = parseTimeout(text) else {
                    throw at.error("timeout of setup \"\(name)\" is \"\(text)\", not a duration; \(durationForms); or 0 for no limit")
                }
                timeout = value
            case "description":
                description = try reader.string(entry.value, what: "description")
            default: break
            }
        }
        guard let run else {
            throw location.error("setup \"\(name)\" has no `run`; add `run: COMMAND`")
        }
        return SetupDefinition(name: name, run: run, teardown: teardown, check: check, provides: provides,
                               requires: requires, after: after, scope: scope, timeout: timeout,
                               directory: directory, location: location, description: description,
                               requiresLocation: requiresLocation)
    }

    static func item(_ node: YAMLNode, _ index: Int) -> YAMLNode {
        if case .sequence(let items, _) = node, index < items.count { return items[index] }
        return node
    }

    static func requirements(_ texts: [String], node: YAMLNode, reader: YAMLReader, owner: String) throws(DeclarationError) -> [Requirement] {
        var result: [Requirement] = []
        for (index, text) in texts.enumerated() {
            do {
                result.append(try Requirement(parsing: text))
            } catch {
                throw reader.error(item(node, index), "\(owner): \(error)")
            }
        }
        return result
    }

    /// Whether a command has nothing but spaces and tabs. (Whether its
    /// program exists is asked when it runs: a setup may build it.)
    static func isBlank(_ command: String) -> Bool {
        command.utf8.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    }
}
