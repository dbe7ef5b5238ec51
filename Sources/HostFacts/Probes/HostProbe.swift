import CShim
import Declarations
import Foundation
import Requirements
import Synchronization

/// The facts of a Linux host, probed lazily and cached (DESIGN.md, "Facts of the
/// local host").
///
/// Every file is read below `root`, so tests point a probe at a fixture tree
/// (a fake `/proc`, `/sys`, `/etc/os-release`, `/boot/config-*`). The identity,
/// PATH and command runner are injectable for the same reason.
public final class HostProbe: FactSource, Sendable {
    /// `local` unless a test names the fixture host otherwise.
    public let environmentName: String
    /// The directory that stands for `/`.
    public let root: String
    /// The effective user id (`root` is present when it is 0).
    public let effectiveUserID: UInt32
    /// The directories searched for `cmd:NAME` and QEMU binaries.
    public let path: [String]
    let runner: CommandRunner
    let cache = Mutex<[String: FactLookup]>([:])
    /// Probes of the same host along another PATH, by that PATH (made on first use).
    let alongPath = Mutex<[String: HostProbe]>([:])

    /// A probe of the host below `root`; nothing is probed until a lookup.
    /// - Parameters:
    ///   - root: The directory that stands for `/` (a fixture tree in tests).
    ///   - environmentName: The name facts are shown under.
    ///   - effectiveUserID: The user id `root` is judged by.
    ///   - path: The directories searched for programs; nil is this process's
    ///     `PATH` (or `/usr/local/bin:/usr/bin:/bin` without one).
    ///   - runner: Runs the `--version` commands, with their time and output limits.
    public init(
        root: String = "/",
        environmentName: String = "local",
        effectiveUserID: UInt32 = geteuid(),
        path: [String]? = nil,
        runner: CommandRunner = CommandRunner()
    ) {
        self.root = root
        self.environmentName = environmentName
        self.effectiveUserID = effectiveUserID
        self.path = path ?? (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
            .split(separator: ":").map(String.init)
        self.runner = runner
    }

    /// Looks one fact up, probing it on first use and caching the answer until
    /// `invalidate`. Sources: `root` geteuid(); `kernel` and `arch`
    /// /proc/sys/kernel (else uname); `os`, `os-version` /etc/os-release;
    /// `cpus` /sys/devices/system/cpu/online (else /proc/cpuinfo); `memory`
    /// MemTotal of /proc/meminfo, in bytes; `kvm` the KVM API version of
    /// /dev/kvm; `virtualized` container marks, the hypervisor flag, the DMI
    /// vendor; `cpu-flag:X` /proc/cpuinfo; `cmd:X` PATH; `kconfig:X`
    /// /boot/config-RELEASE or /proc/config.gz; `module:X` /sys/module, then
    /// modules.dep and modules.builtin of /lib/modules/RELEASE; `pci:vvvv:dddd`
    /// /sys/bus/pci/devices; `file:P` the first line of P; `qemu` and `qemu-*`
    /// the program's `--version` on PATH.
    /// - Parameter name: A fact name.
    /// - Returns: The fact, its source naming where it was read, or why it is absent.
    public func lookup(_ name: String) -> FactLookup {
        if let cached = cache.withLock({ $0[name] }) { return cached }
        let result = probe(name)
        cache.withLock { $0[name] = result }
        return result
    }

    /// Facts whose value depends on the directories of PATH.
    static func followsPath(_ name: String) -> Bool {
        name == "qemu" || name.hasPrefix("qemu-") || name.hasPrefix("cmd:")
    }

    /// Looks one fact up along another PATH: `qemu`, `qemu-*` and `cmd:*`
    /// are probed by a probe of the same host with that PATH, made on first
    /// use and kept; every other fact is `lookup(_:)`.
    /// - Parameters:
    ///   - name: A fact name.
    ///   - searchPath: The process's `PATH` (colon-separated); nil is `lookup(_:)`.
    /// - Returns: The fact with its value and source, or why it is absent.
    public func lookup(_ name: String, searchPath: String?) -> FactLookup {
        guard let searchPath, Self.followsPath(name) else { return lookup(name) }
        let directories = searchPath.split(separator: ":").map(String.init)
        if directories == path { return lookup(name) }
        let probe = alongPath.withLock { probes in
            if let known = probes[searchPath] { return known }
            let made = HostProbe(root: root, environmentName: environmentName, effectiveUserID: effectiveUserID,
                                 path: directories, runner: runner)
            probes[searchPath] = made
            return made
        }
        return probe.lookup(name)
    }

    /// The basics (root, kernel, arch, os, os-version, cpus, memory, kvm,
    /// virtualized), probed now if they were not, and every fact looked up so far.
    /// - Returns: The facts present, sorted by name.
    public func recordedFacts() -> [Fact] {
        for name in ["root", "kernel", "arch", "os", "os-version", "cpus", "memory", "kvm", "virtualized"] { _ = lookup(name) }
        return cache.withLock { $0.values.compactMap(\.fact) }.sorted { $0.name < $1.name }
    }

    static let fixedNames: Set<String> = ["root", "kernel", "arch", "os", "os-version", "cpus", "memory", "kvm", "virtualized", "qemu"]
    static let families = ["cpu-flag:", "cmd:", "kconfig:", "module:", "pci:", "file:", "env:", "qemu-"]

    /// Whether a probe can tell this fact: any built-in name.
    /// - Parameter name: A fact name.
    /// - Returns: `isBuiltIn(name)`.
    public func canProbe(_ name: String) -> Bool {
        Self.isBuiltIn(name)
    }

    /// Whether a fact name is one of the built-in probes or probe families,
    /// whatever this host has. A `qemu-` name must be a QEMU program
    /// (`qemu-img`, `qemu-system-TARGET`, `qemu-TARGET`…): `qemu-sytem-x86_64`
    /// is a typo, not a probe.
    /// - Parameter name: A fact name.
    /// - Returns: True for a fixed fact, a probe family's name or a QEMU program.
    public static func isBuiltIn(_ name: String) -> Bool {
        if fixedNames.contains(name) { return true }
        if name.hasPrefix("qemu-") { return isQEMUProgram(name) }
        return families.contains { name.hasPrefix($0) }
    }

    /// QEMU's targets (`qemu-system-TARGET`, and `qemu-TARGET` for user mode),
    /// from QEMU's `configs/targets`.
    static let qemuTargets: Set<String> = [
        "aarch64", "aarch64_be", "alpha", "arm", "armeb", "avr", "cris", "hexagon", "hppa", "i386", "loongarch64", "m68k",
        "microblaze", "microblazeel", "mips", "mips64", "mips64el", "mipsel", "mipsn32", "mipsn32el", "nios2", "or1k",
        "ppc", "ppc64", "ppc64le", "riscv32", "riscv64", "rx", "s390x", "sh4", "sh4eb", "sparc", "sparc32plus", "sparc64",
        "tricore", "x86_64", "xtensa", "xtensaeb",
    ]

    /// QEMU's tools beside the emulators.
    static let qemuTools: Set<String> = [
        "qemu-img", "qemu-io", "qemu-nbd", "qemu-storage-daemon", "qemu-ga", "qemu-pr-helper", "qemu-edid",
        "qemu-keymap", "qemu-bridge-helper", "qemu-vmsr-helper", "qemu-kvm",
    ]

    /// Whether a name is a QEMU program: a tool, `qemu-system-TARGET`, or
    /// `qemu-TARGET` (user mode, also `-static`).
    static func isQEMUProgram(_ name: String) -> Bool {
        if qemuTools.contains(name) { return true }
        if let target = name.dropPrefix("qemu-system-") { return qemuTargets.contains(target) }
        var target = String(name.dropFirst("qemu-".count))
        if target.hasSuffix("-static") { target = String(target.dropLast("-static".count)) }
        return qemuTargets.contains(target)
    }

    /// The built-in probes, the probe families as their prefix (`cpu-flag:`),
    /// and the QEMU programs (for suggesting one in place of a typo).
    public static let builtInNames: [String] = fixedNames.sorted() + families.filter { $0 != "qemu-" }
        + qemuTools.sorted() + qemuTargets.sorted().map { "qemu-system-" + $0 }

    /// Forgets the cached answers for these facts, here and along every other
    /// PATH; any name that follows PATH (`qemu`, `qemu-*`, `cmd:*`) drops all
    /// of those, since a setup may have installed any program.
    /// - Parameter names: Fact names.
    public func invalidate(_ names: [String]) {
        for probe in alongPath.withLock({ Array($0.values) }) { probe.invalidate(names) }
        cache.withLock { cache in
            for name in names { cache[name] = nil }
            // qemu-* and cmd:* follow PATH; drop those too when any binary may have appeared.
            if names.contains(where: { $0 == "qemu" || $0.hasPrefix("qemu-") || $0.hasPrefix("cmd:") }) {
                cache = cache.filter { !($0.key == "qemu" || $0.key.hasPrefix("qemu-") || $0.key.hasPrefix("cmd:")) }
            }
        }
    }

    /// The fixed facts, every CPU flag, QEMU binary and PCI device, and the
    /// kernel config and module counts.
    /// - Returns: The facts present, the fixed ones first; `kconfig:*` and
    ///   `module:*` stand for the counts.
    public func allFacts() -> [Fact] {
        var names = ["root", "kernel", "arch", "os", "os-version", "cpus", "memory", "kvm", "virtualized", "qemu", "qemu-img"]
        names += qemuSystemBinaries().map { $0 }.filter { !names.contains($0) }
        var facts = names.compactMap { lookup($0).fact }
        facts += cpuFlags().sorted().compactMap { lookup("cpu-flag:\($0)").fact }
        facts += pciDevices().sorted().map { Fact(name: "pci:\($0)", value: nil, source: "/sys/bus/pci") }
        if let (options, source) = kernelConfig() {
            facts.append(Fact(name: "kconfig:*", value: "\(options.count) options set", source: source))
        }
        if let modules = kernelModules() {
            facts.append(Fact(name: "module:*", value: "\(modules.names.count) modules", source: modules.source))
        }
        return facts
    }

    // MARK: - Dispatch

    func probe(_ name: String) -> FactLookup {
        switch name {
        case "root": return probeRoot()
        case "kernel": return probeKernel()
        case "arch": return probeArch()
        case "os": return probeOSRelease(key: "ID", fact: "os")
        case "os-version": return probeOSRelease(key: "VERSION_ID", fact: "os-version")
        case "cpus": return probeCPUs()
        case "memory": return probeMemory()
        case "kvm": return probeKVM()
        case "virtualized": return probeVirtualized()
        case "qemu": return probeQEMU()
        default: break
        }
        if let flag = name.dropPrefix("cpu-flag:") { return probeCPUFlag(flag) }
        if let command = name.dropPrefix("cmd:") { return probeCommand(command) }
        if let option = name.dropPrefix("kconfig:") { return probeKernelConfig(option) }
        if let module = name.dropPrefix("module:") { return probeModule(module) }
        if let id = name.dropPrefix("pci:") { return probePCI(id) }
        if let file = name.dropPrefix("file:") { return probeFile(file) }
        if let variable = name.dropPrefix("env:") { return probeVariable(variable) }
        if name.hasPrefix("qemu-") { return probeBinaryVersion(name, fact: name) }
        return Self.notPresent(name, among: Self.builtInNames)
    }

    // MARK: - Files

    func resolve(_ path: String) -> String {
        if root == "/" { return path }
        return (root.hasSuffix("/") ? String(root.dropLast()) : root) + path
    }

    func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: resolve(path)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: resolve(path))
    }

    // MARK: - Identity and kernel

    func probeRoot() -> FactLookup {
        if effectiveUserID == 0 { return .present(Fact(name: "root", value: nil, source: "geteuid()")) }
        return .absent(reason: "testbed runs as uid \(effectiveUserID), not root")
    }

    func probeKernel() -> FactLookup {
        if let release = read("/proc/sys/kernel/osrelease")?.firstLine, !release.isEmpty {
            return .present(Fact(name: "kernel", value: release, source: "uname -r"))
        }
        if root == "/", let release = Self.uname().release {
            return .present(Fact(name: "kernel", value: release, source: "uname -r"))
        }
        return .absent(reason: "the kernel release is unknown (no /proc/sys/kernel/osrelease)")
    }

    func probeArch() -> FactLookup {
        if let arch = read("/proc/sys/kernel/arch")?.firstLine, !arch.isEmpty {
            return .present(Fact(name: "arch", value: arch, source: "uname -m"))
        }
        if root == "/", let machine = Self.uname().machine {
            return .present(Fact(name: "arch", value: machine, source: "uname -m"))
        }
        return .absent(reason: "the architecture is unknown (no /proc/sys/kernel/arch)")
    }

    static func uname() -> (release: String?, machine: String?) {
        var info = utsname()
        guard Glibc.uname(&info) == 0 else { return (nil, nil) }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        return (text(info.release), text(info.machine))
    }

    func probeOSRelease(key: String, fact: String) -> FactLookup {
        let source = exists("/etc/os-release") ? "/etc/os-release" : "/usr/lib/os-release"
        guard let text = read(source) else {
            return .absent(reason: "\(fact) is unknown on this host (no /etc/os-release)")
        }
        for line in text.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "="), line[..<eq] == key else { continue }
            var value = line[line.index(after: eq)...].trimmingWhitespace()
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            return .present(Fact(name: fact, value: value, source: source))
        }
        return .absent(reason: "\(source) has no \(key)")
    }

    // MARK: - CPUs and memory

    func probeCPUs() -> FactLookup {
        if let online = read("/sys/devices/system/cpu/online")?.firstLine, let count = Self.countCPUList(online) {
            return .present(Fact(name: "cpus", value: String(count), source: "/sys/devices/system/cpu/online"))
        }
        if let cpuinfo = read("/proc/cpuinfo") {
            let count = cpuinfo.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("processor") }.count
            if count > 0 { return .present(Fact(name: "cpus", value: String(count), source: "/proc/cpuinfo")) }
        }
        return .absent(reason: "the number of CPUs is unknown (no /sys/devices/system/cpu/online)")
    }

    /// Counts a kernel CPU list such as `0-3,8,10-11`.
    static func countCPUList(_ list: String) -> Int? {
        var count = 0
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-")
            if bounds.count == 1, Int(bounds[0].trimmingWhitespace()) != nil {
                count += 1
            } else if bounds.count == 2, let low = Int(bounds[0].trimmingWhitespace()),
                      let high = Int(bounds[1].trimmingWhitespace()), high >= low {
                count += high - low + 1
            } else {
                return nil
            }
        }
        return count > 0 ? count : nil
    }

    func probeMemory() -> FactLookup {
        guard let meminfo = read("/proc/meminfo") else {
            return .absent(reason: "memory is unknown (no /proc/meminfo)")
        }
        for line in meminfo.split(whereSeparator: \.isNewline) where line.hasPrefix("MemTotal:") {
            let words = line.split(separator: " ")
            if words.count >= 2, let kib = UInt64(words[1]) {
                return .present(Fact(name: "memory", value: String(kib * 1024), source: "/proc/meminfo"))
            }
        }
        return .absent(reason: "/proc/meminfo has no MemTotal")
    }

    /// What `/proc/cpuinfo` says about the CPU's flags.
    enum CPUInfoFlags: Equatable {
        /// No readable `/proc/cpuinfo`.
        case unreadable
        /// A `/proc/cpuinfo` without a flags line (ppc64le, riscv64).
        case noFlagsLine
        /// The flags of the first flags line.
        case flags(Set<String>)
    }

    /// The CPU flags from the first line whose key is `flags` (x86), `Features`
    /// (arm64) or `features` (s390x), compared without case.
    func cpuInfoFlags() -> CPUInfoFlags {
        guard let cpuinfo = read("/proc/cpuinfo") else { return .unreadable }
        for line in cpuinfo.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingWhitespace().lowercased()
            if key == "flags" || key == "features" {
                return .flags(Set(line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace).map(String.init)))
            }
        }
        return .noFlagsLine
    }

    func cpuFlags() -> Set<String> {
        if case .flags(let flags) = cpuInfoFlags() { return flags }
        return []
    }

    func probeCPUFlag(_ flag: String) -> FactLookup {
        switch cpuInfoFlags() {
        case .unreadable:
            return .absent(reason: "the CPU flags are unknown (no /proc/cpuinfo)")
        case .noFlagsLine:
            return .absent(reason: "/proc/cpuinfo on this host lists no CPU flags (no flags/Features line)")
        case .flags(let flags):
            if flags.contains(flag) { return .present(Fact(name: "cpu-flag:\(flag)", value: nil, source: "/proc/cpuinfo")) }
            if flag != flag.lowercased(), flags.contains(flag.lowercased()) {
                return .absent(reason: "this host's CPU has no \(flag) flag; it has \(flag.lowercased()): "
                    + "write cpu-flag:\(flag.lowercased()) (flags are lower case)")
            }
            return .absent(reason: "this host's CPU has no \(flag) flag")
        }
    }

    // MARK: - Virtualization

    func probeKVM() -> FactLookup {
        guard exists("/dev/kvm") else { return .absent(reason: "this host has no /dev/kvm") }
        let version = testbed_kvm_api_version(resolve("/dev/kvm"))
        if version > 0 {
            return .present(Fact(name: "kvm", value: String(version), source: "/dev/kvm KVM_GET_API_VERSION"))
        }
        let why = String(cString: strerror(-version))
        if -version == EACCES || -version == EPERM {
            return .absent(reason: "/dev/kvm is not writable by uid \(effectiveUserID) (\(why))")
        }
        return .absent(reason: "/dev/kvm does not answer KVM_GET_API_VERSION (\(why))")
    }

    func probeVirtualized() -> FactLookup {
        if exists("/.dockerenv") { return present("virtualized", "container:docker", "/.dockerenv") }
        if exists("/run/.containerenv") { return present("virtualized", "container:podman", "/run/.containerenv") }
        if let environ = read("/proc/1/environ") {
            for entry in environ.split(separator: "\0") where entry.hasPrefix("container=") {
                return present("virtualized", "container:\(entry.dropFirst("container=".count))", "/proc/1/environ")
            }
        }
        if let cgroup = read("/proc/1/cgroup") {
            for kind in ["docker", "lxc", "kubepods", "containerd"] where cgroup.contains(kind) {
                return present("virtualized", "container:\(kind)", "/proc/1/cgroup")
            }
        }
        if cpuFlags().contains("hypervisor") {
            let vendor = read("/sys/class/dmi/id/sys_vendor")?.firstLine ?? ""
            return present("virtualized", vendor.isEmpty ? "vm" : "vm:\(vendor)", "/proc/cpuinfo")
        }
        if let vendor = read("/sys/class/dmi/id/sys_vendor")?.firstLine,
           ["QEMU", "KVM", "VMware, Inc.", "innotek GmbH", "Xen", "Microsoft Corporation", "Amazon EC2"].contains(vendor) {
            return present("virtualized", "vm:\(vendor)", "/sys/class/dmi/id/sys_vendor")
        }
        return .absent(reason: "this host is not a VM or container")
    }

    func present(_ name: String, _ value: String?, _ source: String) -> FactLookup {
        .present(Fact(name: name, value: value, source: source))
    }

    // MARK: - Kernel config and modules

    func kernelRelease() -> String? { lookup("kernel").fact?.value }

    /// How much of `/proc/config.gz` is read: 16 MiB (a kernel config is ~300 KB).
    static let kernelConfigLimit = 16 << 20

    /// The running kernel's config: option -> value, and where it came from.
    func kernelConfig() -> ([String: String], String)? {
        var text: String?
        var source = ""
        if let release = kernelRelease(), let config = read("/boot/config-\(release)") {
            text = config
            source = "/boot/config-\(release)"
        } else if exists("/proc/config.gz"),
                  let output = runner.run("/bin/sh", ["-c", "gzip -dc < \"$0\"", resolve("/proc/config.gz")],
                                          limit: Self.kernelConfigLimit),
                  output.status == 0, !output.timedOut {
            text = output.text
            source = "/proc/config.gz"
        }
        guard let text else { return nil }
        var options: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("CONFIG_") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            options[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return (options, source)
    }

    func probeKernelConfig(_ option: String) -> FactLookup {
        guard let (options, source) = kernelConfig() else {
            return .absent(reason: "the kernel config is unknown (no /boot/config-\(kernelRelease() ?? "RELEASE") or /proc/config.gz)")
        }
        guard let value = options[option] else {
            if !option.hasPrefix("CONFIG_"), options["CONFIG_" + option] != nil {
                return .absent(reason: "\(option) is not set in \(source); options are named with their prefix: write kconfig:CONFIG_\(option)")
            }
            return .absent(reason: "\(option) is not set in \(source)")
        }
        return .present(Fact(name: "kconfig:\(option)", value: value, source: source))
    }

    /// Module names (with `-` as `_`) that are built in or installable.
    func kernelModules() -> (names: [String: String], source: String)? {
        guard let release = kernelRelease() else { return nil }
        let base = "/lib/modules/\(release)"
        var names: [String: String] = [:]
        var found = false
        for (file, kind) in [("modules.dep", "loadable"), ("modules.builtin", "builtin")] {
            guard let text = read("\(base)/\(file)") else { continue }
            found = true
            for line in text.split(whereSeparator: \.isNewline) {
                let path = line.split(separator: ":", maxSplits: 1).first ?? line
                var file = path.split(separator: "/").last.map(String.init) ?? String(path)
                if let ko = file.range(of: ".ko") { file = String(file[..<ko.lowerBound]) }
                names[file.replacingOccurrences(of: "-", with: "_")] = kind
            }
        }
        return found ? (names, base) : nil
    }

    func probeModule(_ module: String) -> FactLookup {
        let key = module.replacingOccurrences(of: "-", with: "_")
        if exists("/sys/module/\(key)") {
            return .present(Fact(name: "module:\(module)", value: "loaded", source: "/sys/module"))
        }
        guard let modules = kernelModules() else {
            return .absent(reason: "kernel modules are unknown (no /lib/modules/\(kernelRelease() ?? "RELEASE"))")
        }
        if let kind = modules.names[key] {
            return .present(Fact(name: "module:\(module)", value: kind, source: modules.source))
        }
        return .absent(reason: "module \(module) is neither built in nor in \(modules.source)")
    }

    // MARK: - PCI and files

    /// Every PCI device as `vvvv:dddd`.
    func pciDevices() -> Set<String> {
        let base = "/sys/bus/pci/devices"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: resolve(base)) else { return [] }
        var ids: Set<String> = []
        for entry in entries {
            guard let vendor = read("\(base)/\(entry)/vendor")?.firstLine,
                  let device = read("\(base)/\(entry)/device")?.firstLine else { continue }
            ids.insert("\(Self.hex4(vendor)):\(Self.hex4(device))")
        }
        return ids
    }

    static func hex4(_ text: String) -> String {
        var t = text.lowercased()
        if t.hasPrefix("0x") { t = String(t.dropFirst(2)) }
        return t
    }

    func probePCI(_ id: String) -> FactLookup {
        let wanted = id.lowercased().split(separator: ":").map { Self.hex4(String($0)) }.joined(separator: ":")
        if pciDevices().contains(wanted) {
            return .present(Fact(name: "pci:\(id)", value: nil, source: "/sys/bus/pci"))
        }
        return .absent(reason: "no PCI device \(id) on this host")
    }

    func probeFile(_ file: String) -> FactLookup {
        guard file.hasPrefix("/") else { return .absent(reason: "file:\(file) must name an absolute path") }
        guard let text = read(file) else { return .absent(reason: "\(file) is not readable on this host") }
        return .present(Fact(name: "file:\(file)", value: text.firstLine ?? "", source: file))
    }

    /// `env:NAME`: a variable of Testbed's own environment (what the caller set, e.g. kvm-unit-tests' `ACCEL`).
    func probeVariable(_ variable: String) -> FactLookup {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            return .absent(reason: "\(variable) is not set in testbed's environment")
        }
        return .present(Fact(name: "env:\(variable)", value: value, source: "the environment"))
    }
}

extension String {
    /// The text up to the first newline, without trailing spaces.
    var firstLine: String? {
        guard let line = split(whereSeparator: \.isNewline).first else { return nil }
        return line.trimmingWhitespace()
    }

    func dropPrefix(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
