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
    func lookup(_ name: String) -> FactLookup
    /// Looks one fact up as a process with this `PATH` would see it (a
    /// setup that built QEMU exports `PATH=$PWD/build:$PATH`): facts found on
    /// PATH (`qemu`, `qemu-*`, `cmd:*`) are probed along it; nil is `lookup`.
    func lookup(_ name: String, searchPath: String?) -> FactLookup
    /// Every fact that can be listed (for `testbed probe`): all probes run.
    func allFacts() -> [Fact]
    /// The facts recorded with a run: the host's basics (kernel, arch, os,
    /// CPUs, memory, root, kvm, virtualized) and every fact probed so far;
    /// no probe runs that nothing asked for.
    func recordedFacts() -> [Fact]
    /// Forgets what was probed for these facts, so the next lookup probes
    /// again (after a setup that promised them has run).
    func invalidate(_ names: [String])
    /// Whether a probe can tell this fact (`qemu`, `cmd:gdb`, an environment's
    /// `probes:`), as opposed to a tag only a declaration or a setup's promise gives.
    func canProbe(_ name: String) -> Bool
    /// Whether anything knows this fact name: a built-in probe (`kernel`,
    /// `qemu`…) or probe family (`cpu-flag:`, `cmd:`…), or a fact the
    /// environment declares (`provides`, `facts`, `probes`, `binaries`).
    /// Whether the host has the fact does not matter: a name nobody knows
    /// is most likely a typo (`kernal`), or a lab tag no environment declares.
    func knows(_ name: String) -> Bool
    /// The names it knows, for suggesting one in place of a typo; probe
    /// families as their prefix (`cpu-flag:`).
    var knownNames: [String] { get }
}

extension FactSource {
    /// A source that knows no PATH: the plain lookup.
    public func lookup(_ name: String, searchPath: String?) -> FactLookup { lookup(name) }

    /// The built-in probes and probe families.
    public func knows(_ name: String) -> Bool { HostProbe.isBuiltIn(name) }

    public var knownNames: [String] { HostProbe.builtInNames }

    /// The phrase used when a fact nobody provides is asked for.
    public static func notPresent(_ name: String) -> FactLookup {
        .absent(reason: "\(name) is not present on this host")
    }
}
