extension Environment {
    /// A built-in probe or probe family, or a name this environment file
    /// declares (`provides`, `facts`, `probes`, `binaries`), whether or not
    /// the host is probed.
    public func knows(_ name: String) -> Bool {
        declared[name] != nil || binaries[name] != nil || commandProbes[name] != nil || HostProbe.isBuiltIn(name)
    }

    public var knownNames: [String] {
        HostProbe.builtInNames + declared.keys.sorted() + binaries.keys.sorted() + commandProbes.keys.sorted()
    }
}
