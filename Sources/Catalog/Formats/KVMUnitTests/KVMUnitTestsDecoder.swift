import Declarations
import Foundation
import Requirements
import Subtests

/// Reads a kvm-unit-tests tree (`run_tests.sh` and `ARCH/unittests.cfg` at its top; `docs/formats/kvm-unit-tests.md`):
/// each `[section]` of the architecture's `unittests.cfg` becomes a test `/ARCHDIR/NAME` run as `run_tests.sh` runs it,
/// after a shared setup `build` (`./configure` when `config.mak` is missing, then `make`).
///
/// The caller's `ACCEL`, `MACHINE`, `CHECK` and `TIMEOUT` are honoured as `run_tests.sh` honours them: read from
/// `environment` while decoding (for requirements and timeouts) and by the test's command line when it runs.
struct KVMUnitTestsDecoder: FieldSuiteDecoder {
    /// The caller's environment (the process's by default).
    let environment: [String: String]
    /// The machine name `uname -m` gives, for the architecture directory of a tree without `config.mak`.
    let machine: String

    /// kvm-unit-tests' own default timeout: 90 s.
    static let defaultTimeout = "90s"
    /// How long after the tree's own timeout Testbed kills the test: 10 s, so that the tree's `timeout` fires first
    /// and the test fails as it does under `run_tests.sh` (exit 124).
    static let timeoutMargin: Duration = .seconds(10)
    /// The name of the shared setup that builds the tree.
    static let buildSetup = "build"
    /// The architecture directories of a kvm-unit-tests tree.
    static let architectureDirectories = ["x86", "arm", "powerpc", "s390x", "riscv"]

    /// A decoder.
    /// - Parameters:
    ///   - environment: The caller's environment.
    ///   - machine: This host's `uname -m`.
    init(environment: [String: String] = ProcessInfo.processInfo.environment, machine: String = KVMUnitTestsDecoder.hostMachine()) {
        self.environment = environment
        self.machine = machine
    }

    func recognises(_ directory: String) -> Bool {
        let manager = FileManager.default
        guard manager.fileExists(atPath: directory + "/run_tests.sh") else { return false }
        return Self.architectureDirectories.contains { manager.fileExists(atPath: "\(directory)/\($0)/unittests.cfg") }
    }

    func decode(root: String, shownAs: String, state: inout LoadState) {
        let config = Self.configMak(root)
        let directory = config["TEST_DIR"] ?? Self.architectureDirectory(machine: machine)
        let relative = directory + "/unittests.cfg"
        let shownFile = CatalogLoader.join(shownAs, relative)
        guard let data = FileManager.default.contents(atPath: root + "/" + relative) else {
            state.errors.append(DeclarationError(file: shownFile, line: nil, message:
                "this kvm-unit-tests tree has no \(relative) for this host (\(machine)); run ./configure, or point at a tree for this architecture"))
            return
        }
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        state.setups.append(SetupDefinition(
            name: Self.buildSetup, run: "if [ ! -f config.mak ]; then ./configure; fi && make",
            requires: [Self.requirement("cmd:make", state: &state)].compactMap { $0 },
            directory: base, location: DeclarationLocation(file: CatalogLoader.join(shownAs, "run_tests.sh"), line: nil),
            description: "builds the kvm-unit-tests tree (./configure when config.mak is missing, then make)"))
        let efi = config["CONFIG_EFI"] == "y"
        var seen: [String: Int] = [:]
        for section in UnitTestsConfig.sections(String(decoding: data, as: UTF8.self)) {
            let location = DeclarationLocation(file: shownFile, line: section.line)
            if let first = seen[section.name] {
                state.errors.append(DeclarationError(file: shownFile, line: section.line, message:
                    "[\(section.name)] is declared twice (first on line \(first)); rename one of the sections"))
                continue
            }
            seen[section.name] = section.line
            guard let file = section.file, !file.isEmpty else {
                state.errors.append(DeclarationError(file: shownFile, line: section.line, message:
                    "[\(section.name)] names no file; add `file = NAME.flat`"))
                continue
            }
            var kernel = directory + "/" + file
            if efi, kernel.hasSuffix(".flat") { kernel = String(kernel.dropLast(5)) + ".efi" }
            let timeoutText = environment["TIMEOUT"].flatMap { $0.isEmpty ? nil : $0 } ?? section.timeout ?? Self.defaultTimeout
            guard let seconds = Self.seconds(timeoutText) else {
                state.errors.append(DeclarationError(file: shownFile, line: section.line, message:
                    "[\(section.name)] has timeout = \(timeoutText), which is no duration; write seconds, e.g. `timeout = 90s`"))
                continue
            }
            var texts = requirementTexts(section)
            var requires: [Requirement] = []
            for text in texts {
                guard let requirement = Self.requirement(text, state: &state) else {
                    state.errors.append(DeclarationError(file: shownFile, line: section.line, message:
                        "[\(section.name)] needs \(text), which Testbed cannot check; fix the section's arch, accel, machine or check"))
                    texts = []
                    break
                }
                requires.append(requirement)
            }
            guard texts.count == requires.count else { continue }
            let command = KVMUnitTestsCommand(section: section, kernel: kernel, runner: "./\(directory)/run",
                                              accel: section.accel, timeout: timeoutText)
            state.tests.append(TestDefinition(
                id: "/\(directory)/\(section.name)", command: .shell(command.line), requires: requires, setups: [Self.buildSetup],
                tags: section.groups, timeout: seconds == .zero ? .zero : seconds + Self.timeoutMargin,
                directory: base, location: location, outputProtocol: .kvmUnitTests,
                selectedByDefault: !section.groups.contains("nodefault")))
        }
    }

    /// The requirements a section's `arch`, `accel`, `machine` and `check` (or the caller's `CHECK`) make, as text;
    /// a restriction the caller's `ACCEL` or `MACHINE` contradicts is an `env:` requirement that names it.
    func requirementTexts(_ section: UnitTestSection) -> [String] {
        var texts: [String] = []
        if let arch = section.arch, !arch.isEmpty {
            texts.append(Self.archRequirement(arch))
        }
        let callerAccel = environment["ACCEL"].flatMap { $0.isEmpty ? nil : $0 }
        if let accel = section.accel, !accel.isEmpty {
            // run_tests.sh: [[ ! "$ACCEL" =~ ^$accel(,|$) ]] skips the test.
            if let callerAccel, callerAccel != accel, !callerAccel.hasPrefix(accel + ",") {
                texts.append("env:ACCEL == \(accel)")
            }
            if accel == "kvm" { texts.append("kvm") }
        } else if let callerAccel, callerAccel == "kvm" || callerAccel.hasPrefix("kvm,") {
            texts.append("kvm")
        }
        if let machine = section.machine, !machine.isEmpty, let callerMachine = environment["MACHINE"], !callerMachine.isEmpty,
           callerMachine != machine {
            texts.append("env:MACHINE == \(machine)")
        }
        let check = environment["CHECK"].flatMap { $0.isEmpty ? nil : $0 } ?? section.check ?? ""
        for word in check.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            texts.append(parts.count == 2 ? "file:\(parts[0]) == \(parts[1])" : "file:\(word)")
        }
        return texts
    }

    /// `arch == NAME` with the kernel's name for kvm-unit-tests' (`arm64` is `aarch64`; `i386` is `i686`, as a 32-bit
    /// kernel calls itself; `ppc64` either endianness).
    static func archRequirement(_ arch: String) -> String {
        switch arch {
        case "arm64": "arch == aarch64"
        case "i386": "arch == i686"
        case "ppc64": "arch == ppc64le | arch == ppc64"
        default: "arch == \(arch)"
        }
    }

    static func requirement(_ text: String, state: inout LoadState) -> Requirement? {
        try? state.requirements.parse(text)
    }

    /// `config.mak`'s `KEY=value` lines; empty when the tree is not configured.
    static func configMak(_ root: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: root + "/config.mak") else { return [:] }
        var values: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// The architecture directory of a `uname -m` (`x86_64` → `x86`).
    static func architectureDirectory(machine: String) -> String {
        if machine == "x86_64" || (machine.hasPrefix("i") && machine.hasSuffix("86")) { return "x86" }
        if machine.hasPrefix("aarch64") || machine.hasPrefix("arm") { return "arm" }
        if machine.hasPrefix("ppc") { return "powerpc" }
        if machine.hasPrefix("riscv") { return "riscv" }
        return machine
    }

    /// This host's `uname -m`.
    static func hostMachine() -> String {
        var info = utsname()
        guard uname(&info) == 0 else { return "" }
        return withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// A `timeout(1)` duration (`90`, `90s`, `5m`, `1h`, `2d`, `1.5m`) in seconds; nil when it is none.
    static func seconds(_ text: String) -> Duration? {
        var number = Substring(text.trimmingCharacters(in: " "))
        var unit = 1.0
        switch number.last {
        case "s": unit = 1; number = number.dropLast()
        case "m": unit = 60; number = number.dropLast()
        case "h": unit = 3600; number = number.dropLast()
        case "d": unit = 86400; number = number.dropLast()
        default: break
        }
        guard let value = Double(number), value >= 0, value.isFinite, value * unit < 1e9 else { return nil }
        return .milliseconds(Int64((value * unit * 1000).rounded()))
    }
}
