import Declarations
import Requirements

/// A test's `variants:` as declared, before expansion: its axes in
/// declaration order, each with its values and what each value adds, and the
/// `exclude:` entries.
///
/// ```yaml
/// variants:
///   machine: [pc, q35]
///   accel:
///     tcg: {}
///     kvm: {requires: [kvm], timeout: 5m, env: {ACCEL_FLAGS: "-enable-kvm"}}
///   exclude:
///     - {machine: pc, accel: kvm}
/// ```
///
/// `expand` turns it into one `TestDefinition` per combination left after
/// the exclusions, each with its `TestVariant`.
struct VariantMatrix {
    /// One value of an axis and what it adds to the test.
    struct Value {
        let name: String
        /// The line it was written on (a drop-in's header line).
        let line: Int?
        var requires: [String] = []
        var setups: [String] = []
        var timeout: String?
        var environment: [(name: String, value: String)] = []
    }

    /// An axis and its values, in declaration order.
    struct Axis {
        let name: String
        let node: YAMLNode
        var values: [Value] = []
    }

    /// One `exclude:` entry: every pair must match for a combination to be removed.
    struct Exclusion {
        let pairs: [(axis: String, value: String)]
        let node: YAMLNode
    }

    /// The most variants one test may have, after `exclude:`: a matrix past it is an error, not 10^10 tests.
    static let maximumCombinations = 10_000
    /// The most combinations enumerated to apply `exclude:`: a cross product past it is an error whatever it excludes
    /// (so that the work stays bounded).
    static let maximumEnumerated = 1_000_000
    /// The most (combination, exclude pair) comparisons made for one test.
    static let maximumExclusionWork = 100_000_000
    /// The reserved key for exclusions.
    static let excludeKey = "exclude"
    /// The keys of a value's mapping.
    static let valueKeys = ["requires", "setup", "timeout", "env"]

    var axes: [Axis] = []
    var exclusions: [Exclusion] = []
    /// `exclude:` values read but not yet checked: they are read once every axis is (a drop-in's later lines too), by
    /// `readExclusions(test:)`; `line` is the drop-in header line they were on.
    private var pendingExclusions: [(node: YAMLNode, reader: YAMLReader, line: Int?)] = []
    /// The drop-in header line being read: every value read is said to be on it (the YAML parsed is that line's value alone).
    var headerLine: Int?

    var isEmpty: Bool { axes.isEmpty }

    /// Reads one `variants:` mapping (several drop-in lines each add theirs), adding its axes and exclusions.
    ///
    /// - Parameters:
    ///   - node: The `variants:` value.
    ///   - reader: The reader that parsed it (for errors at its lines).
    ///   - test: The test's key or id, for messages.
    /// - Throws: `DeclarationError` at the first invalid axis, value or exclusion.
    mutating func read(_ node: YAMLNode, reader: YAMLReader, test: String) throws(DeclarationError) {
        let entries = try reader.mapping(node, what: "variants of test \(test)")
        if entries.isEmpty {
            throw reader.error(node, "variants of test \(test) has no axis; write `AXIS: [VALUE, VALUE]`, or remove `variants:`")
        }
        for entry in entries {
            if entry.key == Self.excludeKey {
                pendingExclusions.append((entry.value, reader, headerLine))
                continue
            }
            try readAxis(entry, reader: reader, test: test)
        }
    }

    /// Reads the `exclude:` entries of every `read`, now that every axis is known (an entry may name an axis of a later
    /// drop-in line).
    ///
    /// - Parameter test: The test's id, for messages.
    /// - Throws: `DeclarationError` at the first entry naming an axis or a value the matrix does not have, or none.
    mutating func readExclusions(test: String) throws(DeclarationError) {
        let pending = pendingExclusions
        pendingExclusions = []
        for exclusion in pending {
            do throws(DeclarationError) {
                try readExclusions(exclusion.node, reader: exclusion.reader, test: test)
            } catch {
                // A drop-in's YAML is its header line's value alone: its line 1 is that line.
                guard let line = exclusion.line else { throw error }
                throw DeclarationError(file: error.file, line: line, message: error.message)
            }
        }
    }

    private mutating func readAxis(_ entry: YAMLReader.Entry, reader: YAMLReader, test: String) throws(DeclarationError) {
        let name = entry.key
        guard TestVariant.isValidAxis(name) else {
            throw reader.error(entry.keyNode, "axis \"\(shortened(name))\" of test \(test) is not a valid axis name; use "
                + "lowercase letters, digits, _ and - (e.g. machine, cpu-model)")
        }
        if axes.contains(where: { $0.name == name }) {
            throw reader.error(entry.keyNode, "axis \"\(name)\" of test \(test) is declared twice; keep one of them")
        }
        var axis = Axis(name: name, node: entry.keyNode)
        func checkValue(_ text: String, _ node: YAMLNode) throws(DeclarationError) {
            guard TestVariant.isValidValue(text) else {
                throw reader.error(node, "value \"\(shortened(text))\" of axis \"\(name)\" of test \(test) is not a valid "
                    + "variant value; use letters, digits, ., _, + and - (no spaces, `,`, `=`, `[`, `]` or `/`)")
            }
            if axis.values.contains(where: { $0.name == text }) {
                throw reader.error(node, "value \"\(text)\" of axis \"\(name)\" of test \(test) is listed twice; keep one of them")
            }
        }
        switch entry.value {
        case .sequence(let items, _):
            for item in items {
                let text = try reader.string(item, what: "each value of axis \"\(name)\" of test \(test)")
                try checkValue(text, item)
                axis.values.append(Value(name: text, line: headerLine ?? item.line))
            }
        case .mapping:
            for valueEntry in try reader.mapping(entry.value, what: "axis \"\(name)\" of test \(test)") {
                try checkValue(valueEntry.key, valueEntry.keyNode)
                axis.values.append(try readValue(valueEntry, axis: name, reader: reader, test: test))
            }
        case .scalar:
            throw reader.error(entry.value, "axis \"\(name)\" of test \(test) must be a list of values ([pc, q35]) or a "
                + "mapping of each value to what it adds ({tcg: {}, kvm: {requires: [kvm]}})")
        }
        if axis.values.isEmpty {
            throw reader.error(entry.keyNode, "axis \"\(name)\" of test \(test) has no values; list at least one, or remove the axis")
        }
        axes.append(axis)
    }

    private func readValue(_ entry: YAMLReader.Entry, axis: String, reader: YAMLReader, test: String) throws(DeclarationError) -> Value {
        var value = Value(name: entry.key, line: headerLine ?? entry.keyNode.line)
        let owner = "value \"\(entry.key)\" of axis \"\(axis)\" of test \(test)"
        // `kvm:`, `kvm: ~`, `kvm: {}`: nothing added.
        if case .scalar(let text, _, true) = entry.value, text.isEmpty || text == "~" || text == "null" { return value }
        let fields = try reader.mapping(entry.value, what: owner)
        try reader.checkKeys(fields, allowed: Self.valueKeys, what: owner)
        for field in fields {
            switch field.key {
            case "requires":
                let texts = try reader.strings(field.value, what: "requires of \(owner)")
                _ = try TestbedYAMLDecoder.requirements(texts, node: field.value, reader: reader, owner: owner)
                value.requires = texts
            case "setup":
                value.setups = try reader.strings(field.value, what: "setup of \(owner)")
            case "timeout":
                let text = try reader.string(field.value, what: "timeout of \(owner)")
                guard parseTimeout(text) != nil else {
                    throw reader.error(field.value, "timeout of \(owner) is \"\(text)\", not a duration; \(durationForms); or 0 for no limit")
                }
                value.timeout = text
            default:
                for variable in try reader.mapping(field.value, what: "env of \(owner)") {
                    guard Self.isVariableName(variable.key) else {
                        throw reader.error(variable.keyNode, "\"\(shortened(variable.key))\" in env of \(owner) is not a variable "
                            + "name; use letters, digits and _, not starting with a digit")
                    }
                    guard !variable.key.hasPrefix("TESTBED_") else {
                        throw reader.error(variable.keyNode, "\"\(variable.key)\" in env of \(owner) starts with TESTBED_, which "
                            + "Testbed's own variables use; rename it")
                    }
                    value.environment.append((variable.key, try reader.string(variable.value, what: "\(variable.key) in env of \(owner)")))
                }
            }
        }
        return value
    }

    private mutating func readExclusions(_ node: YAMLNode, reader: YAMLReader, test: String) throws(DeclarationError) {
        let items: [YAMLNode]
        if case .sequence(let list, _) = node { items = list } else { items = [node] }
        for (number, item) in zip(1..., items) {
            var pairs: [(axis: String, value: String)] = []
            let what = "entry \(number) of exclude of test \(test)"
            guard case .mapping = item else {
                throw reader.error(item, "\(what) must be a mapping of axis to value, e.g. {machine: pc, accel: kvm}")
            }
            for entry in try reader.mapping(item, what: what) {
                guard let axis = axes.first(where: { $0.name == entry.key }) else {
                    var message = "exclude of test \(test) names axis \"\(shortened(entry.key))\", which it does not have"
                    if let guess = closest(to: entry.key, in: axes.map(\.name)) { message += "; did you mean \"\(guess)\"?" }
                    else { message += "; its axes are " + axes.map(\.name).joined(separator: ", ") }
                    throw reader.error(entry.keyNode, message)
                }
                let value = try reader.string(entry.value, what: "\(entry.key) in exclude of test \(test)")
                guard axis.values.contains(where: { $0.name == value }) else {
                    let names = axis.values.map(\.name)
                    var message = "exclude of test \(test) names value \"\(shortened(value))\" of axis \"\(axis.name)\", "
                        + "which the axis does not have"
                    if let guess = closest(to: value, in: names) { message += "; did you mean \"\(guess)\"?" }
                    else { message += "; its values are " + names.joined(separator: ", ") }
                    throw reader.error(entry.value, message)
                }
                pairs.append((axis.name, value))
            }
            if pairs.isEmpty {
                throw reader.error(item, "\(what) is empty, so it would exclude every variant; name an axis and a value, or remove it")
            }
            exclusions.append(Exclusion(pairs: pairs, node: item))
        }
    }

    /// Whether a text is a shell variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// The combinations left after the exclusions, each as one value index per axis, in order: the last axis varies fastest.
    ///
    /// - Parameters:
    ///   - test: The test's id, for messages.
    ///   - location: Where the test (or its `variants:`) was declared.
    /// - Returns: The combinations.
    /// - Throws: `DeclarationError` when the matrix has more than `maximumCombinations` combinations, or none is left.
    func combinations(test: String, location: DeclarationLocation) throws(DeclarationError) -> [[Int]] {
        var total = 1
        for axis in axes {
            let (product, overflow) = total.multipliedReportingOverflow(by: axis.values.count)
            guard !overflow, product <= (exclusions.isEmpty ? Self.maximumCombinations : Self.maximumEnumerated) else {
                let limit = exclusions.isEmpty ? Self.maximumCombinations : Self.maximumEnumerated
                throw location.error("the variants of test \(test) make more than \(limit) combinations"
                    + (exclusions.isEmpty ? "" : " before exclude, more than Testbed enumerates") + "; use fewer axes or values")
            }
            total = product
        }
        let pairCount = exclusions.reduce(0) { $0 + $1.pairs.count }
        guard total <= Self.maximumExclusionWork / max(1, pairCount) else {
            throw location.error("the variants of test \(test) make \(total) combinations to check against \(pairCount) "
                + "exclude pairs, more work than Testbed does for one test; use fewer axes, values or exclude entries")
        }
        // Each exclusion as (axis index, value index) pairs: comparing integers keeps a million combinations quick.
        let excluded: [[(axis: Int, value: Int)]] = exclusions.map { exclusion in
            exclusion.pairs.compactMap { pair in
                guard let axis = axes.firstIndex(where: { $0.name == pair.axis }),
                      let value = axes[axis].values.firstIndex(where: { $0.name == pair.value }) else { return nil }
                return (axis, value)
            }
        }
        var result: [[Int]] = []
        var indices = [Int](repeating: 0, count: axes.count)
        for _ in 0..<total {
            if !excluded.contains(where: { $0.allSatisfy { indices[$0.axis] == $0.value } }) {
                guard result.count < Self.maximumCombinations else {
                    throw location.error("the variants of test \(test) leave more than \(Self.maximumCombinations) combinations "
                        + "after exclude; use fewer axes or values, or exclude more combinations")
                }
                result.append(indices)
            }
            var position = axes.count - 1
            while position >= 0 {
                indices[position] += 1
                if indices[position] < axes[position].values.count { break }
                indices[position] = 0
                position -= 1
            }
        }
        if result.isEmpty {
            throw location.error("exclude of test \(test) removes every combination of its variants, so it has none to run; "
                + "remove an exclude entry, or the test")
        }
        return result
    }

    /// One test per combination left: the test's fields with each value's `requires` and `setup` added, its `timeout`
    /// (the last axis in declaration order that sets one wins), and its variant (id, `TESTBED_VARIANT_*`, `env`).
    ///
    /// - Parameters:
    ///   - fields: The test's own fields.
    ///   - baseID: The test's id without the variant.
    ///   - command: How it is started.
    ///   - directory: Its working directory.
    ///   - location: Where its `variants:` was declared (for errors about the whole matrix).
    ///   - file: Its file as shown, for each value's line.
    ///   - cache: The load's requirement cache.
    ///   - errors: Where invalid declarations go.
    /// - Returns: The variants' tests, in combination order; empty when one is invalid (its errors appended).
    func expand(_ fields: TestFields, baseID: String, command: TestDefinition.Command, directory: String,
                location: DeclarationLocation, file: String,
                cache: RequirementCache, errors: inout [DeclarationError]) -> [TestDefinition] {
        let combinations: [[Int]]
        do { combinations = try self.combinations(test: baseID, location: location) } catch {
            errors.append(error)
            return []
        }
        var tests: [TestDefinition] = []
        tests.reserveCapacity(combinations.count)
        // The test's own fields checked once, so that an error in them is reported once, naming the test, not each variant.
        // (Each value's additions were checked as they were read.)
        let errorsBefore = errors.count
        _ = fields.build(id: baseID, command: command, directory: directory, cache: cache, errors: &errors)
        guard errors.count == errorsBefore else { return [] }
        for combination in combinations {
            var variantFields = fields
            var values: [TestVariant.Value] = []
            var environment: [String: String] = [:]
            for (axis, index) in zip(axes, combination) {
                let value = axis.values[index]
                let at = DeclarationLocation(file: file, line: value.line)
                values.append(TestVariant.Value(axis: axis.name, value: value.name))
                if !value.requires.isEmpty { variantFields.add("requires", value.requires, at: at) }
                if !value.setups.isEmpty { variantFields.add("setup", value.setups, at: at) }
                if let timeout = value.timeout { variantFields.values.timeout = ([timeout], at) }
                for (name, text) in value.environment { environment[name] = text }
            }
            let variant = TestVariant(baseID: baseID, values: values, environment: environment)
            if let test = variantFields.build(id: variant.id, command: command, directory: directory, cache: cache,
                                              errors: &errors, variant: variant) {
                tests.append(test)
            }
        }
        return tests
    }
}
