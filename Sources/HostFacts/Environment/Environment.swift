import Declarations
import Foundation
import KernelHealth
import Requirements
import Synchronization


/// A named description of a host (`environments/NAME.yaml`): the facts an admin
/// vouches for, overrides of probed facts, extra probes and named binaries,
/// layered over the probed local host unless `probe: false`.
///
/// Lookups go, first match wins: `facts` overrides, `provides` tags, `binaries`
/// and `probes`, then the host probe.
public final class Environment: FactSource, Sendable {
    /// The file's name without `.yaml` (or its `name:`), `local` for the probed host.
    public let environmentName: String
    /// The file's `description:`; `this host, probed` for `local`.
    public let description: String?
    /// The file it was read from, as the user named it; nil for `local`.
    public let file: String?
    /// Whether the host this runs on is probed as well.
    public let probesHost: Bool
    /// The host probe behind the declared facts (nil when `probe: false`).
    public let host: HostProbe?
    /// Facts declared outright (`provides` and `facts`), by name.
    public let declared: [String: DeclaredFact]
    /// `probes:` — fact name to a command whose output carries a version.
    public let commandProbes: [String: DeclaredCommand]
    /// `binaries:` — fact name to a binary path; the path is exported to tests.
    public let binaries: [String: DeclaredCommand]
    /// `restore:` — the command that returns the host to a pristine state.
    public let restore: DeclaredCommand?
    /// `packages:` — where a run's snapshot takes the installed packages from.
    public let packages: PackageList
    /// `taint-ignore:` — kernel taint flags that never fail a test on this host (docs/kernel-health.md).
    public let taintIgnore: Taint
    /// The directory of the environment file; commands run there.
    public let directory: String
    /// What the file declares that it probably did not mean, one line each
    /// without `testbed: warning:` (a fact named both in `provides:` and in `facts:`).
    public let warnings: [String]
    let runner: CommandRunner
    let cache = Mutex<[String: FactLookup]>([:])

    /// A fact written in the environment file.
    public struct DeclaredFact: Sendable, Hashable {
        /// The fact's name.
        public let name: String
        /// nil for a tag; "false"/"no" turns a probed flag off.
        public let value: String?
        /// The 1-based line in the environment file.
        public let line: Int?
        /// True for `facts:` overrides, false for `provides:` tags.
        public let isOverride: Bool
        /// Where it comes from when not from the file (`slurm feature of node1`); nil for the file's own.
        public var origin: String? = nil
    }

    /// Where the installed packages of a run's snapshot come from (`packages:`).
    public enum PackageList: Sendable, Hashable {
        /// `dpkg-query` when it is on PATH, else `rpm`, else none (no `packages:` key).
        case automatic
        /// `packages: none` (or `false`): no package list is recorded.
        case none
        /// `packages: COMMAND`: a command line (run by `/bin/sh` in the file's
        /// directory) that prints one `NAME VERSION` per line.
        case command(DeclaredCommand)
    }

    /// A command or path in the environment file, with its line.
    public struct DeclaredCommand: Sendable, Hashable {
        /// The command line or path as written.
        public let text: String
        /// The 1-based line in the environment file.
        public let line: Int?
    }

    /// The probed local host alone: the built-in environment `local`.
    /// - Parameter host: The probe that answers every lookup.
    public init(local host: HostProbe = HostProbe()) {
        environmentName = "local"
        description = "this host, probed"
        file = nil
        probesHost = true
        self.host = host
        declared = [:]
        commandProbes = [:]
        binaries = [:]
        restore = nil
        warnings = []
        packages = .automatic
        taintIgnore = .none
        directory = FileManager.default.currentDirectoryPath
        runner = host.runner
    }

    /// This environment with tags added that nothing declares yet: a grid node's Slurm features, so that a shard's
    /// run sees what placement saw (`requires: lab_a` met by slurm.conf's `Features=lab_a`). A name a probe tells
    /// (`kvm`) is left to the probe.
    ///
    /// - Parameters:
    ///   - names: the tags.
    ///   - origin: where they come from, as a fact's source shows it (`slurm feature of node1`).
    /// - Returns: a new environment; this one is unchanged.
    public func addingTags(_ names: [String], origin: String) -> Environment {
        var declared = self.declared
        for name in names where declared[name] == nil && !HostProbe.isBuiltIn(name) {
            declared[name] = DeclaredFact(name: name, value: nil, line: nil, isOverride: false, origin: origin)
        }
        return Environment(copying: self, declared: declared)
    }

    /// A copy of `other` with other declared facts.
    private init(copying other: Environment, declared: [String: DeclaredFact]) {
        environmentName = other.environmentName
        description = other.description
        file = other.file
        probesHost = other.probesHost
        host = other.host
        self.declared = declared
        commandProbes = other.commandProbes
        binaries = other.binaries
        restore = other.restore
        packages = other.packages
        taintIgnore = other.taintIgnore
        directory = other.directory
        warnings = other.warnings
        runner = other.runner
    }

    /// Reads `environments/NAME.yaml`. Relative paths in it are relative to its directory.
    /// - Parameters:
    ///   - path: The environment file, as the user named it.
    ///   - host: The probe layered under the declarations (unused with `probe: false`).
    ///   - runner: Runs the file's `probes:` and `binaries:` version commands.
    /// - Throws: `DeclarationError` naming the file and line: unreadable, not
    ///   YAML, an unknown key, a malformed tag, fact name or value, a name or
    ///   value with a control character.
    public init(contentsOf path: String, host: HostProbe = HostProbe(), runner: CommandRunner = CommandRunner()) throws(DeclarationError) {
        let text = try readDeclarationFile(path, shownAs: path)
        let reader = YAMLReader(file: path)
        let url = URL(fileURLWithPath: path)
        var name = url.deletingPathExtension().lastPathComponent
        directory = url.deletingLastPathComponent().path
        file = path
        self.runner = runner

        var description: String?
        var probe = true
        var declared: [String: DeclaredFact] = [:]
        var commandProbes: [String: DeclaredCommand] = [:]
        var binaries: [String: DeclaredCommand] = [:]
        var restore: DeclaredCommand?
        var warnings: [String] = []
        /// A fact declared a second time: the later declaration wins, and a warning says so.
        func declare(_ fact: DeclaredFact) {
            if let earlier = declared[fact.name] {
                let place = { (fact: DeclaredFact) in fact.isOverride ? "facts:" : "provides:" }
                let value = fact.value.map { " (\($0))" } ?? ""
                warnings.append("\(path)\(fact.line.map { ":\($0)" } ?? ""): fact \(fact.name) is declared in \(place(earlier))"
                    + "\(earlier.line.map { " (line \($0))" } ?? "") and again in \(place(fact)); this one\(value) is used; keep one "
                    + "(provides: for a tag or a version an admin vouches for, facts: for a value that overrides a probed one)")
            }
            declared[fact.name] = fact
        }
        var packages = PackageList.automatic
        var taintIgnore = Taint.none

        if let root = try reader.parse(text) {
            let entries = try reader.mapping(root, what: "an environment file")
            try reader.checkKeys(entries, allowed: ["name", "description", "probe", "provides", "facts", "probes", "binaries", "restore", "packages",
                                                         "taint-ignore"],
                                 what: "an environment file")
            for entry in entries {
                switch entry.key {
                case "name":
                    name = try reader.string(entry.value, what: "name")
                    try Environment.checkPrintable(name, what: "the environment name", reader: reader, node: entry.value)
                case "description": description = try reader.string(entry.value, what: "description")
                case "probe": probe = try reader.bool(entry.value, what: "probe")
                case "provides":
                    guard case .sequence(let items, _) = entry.value else {
                        throw reader.error(entry.value, "provides must be a list of tags such as [DELL_R420, \"virtiowin = 2013-10-24\"]")
                    }
                    for item in items {
                        let tag = try reader.string(item, what: "each tag of provides")
                        let fact = try Environment.parseTag(tag, reader: reader, node: item)
                        declare(DeclaredFact(name: fact.name, value: fact.value, line: reader.line(item), isOverride: false))
                    }
                case "facts":
                    for fact in try reader.mapping(entry.value, what: "facts") {
                        try Environment.checkName(fact.key, reader: reader, node: fact.keyNode)
                        let value = try reader.string(fact.value, what: "the value of fact \(fact.key)")
                        try Environment.checkPrintable(value, what: "the value of fact \(fact.key)", reader: reader, node: fact.value)
                        declare(DeclaredFact(name: fact.key, value: value, line: reader.line(fact.keyNode), isOverride: true))
                    }
                case "probes":
                    for probe in try reader.mapping(entry.value, what: "probes") {
                        try Environment.checkName(probe.key, reader: reader, node: probe.keyNode)
                        let command = try reader.string(probe.value, what: "the command of probe \(probe.key)")
                        commandProbes[probe.key] = DeclaredCommand(text: command, line: reader.line(probe.keyNode))
                    }
                case "binaries":
                    for binary in try reader.mapping(entry.value, what: "binaries") {
                        try Environment.checkName(binary.key, reader: reader, node: binary.keyNode)
                        let path = try reader.string(binary.value, what: "the path of binary \(binary.key)")
                        binaries[binary.key] = DeclaredCommand(text: path, line: reader.line(binary.keyNode))
                    }
                case "taint-ignore":
                    // A list of letters ([W, O]) or one string of them (W,O).
                    let items: [YAMLNode] = if case .sequence(let items, _) = entry.value { items } else { [entry.value] }
                    for item in items {
                        let letters = try reader.string(item, what: "each letter of taint-ignore")
                        do {
                            taintIgnore.formUnion(try Taint.letters(letters))
                        } catch {
                            throw reader.error(item, "taint-ignore: \(error.description)")
                        }
                    }
                case "restore":
                    restore = DeclaredCommand(text: try reader.string(entry.value, what: "restore"), line: reader.line(entry.value))
                case "packages":
                    let command = try reader.string(entry.value, what: "packages")
                    if Environment.noPackageWords.contains(command.trimmingWhitespace().lowercased()) {
                        packages = .none
                    } else if command.trimmingWhitespace().isEmpty {
                        throw reader.error(entry.value, "packages is empty; write a command that prints one NAME VERSION per line "
                            + "(packages: cat packages.txt), or packages: none to record no package list")
                    } else {
                        packages = .command(DeclaredCommand(text: command, line: reader.line(entry.value)))
                    }
                default: break
                }
            }
        }
        environmentName = name
        self.description = description
        probesHost = probe
        self.host = probe ? host : nil
        self.declared = declared
        self.commandProbes = commandProbes
        self.binaries = binaries
        self.restore = restore
        self.warnings = warnings
        self.packages = packages
        self.taintIgnore = taintIgnore
    }

    /// `packages:` values that record no package list.
    static let noPackageWords: Set<String> = ["none", "false", "no", "off"]

    /// `DELL_R420` or `virtiowin = 2013-10-24`.
    static func parseTag(_ tag: String, reader: YAMLReader, node: YAMLNode) throws(DeclarationError) -> (name: String, value: String?) {
        let parts = tag.split(separator: "=", maxSplits: 1)
        let name = parts[0].trimmingWhitespace()
        try checkName(name, reader: reader, node: node)
        if parts.count == 2 {
            let value = parts[1].trimmingWhitespace()
            try checkPrintable(value, what: "the value of tag \(name)", reader: reader, node: node)
            guard !value.isEmpty, !value.contains(where: \.isWhitespace) else {
                throw reader.error(node, "tag \"\(tag)\" needs one value after `=`, e.g. \"\(name) = 1.0\"")
            }
            return (name, value)
        }
        return (name, nil)
    }

    /// Names and values reach every verdict and report: no control character.
    static func checkPrintable(_ text: String, what: String, reader: YAMLReader, node: YAMLNode) throws(DeclarationError) {
        if let bad = firstUnprintableNamed(in: text) {
            throw reader.error(node, "\(what) \"\(shortenedName(text))\" has \(bad) that would reach "
                + "terminals and reports as it is; write it with printable characters only")
        }
    }

    static func checkName(_ name: String, reader: YAMLReader, node: YAMLNode) throws(DeclarationError) {
        guard !name.isEmpty, name.allSatisfy(Alternative.isNameCharacter) else {
            throw reader.error(node, "\"\(name)\" is not a fact name; names use letters, digits and _ . : / @ - (write values as \"NAME = VALUE\")")
        }
    }

    /// The absolute path of a declared binary (relative paths from the file's directory).
    /// - Parameter name: A fact name under `binaries:`.
    /// - Returns: The standardized absolute path, or nil when `name` is not declared there.
    public func binaryPath(_ name: String) -> String? {
        guard let binary = binaries[name] else { return nil }
        return absolute(binary.text)
    }

    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: directory).appendingPathComponent(path).standardizedFileURL.path
    }

    /// The variables a test gets for the environment's binaries: `qemu-src` → `QEMU_SRC`.
    public var binaryVariables: [String: String] {
        var variables: [String: String] = [:]
        for name in binaries.keys {
            variables[Environment.variableName(for: name)] = binaryPath(name)
        }
        return variables
    }

    /// A fact name as an environment variable: upper-cased, `-` (and other symbols) as `_`.
    /// - Parameter name: A fact name (`qemu-src`).
    /// - Returns: The variable's name (`QEMU_SRC`).
    public static func variableName(for name: String) -> String {
        String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// Declared facts, binaries and probes as `lookup` has them; the host's
    /// facts along `searchPath` (see `FactSource`).
    /// - Parameters:
    ///   - name: A fact name.
    ///   - searchPath: The process's `PATH`; nil is `lookup(_:)`.
    /// - Returns: The fact with its value and source, or why it is absent.
    public func lookup(_ name: String, searchPath: String?) -> FactLookup {
        guard searchPath != nil, declared[name] == nil, binaries[name] == nil, commandProbes[name] == nil,
              let host else { return lookup(name) }
        return host.lookup(name, searchPath: searchPath)
    }

    /// Looks one fact up, first match wins: `facts` and `provides`, `binaries`,
    /// `probes`, then the host probe; each answer is cached until `invalidate`.
    /// - Parameter name: A fact name.
    /// - Returns: The fact, whose source is `FILE:LINE` for a declaration, or
    ///   why it is absent (declared false, binary not executable, probe failed).
    public func lookup(_ name: String) -> FactLookup {
        if let cached = cache.withLock({ $0[name] }) { return cached }
        let result = resolveFact(name)
        cache.withLock { $0[name] = result }
        return result
    }

    var source: String { file ?? "local" }

    func resolveFact(_ name: String) -> FactLookup {
        if let fact = declared[name] {
            let origin = fact.origin ?? "\(source)\(fact.line.map { ":\($0)" } ?? "")"
            if let value = fact.value, Alternative.falseWords.contains(value.lowercased()) {
                return .absent(reason: "\(origin) declares \(name) as \(value)")
            }
            var declared = Fact(name: name, value: fact.value, source: origin)
            declared.isDeclared = true
            return .present(declared)
        }
        if let binary = binaries[name] {
            let path = absolute(binary.text)
            let origin = "\(source)\(binary.line.map { ":\($0)" } ?? "")"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                return .absent(reason: "binary \(binary.text) (\(origin)) is not an executable file; fix the path in binaries")
            }
            return HostProbe.versionFact(name: name, executable: path, shownAs: binary.text, runner: runner)
        }
        if let probe = commandProbes[name] {
            let origin = "\(source)\(probe.line.map { ":\($0)" } ?? "")"
            guard let output = runner.shell(probe.text, in: directory) else {
                return .absent(reason: "probe `\(probe.text)` (\(origin)) cannot be started")
            }
            if output.timedOut {
                return .absent(reason: "\(name) is unknown: probe `\(probe.text)` (\(origin)) did not answer in \(runner.timeoutText); "
                    + "its process group was killed")
            }
            if output.interrupted {
                return .absent(reason: "\(name) is unknown: probe `\(probe.text)` (\(origin)) was interrupted")
            }
            if output.truncated {
                return .absent(reason: "\(name) is unknown: probe `\(probe.text)` (\(origin)) printed more than "
                    + "\(CommandRunner.versionOutputLimit / 1024) KiB; its process group was killed")
            }
            guard output.status == 0 else {
                return .absent(reason: "\(name) is unknown: probe `\(probe.text)` (\(origin)) exited \(output.status)")
            }
            let names = [name] + (Environment.programName(of: probe.text).map { [$0] } ?? [])
            guard let version = VersionOutput.extract(from: output.text, names: names) else {
                return .absent(reason: "\(name) is unknown: probe `\(probe.text)` (\(origin)) printed no version")
            }
            return .present(Fact(name: name, value: version, source: probe.text))
        }
        // A name nothing knows: the nearest one this file declares counts too.
        if let host { return knows(name) || name.hasPrefix("qemu-") ? host.lookup(name) : HostProbe.notPresent(name, among: knownNames) }
        return .absent(reason: "\(name) is not declared in \(source) (probe: false)")
    }

    /// The basename of the program a `probes:` command line runs: `virsh` for
    /// `virsh --version`, `ip` for `LANG=C /sbin/ip -V | head -1`; nil when
    /// the line names none.
    static func programName(of command: String) -> String? {
        let words = command.split(whereSeparator: \.isWhitespace)
        guard let program = words.first(where: { !$0.contains("=") }) else { return nil }
        let base = program.split(separator: "/").last.map(String.init) ?? String(program)
        return base.isEmpty ? nil : base
    }

    /// The host's recorded facts, the declared facts, and every fact looked up so far.
    /// - Returns: The facts, sorted by name; a declaration wins over the host's value.
    public func recordedFacts() -> [Fact] {
        var facts: [String: Fact] = [:]
        for fact in host?.recordedFacts() ?? [] { facts[fact.name] = fact }
        for name in declared.keys { if let fact = lookup(name).fact { facts[name] = fact } }
        for fact in cache.withLock({ $0.values.compactMap(\.fact) }) { facts[fact.name] = fact }
        return facts.values.sorted { $0.name < $1.name }
    }

    /// Whether a probe can tell this fact: a declared binary or probe, or a
    /// host probe for a name not declared outright.
    /// - Parameter name: A fact name.
    /// - Returns: True when a lookup would run a probe for it.
    public func canProbe(_ name: String) -> Bool {
        binaries[name] != nil || commandProbes[name] != nil || (declared[name] == nil && host?.canProbe(name) == true)
    }

    /// Forgets the cached answers for these facts, here and in the host probe.
    /// - Parameter names: Fact names.
    public func invalidate(_ names: [String]) {
        cache.withLock { cache in for name in names { cache[name] = nil } }
        host?.invalidate(names)
    }

    /// Every fact: all host probes run, then every declared fact, binary and probe.
    /// - Returns: The facts found, sorted by name; declared names hide the host's.
    public func allFacts() -> [Fact] {
        let names = Set(declared.keys).union(binaries.keys).union(commandProbes.keys)
        var facts: [Fact] = []
        if let host {
            for fact in host.allFacts() where !names.contains(fact.name) {
                facts.append(fact)
            }
        }
        facts += names.sorted().compactMap { lookup($0).fact }
        return facts.sorted { $0.name < $1.name }
    }

    /// Declared facts and binaries whose lookup failed, for `testbed probe` to show.
    /// - Returns: Each name with its reason, sorted by name.
    public func unavailable() -> [(name: String, reason: String)] {
        Set(binaries.keys).union(commandProbes.keys).union(declared.keys).sorted().compactMap { name in
            if case let .absent(reason) = lookup(name) { return (name, reason) }
            return nil
        }
    }
}
