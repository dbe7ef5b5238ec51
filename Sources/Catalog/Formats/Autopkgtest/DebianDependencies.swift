/// A `Depends` field of `debian/tests/control` read into groups of alternatives (`a | b`), with `@` and `@builddeps@`
/// expanded from `debian/control`, and the setup that installs them.
struct DebianDependencies: Hashable {
    /// One group: any of its packages will do; the first is the one installed.
    typealias Group = [String]

    /// The groups in the order written, each once.
    let groups: [Group]

    /// Reads a `Depends` value. Version relations (`(>= 1.2)`), architecture lists (`[amd64]`), build profiles
    /// (`<!nocheck>`) and `:native`/`:any` qualifiers are dropped: the package's name is what is installed.
    ///
    /// - Parameters:
    ///   - value: The field's value (`@, python3 (>= 3.9) | python3-minimal, @builddeps@`).
    ///   - binaries: The source's binary packages, for `@`.
    ///   - buildDependencies: The source's `Build-Depends` and `Build-Depends-Indep` value, for `@builddeps@` (which also
    ///     brings `build-essential`).
    /// - Returns: The groups, or the first item that names no package, as written.
    static func parse(_ value: String, binaries: [String], buildDependencies: String) -> Result<DebianDependencies, Invalid> {
        var groups: [Group] = []
        func add(_ group: Group) {
            if !group.isEmpty, !groups.contains(group) { groups.append(group) }
        }
        for item in value.split(separator: ",") {
            let text = item.trimmingWhitespaceAndCR()
            if text.isEmpty { continue }
            if text == "@" {
                for binary in binaries { add([binary]) }
            } else if text == "@builddeps@" {
                for build in buildDependencies.split(separator: ",") {
                    let buildText = build.trimmingWhitespaceAndCR()
                    if buildText.isEmpty { continue }
                    guard let group = alternatives(buildText) else { return .failure(Invalid(item: buildText)) }
                    add(group)
                }
                add(["build-essential"])
            } else {
                guard let group = alternatives(text) else { return .failure(Invalid(item: text)) }
                add(group)
            }
        }
        return .success(DebianDependencies(groups: groups))
    }

    /// An item that is not a dependency.
    struct Invalid: Error, Equatable {
        /// The item as written.
        let item: String
    }

    /// The package names of `a (>= 1) | b [amd64]`, or nil when one is not a package name.
    static func alternatives(_ text: String) -> Group? {
        var names: Group = []
        for alternative in text.split(separator: "|") {
            var rest = Substring(alternative.trimmingWhitespaceAndCR())
            let end = rest.firstIndex(where: { $0 == " " || $0 == "(" || $0 == "[" || $0 == "<" || $0 == "\t" }) ?? rest.endIndex
            var name = rest[..<end]
            rest = rest[end...]
            if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
            guard isPackageName(name), isQualifiers(rest) else { return nil }
            names.append(String(name))
        }
        return names.isEmpty ? nil : names
    }

    /// Debian's package names: lower-case letters, digits, `+ - .`, at least two, starting with a letter or digit.
    static func isPackageName(_ name: Substring) -> Bool {
        guard name.count >= 2, let first = name.first, first.isASCII, first.isLowercase || first.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
    }

    /// Whether what follows a name is only `(relation)`, `[arch list]` and `<profiles>` groups.
    static func isQualifiers(_ text: Substring) -> Bool {
        var rest = text
        while let first = rest.first {
            if first == " " || first == "\t" || first == "\n" { rest = rest.dropFirst(); continue }
            let close: Character = switch first {
            case "(": ")"
            case "[": "]"
            case "<": ">"
            default: "\u{0}"
            }
            guard close != "\u{0}", let end = rest.firstIndex(of: close) else { return false }
            rest = rest[rest.index(after: end)...]
        }
        return true
    }

    /// The packages `apt-get install` is given: each group's first.
    var installed: [String] { groups.map { $0[0] } }

    /// `a b|c`: the groups as shown in a setup's description.
    var shown: String { groups.map { $0.joined(separator: "|") }.joined(separator: " ") }

    /// The command that installs the packages: `apt-get install -y`, non-interactive.
    var installCommand: String {
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q -- " + FieldShell.line(installed)
    }

    /// A command whose exit 0 means every group has one package installed (`dpkg-query`'s status `installed`).
    var checkCommand: String {
        // No shell function: Testbed's command lookup would take its name for the program.
        let tests = groups.map { group in
            let any = group.map { #"[ "$(dpkg-query -W -f='${db:Status-Status}' "# + FieldShell.quote($0) + #" 2>/dev/null)" = installed ]"# }
                .joined(separator: " || ")
            return group.count == 1 ? any : "{ \(any); }"
        }
        return tests.joined(separator: " && ")
    }
}

extension ControlFile {
    /// The binary packages of `debian/control` (every stanza with `Package:`, udebs aside), for `@`.
    var binaryPackages: [String] {
        stanzas.compactMap { stanza in
            guard let name = stanza["Package"], !name.isEmpty else { return nil }
            if stanza["Package-Type"] == "udeb" { return nil }
            return name
        }
    }

    /// The source's `Build-Depends` and `Build-Depends-Indep` (and `-Arch`), joined with commas, for `@builddeps@`.
    var buildDependencies: String {
        guard let source = stanzas.first(where: { $0["Source"] != nil }) else { return "" }
        return ["Build-Depends", "Build-Depends-Indep", "Build-Depends-Arch"].compactMap { source[$0] }.joined(separator: ", ")
    }
}
