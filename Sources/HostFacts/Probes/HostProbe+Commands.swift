import Foundation
import Requirements

/// The probes of programs on PATH: `cmd:NAME`, `qemu` and the `qemu-*`
/// programs, and a declared binary's `--version`.
extension HostProbe {
    /// The path of an executable named `name` on PATH, if any.
    /// - Parameter name: A program's name, or a path (with a `/`), taken as it is.
    /// - Returns: The first executable regular file found, as PATH spells it
    ///   (not below `root`); nil when there is none.
    public func executable(named name: String) -> String? {
        if name.contains("/") {
            return FileManager.default.isExecutableFile(atPath: resolve(name)) ? name : nil
        }
        for dir in path where !dir.isEmpty {
            let candidate = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            var isDirectory: ObjCBool = false
            let resolved = resolve(candidate)
            if FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: resolved) {
                return candidate
            }
        }
        return nil
    }

    func probeCommand(_ command: String) -> FactLookup {
        if let found = executable(named: command) {
            return .present(Fact(name: "cmd:\(command)", value: nil, source: found))
        }
        return .absent(reason: "\(command) is not on PATH")
    }

    /// QEMU's binary name for a `uname -m` architecture.
    /// - Parameter arch: What `uname -m` prints (`x86_64`, `aarch64`, `armv7l`).
    /// - Returns: The TARGET of `qemu-system-TARGET` (`x86_64`, `aarch64`, `arm`); `arch` itself when unknown.
    public static func qemuTarget(forArch arch: String) -> String {
        switch arch {
        case "x86_64", "amd64": "x86_64"
        case "i386", "i486", "i586", "i686": "i386"
        case "aarch64", "arm64": "aarch64"
        case let a where a.hasPrefix("armv"): "arm"
        case "ppc64le", "ppc64": "ppc64"
        case "riscv64": "riscv64"
        case "s390x": "s390x"
        case "mips64", "mips64el": "mips64el"
        case "loongarch64": "loongarch64"
        default: arch
        }
    }

    func probeQEMU() -> FactLookup {
        guard let arch = lookup("arch").fact?.value else {
            return .absent(reason: "qemu is unknown: this host's architecture is unknown")
        }
        let binary = "qemu-system-\(Self.qemuTarget(forArch: arch))"
        switch probeBinaryVersion(binary, fact: "qemu") {
        case .present(let fact): return .present(fact)
        case .absent(let reason): return .absent(reason: "qemu is not installed on this host (\(reason))")
        }
    }

    /// `qemu-img`, `qemu-system-aarch64`…: the version the binary on PATH prints.
    func probeBinaryVersion(_ binary: String, fact: String) -> FactLookup {
        guard let found = executable(named: binary) else {
            return .absent(reason: "\(binary) is not on PATH")
        }
        return Self.versionFact(name: fact, executable: resolve(found), shownAs: found, runner: runner)
    }

    /// Runs `executable --version` and makes a fact of the version it prints
    /// (`VersionOutput.extract`, bound to the fact's name or the program's
    /// basename). Absent, with the reason, when it cannot start, does not
    /// answer within the runner's timeout (its process group is killed), fails
    /// or prints no version.
    /// - Parameters:
    ///   - name: The fact's name.
    ///   - executable: The program's absolute path, run with `--version`.
    ///   - shownAs: The program as messages name it.
    ///   - runner: Runs it, with its timeout and its output limit (`versionOutputLimit` bytes).
    /// - Returns: The fact whose value is the version and whose source is
    ///   `SHOWN --version`, or why it is absent.
    public static func versionFact(name: String, executable: String, shownAs: String, runner: CommandRunner) -> FactLookup {
        guard let output = runner.run(executable, ["--version"]) else {
            return .absent(reason: "\(shownAs) cannot be started")
        }
        if output.timedOut {
            return .absent(reason: "`\(shownAs) --version` did not answer in \(runner.timeoutText); its process group was killed")
        }
        if output.interrupted {
            return .absent(reason: "`\(shownAs) --version` was interrupted")
        }
        if output.truncated {
            return .absent(reason: "`\(shownAs) --version` printed more than \(CommandRunner.versionOutputLimit / 1024) KiB; "
                + "its process group was killed")
        }
        let program = executable.split(separator: "/").last.map(String.init) ?? executable
        guard output.status == 0, let version = VersionOutput.extract(from: output.text, names: [name, program]) else {
            let first = output.text.firstLine ?? ""
            return .absent(reason: "`\(shownAs) --version` printed no version (exit \(output.status)\(first.isEmpty ? "" : ": \(first)"))")
        }
        return .present(Fact(name: name, value: version, source: "\(shownAs) --version"))
    }

    /// Every `qemu-system-*` binary on PATH, as fact names.
    func qemuSystemBinaries() -> [String] {
        var names: Set<String> = []
        for dir in path where !dir.isEmpty {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: resolve(dir)) else { continue }
            for entry in entries where entry.hasPrefix("qemu-system-") { names.insert(entry) }
        }
        return names.sorted()
    }
}
