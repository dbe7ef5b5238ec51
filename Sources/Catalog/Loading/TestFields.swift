import Declarations
import HostFacts
import Requirements
import Subtests

/// A test's fields by key: the known keys in stored properties (no hashing
/// for each of 100,000 tests), any other in a dictionary.
struct FieldTable {
    typealias Field = (values: [String], location: DeclarationLocation)
    var run, requires, setup, tags, timeout, exclusive, dirties, skipCode, flaky, description, outputProtocol: Field?
    var other: [String: Field] = [:]

    /// The keys a test may have, in slot order.
    static let keys = ["run", "requires", "setup", "tags", "timeout", "exclusive", "dirties", "skip-code", "flaky", "description", "protocol"]

    /// The known key's slot. Lengths are compared first: a failed `==` of two
    /// small strings is a runtime call, and this runs for every key of every test.
    static func slot(_ key: String) -> Int? {
        let length = key.utf8.count
        return keys.firstIndex { $0.utf8.count == length && $0 == key }
    }

    static let requiresSlot = 1, setupSlot = 2, tagsSlot = 3

    subscript(key: String) -> Field? {
        get {
            guard let slot = Self.slot(key) else { return other[key] }
            return self[slot: slot]
        }
        set {
            guard let slot = Self.slot(key) else { other[key] = newValue; return }
            self[slot: slot] = newValue
        }
    }

    /// A known key's field by its index in `keys`.
    subscript(slot slot: Int) -> Field? {
        get {
            switch slot {
            case 0: run
            case 1: requires
            case 2: setup
            case 3: tags
            case 4: timeout
            case 5: exclusive
            case 6: dirties
            case 7: skipCode
            case 8: flaky
            case 9: description
            default: outputProtocol
            }
        }
        set {
            switch slot {
            case 0: run = newValue
            case 1: requires = newValue
            case 2: setup = newValue
            case 3: tags = newValue
            case 4: timeout = newValue
            case 5: exclusive = newValue
            case 6: dirties = newValue
            case 7: skipCode = newValue
            case 8: flaky = newValue
            case 9: description = newValue
            default: outputProtocol = newValue
            }
        }
    }
}

/// The fields of one test, from YAML or a drop-in header, before validation.
struct TestFields {
    let location: DeclarationLocation
    var values = FieldTable()

    init(location: DeclarationLocation) {
        self.location = location
    }

    mutating func add(_ key: String, _ new: [String], at location: DeclarationLocation) {
        if let existing = values[key] {
            values[key] = (existing.values + new, existing.location)
        } else {
            values[key] = (new, location)
        }
    }

    func build(id: String, command: TestDefinition.Command, directory: String,
               cache: RequirementCache, errors: inout [DeclarationError], variant: TestVariant? = nil) -> TestDefinition? {
        // An id reaches terminals, TAP streams and reports: a newline would forge
        // lines, an ESC sequence clear the screen, a U+200B make `/a<U+200B>b` print as
        // `/ab`. (The message shows it escaped.)
        if let bad = firstUnprintableNamed(in: id) {
            let renamed = if case .executable = command { "the file or directory" } else { "the test or its directory" }
            errors.append(location.error("test id \"\(shortenedName(id))\" has \(bad) that would reach "
                + "terminals and reports as it is; rename \(renamed) with printable characters only"))
            return nil
        }
        var failed = false
        func fail(_ field: FieldTable.Field?, _ message: String) {
            errors.append((field?.location ?? location).error(message))
            failed = true
        }
        var requires: [Requirement] = []
        var requiresNumber = -1
        if let texts = values.requires?.values, !texts.isEmpty {
            if let list = try? cache.parse(texts) {
                (requiresNumber, requires) = (list.number, list.elements)
            } else {
                // One error for each invalid requirement, not just the first.
                for text in texts {
                    do { _ = try cache.parse(text) } catch { fail(values.requires, "test \(id): \(error)") }
                }
            }
        }
        var timeout = TestDefinition.defaultTimeout
        if let text = values.timeout?.values.last {
            if let parsed = parseTimeout(text) { timeout = parsed }
            else { fail(values.timeout, "timeout of test \(id) is \"\(text)\", not a duration; \(durationForms); or 0 for no limit") }
        }
        func flag(_ key: String, _ field: FieldTable.Field?) -> Bool {
            guard let text = field?.values.last else { return false }
            switch text.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default:
                fail(field, "\(key) of test \(id) is \"\(text)\"; write true or false")
                return false
            }
        }
        let exclusive = flag("exclusive", values.exclusive)
        let dirties = flag("dirties", values.dirties)
        var skipCode: Int32 = 77
        if let text = values.skipCode?.values.last {
            if let code = Int32(text), (1...255).contains(code) { skipCode = code }
            else { fail(values.skipCode, "skip-code of test \(id) is \"\(text)\"; write an exit status from 1 to 255") }
        }
        var flaky: FlakyPolicy?
        if let text = values.flaky?.values.last {
            if let policy = FlakyPolicy(text) { flaky = policy }
            else {
                fail(values.flaky, "flaky of test \(id) is \"\(text)\"; write K/N with 1 <= K <= N <= \(FlakyPolicy.maximumWindow), "
                     + "e.g. 2/3: a failure counts only when the test failed in K of its last N runs")
            }
        }
        var outputProtocol = OutputProtocol.exitcode
        if let text = values.outputProtocol?.values.last {
            if let known = OutputProtocol(rawValue: text.lowercased()) { outputProtocol = known }
            else { fail(values.outputProtocol, "protocol of test \(id) is \"\(text)\"; write one of \(OutputProtocol.names)") }
        }
        guard !failed else { return nil }
        let setups = cache.sharedSetups(values.setup?.values ?? [])
        return TestDefinition(
            id: id, command: command, requires: requires, setups: setups.elements,
            tags: cache.shared(values.tags?.values ?? []), timeout: timeout, exclusive: exclusive, dirties: dirties,
            skipCode: skipCode, directory: directory, location: location,
            setupsLocation: values.setup?.location, description: values.description?.values.last,
            requiresLocation: values.requires?.location,
            requirementSet: cache.requirementSet(requires: requiresNumber, setups: setups.number), flaky: flaky,
            outputProtocol: outputProtocol, variant: variant)
    }
}
