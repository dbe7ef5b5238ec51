import Dispatch
import Foundation
import Requirements
import Synchronization

/// Takes a run's `RunProvenance`: the hostname, `/etc/machine-id`, the
/// host's `RunSnapshot`, and the suite root's git commit and dirty flag.
///
/// What it records (DESIGN.md, "History"):
/// - the cheap facts of the probe table (`cheapFacts`) and every fact the
///   environment file declares (`facts:`, `provides:`), as the environment
///   answers them (an override wins; a fact the host lacks is left out);
/// - `/proc/cmdline` and the names in `/proc/modules`;
/// - the installed packages, from the environment's `packages:` (by default
///   `dpkg-query`, else `rpm`, when on PATH);
/// - the versions of the environment's `binaries:`.
///
/// Left out on purpose: `qemu` and the `qemu-*` programs (each costs a
/// `--version` command; a run records them anyway when a test asks, and the
/// package list or `binaries:` has them), and the on-demand families
/// `cmd:` (every program on PATH), `kconfig:` (thousands of options, and
/// `/proc/config.gz` costs a `gzip`), `module:` (the loaded modules are in
/// `modules`) and `file:` (no list of files to read).
///
/// The slow parts (the package list, git) run on threads of their own,
/// each with the runner's timeout, at the same time as the cheap facts:
/// `start()` begins all of it and a run awaits it just before it starts,
/// so planning and opening the store overlap with it.
public struct SnapshotProbe: Sendable {
    /// The environment the run uses: its facts, `binaries:` and `packages:`.
    public let environment: Environment
    /// The suite root whose git revision is recorded; nil: none.
    public let suiteRoot: String?
    /// The results directory: when it lies inside the suite's work tree it
    /// does not make it dirty (it is written by every run).
    public let resultsDirectory: String?
    /// Runs the package list and git, with its timeout each.
    public let runner: CommandRunner

    /// The most bytes of a package list read: 32 MiB (dpkg-query prints ~40 bytes a package).
    public static let packageListLimit = 32 << 20

    /// A probe of the snapshot of a run in `environment`.
    ///
    /// - Parameters:
    ///   - environment: the run's environment.
    ///   - suiteRoot: the suite root (absolute), for its git commit; nil when the run has none.
    ///   - resultsDirectory: the results directory (absolute), left out of the dirty check.
    ///   - runner: runs the package list and git (30 s each by default).
    public init(environment: Environment, suiteRoot: String?, resultsDirectory: String? = nil,
                runner: CommandRunner = CommandRunner(timeout: .seconds(30))) {
        self.environment = environment
        self.suiteRoot = suiteRoot
        self.resultsDirectory = resultsDirectory
        self.runner = runner
    }

    /// What was collected, and what went wrong on the way.
    public struct Collected: Sendable {
        /// The run's provenance (its labels empty: the command line gives them).
        public var provenance: RunProvenance
        /// One sentence per part that could not be taken (a package list
        /// command that failed), for warnings; the part is left empty.
        public var warnings: [String]
    }

    /// A collection going on in the background (`start()`).
    public final class Pending: Sendable {
        let result = Mutex<Collected?>(nil)
        let done = DispatchSemaphore(value: 0)

        init() {}

        /// Waits for the collection to end.
        ///
        /// - Returns: what was collected.
        public func value() async -> Collected {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: self.wait())
                }
            }
        }

        /// Blocks until the collection ends.
        ///
        /// - Returns: what was collected.
        public func wait() -> Collected {
            if let collected = result.withLock({ $0 }) { return collected }
            done.wait()
            done.signal()
            return result.withLock { $0! }
        }

        func finish(_ collected: Collected) {
            result.withLock { $0 = collected }
            done.signal()
        }
    }

    /// Starts collecting on background threads and returns at once.
    ///
    /// - Returns: the collection going on; `await pending.value()` for its result.
    public func start() -> Pending {
        let pending = Pending()
        let probe = self
        Thread.detachNewThread { pending.finish(probe.collect()) }
        return pending
    }

    /// Collects everything: the package list and git on threads of their
    /// own, the rest on this one; returns when all are done.
    ///
    /// - Returns: the provenance and the warnings.
    public func collect() -> Collected {
        let packages = Mutex<(list: [String: String], manager: String?, warning: String?)>(([:], nil, nil))
        let revision = Mutex<(commit: String?, dirty: Bool?)>((nil, nil))
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { packages.withLock { $0 = self.packageList() } }
        DispatchQueue.global().async(group: group) { revision.withLock { $0 = self.suiteRevision() } }
        let root = environment.host?.root ?? "/"
        var snapshot = RunSnapshot(facts: facts(), kernelCommandLine: Self.read("/proc/cmdline", below: root).map(Self.trimmed),
                                   modules: Self.read("/proc/modules", below: root).map(Self.parseModules) ?? [],
                                   binaries: binaryVersions())
        let machineID = Self.read("/etc/machine-id", below: root).map(Self.trimmed)
        group.wait()
        let (list, manager, warning) = packages.withLock { $0 }
        snapshot.packages = list
        snapshot.packageManager = manager
        let (commit, dirty) = revision.withLock { $0 }
        let provenance = RunProvenance(host: Self.hostname(), machineID: machineID.flatMap { $0.isEmpty ? nil : $0 }, snapshot: snapshot,
                                       suiteCommit: commit, suiteDirty: dirty)
        return Collected(provenance: provenance, warnings: warning.map { [$0] } ?? [])
    }

    // MARK: - Facts

    /// The fixed facts of the probe table that cost no command.
    public static let cheapFacts = ["root", "kernel", "arch", "os", "os-version", "cpus", "memory", "kvm", "virtualized"]

    /// The cheap facts, every CPU flag and PCI device of the host, and every
    /// declared fact, as the environment answers them; a tag's value is "".
    func facts() -> [String: String] {
        var names = Set(Self.cheapFacts).union(environment.declared.keys)
        if let host = environment.host {
            names.formUnion(host.cpuFlags().map { "cpu-flag:" + $0 })
            names.formUnion(host.pciDevices().map { "pci:" + $0 })
        }
        var facts: [String: String] = [:]
        for name in names {
            if let fact = environment.lookup(name).fact { facts[name] = fact.value ?? "" }
        }
        return facts
    }

    /// The environment's binaries with the version each prints (the fact of
    /// the same name); one that is not there is left out.
    func binaryVersions() -> [String: String] {
        var versions: [String: String] = [:]
        for name in environment.binaries.keys {
            if let value = environment.lookup(name).fact?.value { versions[name] = value }
        }
        return versions
    }

    // MARK: - Packages

    /// The default package lists, in the order they are tried: the program
    /// looked for on PATH, its arguments, and the manager's name.
    static let defaultLists: [(program: String, arguments: [String], manager: String)] = [
        // The status first: a package removed but for its configuration files ("rc") is not installed.
        ("dpkg-query", ["-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n"], "dpkg"),
        ("rpm", ["-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"], "rpm"),
    ]

    /// The package list as `packages:` says: name → version, who gave it,
    /// and why there is none when a command failed.
    func packageList() -> (list: [String: String], manager: String?, warning: String?) {
        switch environment.packages {
        case .none:
            return ([:], nil, nil)
        case .command(let command):
            let origin = "\(environment.file ?? "local")\(command.line.map { ":\($0)" } ?? "")"
            let output = runner.shell(command.text, in: environment.directory, limit: Self.packageListLimit)
            if let problem = Self.problem(output, shown: "`\(command.text)` (\(origin))", runner: runner) {
                return ([:], nil, "the package list was not recorded: \(problem); fix `packages:` in \(origin) or write packages: none")
            }
            return (Self.parsePackages(output?.text ?? ""), "command", nil)
        case .automatic:
            let lookup = HostProbe(path: environment.host?.path)
            for list in Self.defaultLists {
                guard let program = lookup.executable(named: list.program) else { continue }
                let output = runner.run(program, list.arguments, limit: Self.packageListLimit)
                if let problem = Self.problem(output, shown: "`\(list.program) \(list.arguments.first ?? "")`", runner: runner) {
                    return ([:], nil, "the package list was not recorded: \(problem); write packages: none in an environment file "
                        + "to record none, or packages: COMMAND to list them otherwise")
                }
                let text = output?.text ?? ""
                return (list.manager == "dpkg" ? Self.parseDpkg(text) : Self.parsePackages(text), list.manager, nil)
            }
            return ([:], nil, nil)
        }
    }

    /// Why a command's output is not a package list; nil when it is.
    static func problem(_ output: CommandRunner.Output?, shown: String, runner: CommandRunner) -> String? {
        guard let output else { return "\(shown) cannot be started" }
        if output.timedOut { return "\(shown) did not finish in \(runner.timeoutText); its process group was killed" }
        if output.interrupted { return "\(shown) was interrupted" }
        if output.truncated { return "\(shown) printed more than \(packageListLimit >> 20) MiB; its process group was killed" }
        if output.status != 0 {
            let first = output.text.firstLine ?? ""
            return "\(shown) exited \(output.status)" + (first.isEmpty ? "" : " (\(first))")
        }
        return nil
    }

    /// `NAME VERSION` lines (a tab or spaces between them) → name → version.
    /// Blank lines, and lines that are not two words of printable
    /// characters (a warning the command printed), are skipped; a name
    /// listed twice keeps its last version.
    ///
    /// - Parameter text: the command's output.
    /// - Returns: name → version.
    public static func parsePackages(_ text: String) -> [String: String] {
        var packages: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2, !line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
                continue
            }
            packages[String(words[0])] = String(words[1])
        }
        return packages
    }

    /// The default dpkg list (`STATUS<tab>NAME<tab>VERSION`): the packages
    /// dpkg has installed, or half-installed; not those removed but for
    /// their configuration files (`rc`) or never installed (`un`).
    ///
    /// - Parameter text: what `dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n'` printed.
    /// - Returns: name → version.
    public static func parseDpkg(_ text: String) -> [String: String] {
        var installed = ""
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let status = Array(fields[0])
            guard status.count >= 2, status[1] != "n", status[1] != "c" else { continue }
            installed += fields[1] + "\t" + fields[2] + "\n"
        }
        return parsePackages(installed)
    }

    // MARK: - Kernel

    /// The module names of `/proc/modules` (the first word of each line), sorted, each once.
    ///
    /// - Parameter text: `/proc/modules`.
    /// - Returns: the names.
    public static func parseModules(_ text: String) -> [String] {
        Set(text.split(whereSeparator: \.isNewline).compactMap { line in
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }).sorted()
    }

    // MARK: - The suite's revision

    /// `git -C ROOT rev-parse HEAD` and whether `git status --porcelain`
    /// prints anything (the results directory left out); nil and nil when
    /// the suite is not in a git work tree, git is missing or fails.
    func suiteRevision() -> (commit: String?, dirty: Bool?) {
        guard let suiteRoot, let git = HostProbe(path: environment.host?.path).executable(named: "git") else { return (nil, nil) }
        guard let head = runner.run(git, ["-C", suiteRoot, "rev-parse", "HEAD"]), head.status == 0, !head.timedOut,
              let commit = head.text.firstLine, commit.count >= 40, commit.allSatisfy(\.isHexDigit) else { return (nil, nil) }
        var arguments = ["--no-optional-locks", "-C", suiteRoot, "status", "--porcelain", "--", ":/"]
        if let excluded = Self.relative(resultsDirectory, to: suiteRoot) { arguments.append(":(exclude)" + excluded) }
        guard let status = runner.run(git, arguments, limit: 4096), !status.timedOut, status.status == 0 || status.truncated else {
            return (commit, nil)
        }
        return (commit, !status.text.isEmpty)
    }

    /// `path` relative to `root` when it lies below it (both absolute, compared as spelt after standardizing).
    static func relative(_ path: String?, to root: String) -> String? {
        guard let path else { return nil }
        let inner = URL(fileURLWithPath: path).standardizedFileURL.path
        let outer = URL(fileURLWithPath: root).standardizedFileURL.path
        guard inner.hasPrefix(outer + "/") else { return nil }
        return String(inner.dropFirst(outer.count + 1))
    }

    // MARK: - Files and identity

    static func read(_ path: String, below root: String) -> String? {
        let full = root == "/" ? path : (root.hasSuffix("/") ? String(root.dropLast()) : root) + path
        guard let data = FileManager.default.contents(atPath: full) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func trimmed(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// This host's name (`gethostname`); nil when it has none.
    ///
    /// - Returns: the name.
    public static func hostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? nil : name
    }
}
