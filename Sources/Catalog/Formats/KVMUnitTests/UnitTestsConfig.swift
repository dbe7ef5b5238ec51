/// One `[section]` of a kvm-unit-tests `unittests.cfg`, its values as written (as `scripts/common.bash`'s
/// `for_each_unittest` reads them: a key at the start of a line, `key = value`, the value taken whole).
struct UnitTestSection: Sendable, Equatable {
    /// The name between the brackets.
    var name: String
    /// The line of `[name]`, from 1.
    var line: Int
    /// `file`: the image under the arch directory (`apic.flat`); nil when the section names none.
    var file: String?
    /// `smp`: the number of vCPUs as written (may be shell, `$MAX_SMP`); nil for the default, 1.
    var smp: String?
    /// `test_args`, as written (passed to QEMU after `-append`).
    var testArguments: String?
    /// `qemu_params` or `extra_params` (the last one wins); a `"""` block joined as the runner joins it.
    var parameters: String?
    /// `groups`, split on blanks.
    var groups: [String] = []
    /// `arch`.
    var arch: String?
    /// `machine`.
    var machine: String?
    /// `check`: `PATH=VALUE` words.
    var check: String?
    /// `accel`.
    var accel: String?
    /// `timeout`, as written (`90s`, `240`).
    var timeout: String?
    /// `disabled_if`: a bash condition.
    var disabledIf: String?
}

/// Reads a `unittests.cfg` into its sections, as `for_each_unittest` reads it.
enum UnitTestsConfig {
    /// The sections of `text`, in order; lines before the first section and keys it does not know are ignored, as the
    /// runner ignores them, and so is a section with an empty name.
    ///
    /// - Parameter text: The file's contents.
    /// - Returns: The sections.
    static func sections(_ text: String) -> [UnitTestSection] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            // `read -r` drops leading and trailing blanks.
            String(line).trimmingCharacters(in: " \t\r")
        }
        var sections: [UnitTestSection] = []
        var current: UnitTestSection?
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            if line.hasPrefix("["), line.hasSuffix("]"), line.count >= 2 {
                if let current, !current.name.isEmpty { sections.append(current) }
                current = UnitTestSection(name: String(line.dropFirst().dropLast()), line: index)
                continue
            }
            guard current != nil, !line.hasPrefix("#"), let (key, value) = keyValue(line) else { continue }
            switch key {
            case "file": current?.file = value
            case "smp": current?.smp = value
            case "test_args": current?.testArguments = value
            case "qemu_params", "extra_params":
                if value.hasPrefix("\"\"\"") {
                    current?.parameters = block(first: String(value.dropFirst(3)), lines: lines, index: &index)
                } else {
                    current?.parameters = value
                }
            case "groups": current?.groups = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            case "arch": current?.arch = value
            case "machine": current?.machine = value
            case "check": current?.check = value
            case "accel": current?.accel = value
            case "timeout": current?.timeout = value
            case "disabled_if": current?.disabledIf = value
            default: break
            }
        }
        if let current, !current.name.isEmpty { sections.append(current) }
        return sections
    }

    /// `key = value` (blanks around `=` optional), the key made of letters and `_`.
    static func keyValue(_ line: String) -> (String, String)? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        let key = String(line[..<equals]).trimmingCharacters(in: " ")
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        let value = line[line.index(after: equals)...].drop { $0 == " " }
        return (key, String(value))
    }

    /// A `"""` block: lines up to the one ending in `"""`, joined with newlines; a line ending in an odd number of
    /// backslashes continues the next (the backslash and the newline dropped), as the runner does.
    static func block(first: String, lines: [String], index: inout Int) -> String {
        if let end = first.range(of: "\"\"\"") { return String(first[..<end.lowerBound]) }
        var text = first + "\n"
        while index < lines.count {
            let line = lines[index]
            index += 1
            if text.hasSuffix("\\\n") {
                let slashes = text.dropLast().reversed().prefix { $0 == "\\" }.count
                if slashes % 2 == 1 { text.removeLast(2) }
            }
            if let end = line.range(of: "\"\"\"") {
                text += line[..<end.lowerBound]
                return text
            }
            text += line + "\n"
        }
        return text
    }
}
