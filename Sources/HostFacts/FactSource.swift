import Declarations
import Requirements

/// Something that answers fact lookups: the probed local host, or an environment.
///
/// Implementations probe lazily and cache: a fact is probed only when some
/// requirement asks for it.
public protocol FactSource: Sendable {
    /// The environment's name (`local` for the probed host).
    var environmentName: String { get }
    /// Looks one fact up, probing it on first use.
    /// - Parameter name: A fact name (`kernel`, `cpu-flag:vmx`, `cmd:gdb`, a declared tag).
    /// - Returns: The fact with its value and source, or why it is absent.
    func lookup(_ name: String) -> FactLookup
    /// Looks one fact up as a process with this `PATH` would see it (a
    /// setup that built QEMU exports `PATH=$PWD/build:$PATH`): facts found on
    /// PATH (`qemu`, `qemu-*`, `cmd:*`) are probed along it.
    /// - Parameters:
    ///   - name: A fact name.
    ///   - searchPath: The process's `PATH` (colon-separated); nil is `lookup(_:)`.
    /// - Returns: The fact with its value and source, or why it is absent.
    func lookup(_ name: String, searchPath: String?) -> FactLookup
    /// Every fact that can be listed (for `testbed probe`): all probes run.
    /// - Returns: The facts found, sorted by name.
    func allFacts() -> [Fact]
    /// The facts recorded with a run: the host's basics (kernel, arch, os,
    /// CPUs, memory, root, kvm, virtualized) and every fact probed so far;
    /// no probe runs that nothing asked for.
    /// - Returns: The facts, sorted by name.
    func recordedFacts() -> [Fact]
    /// Forgets what was probed for these facts, so the next lookup probes
    /// again (after a setup that promised them has run).
    /// - Parameter names: Fact names; names never looked up are ignored.
    func invalidate(_ names: [String])
    /// Whether a probe can tell this fact (`qemu`, `cmd:gdb`, an environment's
    /// `probes:`), as opposed to a tag only a declaration or a setup's promise gives.
    /// - Parameter name: A fact name.
    /// - Returns: True when a lookup would run a probe for it.
    func canProbe(_ name: String) -> Bool
    /// Whether anything knows this fact name: a built-in probe (`kernel`,
    /// `qemu`…) or probe family (`cpu-flag:`, `cmd:`…), or a fact the
    /// environment declares (`provides`, `facts`, `probes`, `binaries`).
    /// Whether the host has the fact does not matter: a name nobody knows
    /// is most likely a typo (`kernal`), or a lab tag no environment declares.
    /// - Parameter name: A fact name.
    /// - Returns: True when the name is known; nothing is probed.
    func knows(_ name: String) -> Bool
    /// The names it knows, for suggesting one in place of a typo; probe
    /// families as their prefix (`cpu-flag:`).
    var knownNames: [String] { get }
}

extension FactSource {
    /// A source that knows no PATH: the plain lookup.
    /// - Parameters:
    ///   - name: A fact name.
    ///   - searchPath: Ignored.
    /// - Returns: `lookup(name)`.
    public func lookup(_ name: String, searchPath: String?) -> FactLookup { lookup(name) }

    /// The built-in probes and probe families.
    /// - Parameter name: A fact name.
    /// - Returns: True for a built-in probe (`kernel`) or a name of a probe family (`cpu-flag:vmx`).
    public func knows(_ name: String) -> Bool { HostProbe.isBuiltIn(name) }

    /// The built-in probe names, probe families as their prefix (`cpu-flag:`).
    public var knownNames: [String] { HostProbe.builtInNames }

    /// The phrase used when a fact nobody provides is asked for.
    /// - Parameter name: The fact asked for.
    /// - Returns: `.absent` with the reason `NAME is not present on this host`.
    public static func notPresent(_ name: String) -> FactLookup {
        .absent(reason: "\(name) is not present on this host")
    }

    /// As `notPresent(_:)`, with the known name nearest to `name` when one is
    /// close (`kernal is not present on this host; did you mean kernel?`): a
    /// typo shows in the reason itself, where the summary puts it.
    /// - Parameters:
    ///   - name: The fact asked for.
    ///   - candidates: The names the source knows, probe families as their prefix (`cpu-flag:`).
    /// - Returns: `.absent` with the reason, and the suggestion when there is one.
    public static func notPresent(_ name: String, among candidates: [String]) -> FactLookup {
        guard let guess = nearestFactName(to: name, among: candidates) else { return notPresent(name) }
        return .absent(reason: "\(name) is not present on this host; did you mean \(guess)?")
    }
}

/// The known fact name nearest to `name`, nil when none is close: a family
/// prefix for a name with a colon (`cpu-flg:vmx` → `cpu-flag:vmx`), else a
/// name (`kernal` → `kernel`).
/// - Parameters:
///   - name: The name as written.
///   - candidates: Known names, probe families as their prefix (`cpu-flag:`).
/// - Returns: The suggestion, or nil.
public func nearestFactName(to name: String, among candidates: [String]) -> String? {
    if let colon = name.firstIndex(of: ":") {
        let prefix = String(name[...colon])
        let families = candidates.filter { $0.hasSuffix(":") }
        if !families.contains(prefix), let family = closest(to: prefix, in: families) {
            return family + name[name.index(after: colon)...]
        }
    }
    return closest(to: name, in: candidates.filter { !$0.hasSuffix(":") && $0 != name })
}
