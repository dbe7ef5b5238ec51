import Declarations
import Requirements

extension Environment {
    /// A built-in probe or probe family, or a name this environment file
    /// declares (`provides`, `facts`, `probes`, `binaries`), whether or not
    /// the host is probed; a `qemu-` program of another name that is on PATH too.
    /// - Parameter name: A fact name.
    /// - Returns: True when the name is known; only a `qemu-` name searches PATH.
    public func knows(_ name: String) -> Bool {
        declared[name] != nil || binaries[name] != nil || commandProbes[name] != nil || HostProbe.isBuiltIn(name)
            || (name.hasPrefix("qemu-") && host?.executable(named: name) != nil)
    }

    /// The built-in names, then this file's declared facts, binaries and probes, each sorted.
    public var knownNames: [String] {
        HostProbe.builtInNames + declared.keys.sorted() + binaries.keys.sorted() + commandProbes.keys.sorted()
    }
}
