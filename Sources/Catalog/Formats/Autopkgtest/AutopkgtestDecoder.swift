import Declarations
import Foundation
import Requirements
import Subtests

/// Reads an autopkgtest (DEP-8) suite: a source tree with `debian/tests/control` (`docs/formats/autopkgtest.md`).
///
/// Each name of a stanza's `Tests:` is a test `/NAME` running `debian/tests/NAME` (or `Tests-Directory`'s); a
/// `Test-Command:` stanza is one test named by its `Features: test-name=NAME`, else `commandN` as autopkgtest numbers them.
/// Tests run at the tree's top as autopkgtest runs them; `Restrictions` become requirements, flags and the skip code;
/// `Depends` a shared setup per distinct set of packages that installs them with `apt-get`.
struct AutopkgtestDecoder: FieldSuiteDecoder {
    /// The control file, from the tree's top.
    static let controlPath = "debian/tests/control"
    /// The source package's control file, for `@` and `@builddeps@`.
    static let sourceControlPath = "debian/control"
    /// autopkgtest's own default test timeout (`--timeout-test`): 10,000 seconds.
    static let testTimeout: Duration = .seconds(10_000)
    /// autopkgtest's install timeout, for the `Depends` setups: 3,000 seconds.
    static let installTimeout: Duration = .seconds(3_000)
    /// `flaky`: a failure counts only when the test failed in each of its last 1,000 runs, Testbed's nearest to
    /// autopkgtest's "a flaky test's failure never fails the run".
    static let flakyPolicy = FlakyPolicy(threshold: FlakyPolicy.maximumWindow, window: FlakyPolicy.maximumWindow)!

    /// The fields autopkgtest reads from a stanza (lower case); `X-` fields are ignored too.
    static let knownFields: Set<String> = [
        "tests", "test-command", "tests-directory", "restrictions", "features", "depends", "classes", "architecture",
    ]

    func recognises(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + Self.controlPath)
    }

    func decode(root: String, shownAs: String, state: inout LoadState) {
        let shown = CatalogLoader.join(shownAs, Self.controlPath)
        guard let control = Self.read(root + "/" + Self.controlPath, shownAs: shown, state: &state) else { return }
        var source = ControlFile(stanzas: [])
        if FileManager.default.fileExists(atPath: root + "/" + Self.sourceControlPath) {
            source = Self.read(root + "/" + Self.sourceControlPath, shownAs: CatalogLoader.join(shownAs, Self.sourceControlPath),
                               state: &state) ?? source
        }
        var context = Context(root: state.standardized(root), file: shown, binaries: source.binaryPackages,
                              buildDependencies: source.buildDependencies)
        if control.stanzas.isEmpty {
            state.errors.append(DeclarationError(file: shown, line: nil, message:
                "declares no test; write a stanza with `Tests: NAME` or `Test-Command: COMMAND`"))
        }
        for stanza in control.stanzas {
            context.decode(stanza, state: &state)
        }
    }

    /// A control file read and parsed (its errors added to `state`), or nil when it cannot be read.
    static func read(_ path: String, shownAs: String, state: inout LoadState) -> ControlFile? {
        guard let data = FileManager.default.contents(atPath: path) else {
            state.errors.append(DeclarationError(file: shownAs, line: nil, message: "cannot be read; make it a readable file"))
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            state.errors.append(DeclarationError(file: shownAs, line: nil, message: "is not UTF-8 text; write it in UTF-8"))
            return nil
        }
        let (control, errors) = ControlFile.parse(text, file: shownAs)
        state.errors += errors
        return control
    }

    /// What decoding one control file keeps from stanza to stanza.
    struct Context {
        /// The tree's top, absolute and standardized: every test's working directory.
        let root: String
        /// The control file as shown.
        let file: String
        /// `@`: the source's binary packages.
        let binaries: [String]
        /// `@builddeps@`: the source's build dependencies.
        let buildDependencies: String
        /// How many `Test-Command` stanzas without a `test-name` came before (autopkgtest's `commandN`).
        var commands = 0
        /// The setup made for each distinct dependency set.
        var setups: [DebianDependencies: String] = [:]

        /// One test to make from a stanza: its name and the command that runs it (before the wrapper).
        typealias Entry = (name: String, run: String)

        mutating func decode(_ stanza: ControlFile.Stanza, state: inout LoadState) {
            let location = DeclarationLocation(file: file, line: stanza.line)
            let tests = stanza.field("Tests")
            let command = stanza.field("Test-Command")
            var failed = false
            func fail(_ line: Int?, _ message: String) {
                state.errors.append(DeclarationError(file: file, line: line ?? stanza.line, message: message))
                failed = true
            }
            if tests != nil, command != nil {
                fail(command?.line, "a stanza has both Tests and Test-Command; keep one (write two stanzas for both)")
            }
            if tests == nil, command == nil {
                fail(nil, "the stanza has neither Tests nor Test-Command; add `Tests: NAME` or `Test-Command: COMMAND`")
            }
            var testName: String?
            if let features = stanza.field("Features") {
                for feature in ControlFile.items(features.value) where feature == "test-name" || feature.hasPrefix("test-name=") {
                    let name = String(feature.dropFirst("test-name".count)).dropFirst()
                    if name.isEmpty { fail(features.line, "feature test-name has no name; write test-name=NAME") }
                    else if testName != nil { fail(features.line, "only one test-name feature is allowed; keep one") }
                    else { testName = String(name) }
                }
                if testName != nil, tests != nil {
                    fail(features.line, "the test-name feature names a Test-Command; Tests already name their tests, so remove it")
                }
            }
            let restrictions = Restrictions(stanza.field("Restrictions").map { ControlFile.items($0.value) } ?? [])
            var requires = restrictions.requirements
            for field in stanza.fields {
                let name = field.name.lowercased()
                if Self.isIgnored(name) { continue }
                if name == "architecture" {
                    requires += Self.architecture(field.value) ?? ["autopkgtest:architecture"]
                } else if !AutopkgtestDecoder.knownFields.contains(name) {
                    requires.append("autopkgtest:field:" + name)
                }
            }
            var setups: [String] = []
            let depends = stanza.field("Depends")
            switch DebianDependencies.parse(depends?.value ?? "@", binaries: binaries, buildDependencies: buildDependencies) {
            case .failure(let invalid):
                fail(depends?.line, "Depends has \"\(shortenedName(invalid.item))\", which is no package; write NAME, "
                     + "NAME (>= VERSION), alternatives with |, @ or @builddeps@, separated by commas")
            case .success(let dependencies):
                if !dependencies.groups.isEmpty { setups.append(setup(for: dependencies, at: depends?.line ?? stanza.line, state: &state)) }
            }
            var entries: [Entry] = []
            if let tests {
                let directory = stanza["Tests-Directory"] ?? "debian/tests"
                let names = ControlFile.items(tests.value)
                if names.isEmpty { fail(tests.line, "Tests names no test; write the names of executables in \(directory)") }
                for name in names {
                    let path = directory.hasPrefix("/") ? directory + "/" + name : "./" + directory + "/" + name
                    entries.append((name, FieldShell.quote(path)))
                }
            } else if let command {
                if command.value.isEmpty { fail(command.line, "Test-Command is empty; write the shell command to run") }
                let name: String
                if let testName { name = testName } else {
                    commands += 1
                    name = "command\(commands)"
                }
                entries.append((name, "bash -e -c " + FieldShell.quote(command.value)))
            }
            guard !failed else { return }
            let requirementLocation = stanza.field("Restrictions").map { DeclarationLocation(file: file, line: $0.line) }
            let list: RequirementCache.NumberedList<Requirement>
            do { list = try state.requirements.parse(requires) } catch {
                // The texts are made here from restriction and field names that are letters, digits and `-`.
                state.errors.append(location.error("restriction or field makes an invalid requirement: \(error); rename it"))
                return
            }
            let setupList = state.requirements.sharedSetups(setups)
            let set = state.requirements.requirementSet(requires: requires.isEmpty ? -1 : list.number, setups: setupList.number)
            let tags = state.requirements.shared(["autopkgtest"] + restrictions.all)
            for entry in entries {
                let id = "/" + entry.name
                if let bad = firstUnprintableNamed(in: entry.name) {
                    state.errors.append(location.error("test name \"\(shortenedName(entry.name))\" has \(bad) that would reach "
                        + "terminals and reports as it is; rename it with printable characters only"))
                    continue
                }
                state.tests.append(TestDefinition(
                    id: id, command: .shell(Self.wrapped(entry.run, allowStderr: restrictions.allowStderr)),
                    requires: list.elements, setups: setupList.elements, tags: tags, timeout: AutopkgtestDecoder.testTimeout,
                    dirties: restrictions.breaksTestbed, skipCode: restrictions.skippable ? 77 : Self.neverSkips,
                    directory: root, location: location, requiresLocation: requirementLocation,
                    requirementSet: set, flaky: restrictions.flaky ? AutopkgtestDecoder.flakyPolicy : nil,
                    outputProtocol: .exitcode))
            }
        }

        /// Fields autopkgtest does not act on: `Classes` (free text for the archive's tools) and `X-` fields.
        static func isIgnored(_ name: String) -> Bool {
            name == "classes" || name.hasPrefix("x-")
        }

        /// Debian's architecture names as the kernel names machines (`uname -m`, Testbed's `arch` fact).
        static let machines: [String: [String]] = [
            "amd64": ["x86_64"], "i386": ["i686", "i586", "i386"], "arm64": ["aarch64"], "ppc64el": ["ppc64le"],
            "ppc64": ["ppc64"], "s390x": ["s390x"], "riscv64": ["riscv64"], "mips64el": ["mips64"], "loong64": ["loongarch64"],
        ]

        /// `Architecture: amd64 arm64` (or `!i386 !armhf`) as requirements on `arch`; none for `any`, `all` and
        /// `linux-any`; nil when a name is not one of `machines` (`any-amd64` and `linux-amd64` read as `amd64`).
        static func architecture(_ value: String) -> [String]? {
            let names = ControlFile.items(value)
            if names.contains(where: { ["any", "all", "linux-any"].contains($0) }) { return [] }
            var wanted: [String] = []
            var refused: [String] = []
            for written in names {
                let negated = written.hasPrefix("!")
                var name = negated ? String(written.dropFirst()) : written
                for prefix in ["any-", "linux-"] where name.hasPrefix(prefix) { name = String(name.dropFirst(prefix.count)) }
                guard let machines = machines[name] else { return nil }
                if negated { refused += machines } else { wanted += machines }
            }
            if !wanted.isEmpty, !refused.isEmpty { return nil }
            if !wanted.isEmpty { return [wanted.map { "arch == " + $0 }.joined(separator: " | ")] }
            return refused.map { "arch != " + $0 }
        }

        /// A skip code no exit status matches: without `skippable`, exit 77 is a failure, as autopkgtest says.
        static let neverSkips: Int32 = -1

        /// The name of the setup that installs `dependencies`, made the first time they are met.
        mutating func setup(for dependencies: DebianDependencies, at line: Int, state: inout LoadState) -> String {
            if let name = setups[dependencies] { return name }
            let name = "depends-\(setups.count + 1)"
            setups[dependencies] = name
            let location = DeclarationLocation(file: file, line: line)
            var requires: [Requirement] = []
            for text in ["root", "cmd:apt-get"] {
                if let requirement = try? state.requirements.parse(text) { requires.append(requirement) }
            }
            state.setups.append(SetupDefinition(
                name: name, run: dependencies.installCommand, check: dependencies.checkCommand, requires: requires,
                timeout: AutopkgtestDecoder.installTimeout, directory: root, location: location,
                description: "installs the Depends of autopkgtest tests: \(dependencies.shown)"))
            return name
        }

        /// The command line a test runs: `run` at the tree's top with autopkgtest's variables, `AUTOPKGTEST_TMP` a
        /// fresh directory removed afterwards, `AUTOPKGTEST_ARTIFACTS` the test's `artifacts/` in the results; without
        /// `allow-stderr`, stderr also goes to a file, and a test that exits 0 having written to it fails.
        static func wrapped(_ run: String, allowStderr: Bool) -> String {
            let prelude = #"t=$(mktemp -d) || exit 1; trap 'rm -rf "$t"' EXIT; "#
                + #"a="${TESTBED_OUTPUT_DIR:-$t}/artifacts"; mkdir -p "$t/tmp" "$a" || exit 1; "#
                + #"export AUTOPKGTEST_TMP="$t/tmp" ADTTMP="$t/tmp" AUTOPKGTEST_ARTIFACTS="$a" ADT_ARTIFACTS="$a" "#
                + "DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8; "
            if allowStderr { return prelude + "( " + run + " ); exit $?" }
            // fd 3: the test's stdout; fd 4: where its exit status is written; tee copies stderr to the log and a file.
            return prelude
                + #"{ s=$( { { ( "# + run + #" ) 4>&-; echo $? >&4; } 2>&1 1>&3 3>&- | tee "$t/stderr" >&2 3>&- 4>&-; } 4>&1 ); } 3>&1; "#
                + #"if [ "$s" = 0 ] && [ -s "$t/stderr" ]; then "#
                + #"echo "testbed: the test wrote to stderr and does not declare allow-stderr: autopkgtest fails it" >&2; exit 1; fi; "#
                + #"exit "${s:-1}""#
        }
    }
}

/// A stanza's `Restrictions`, as Testbed maps them (`docs/formats/autopkgtest.md`).
struct Restrictions {
    /// The restrictions as written, each once, in order.
    let all: [String]

    /// Every restriction autopkgtest defines; any other makes the test unsupported (autopkgtest skips it).
    static let known: Set<String> = [
        "rw-build-tree", "breaks-testbed", "needs-root", "build-needed", "allow-stderr", "isolation-container",
        "isolation-machine", "needs-reboot", "needs-recommends", "flaky", "skippable", "skip-not-installable",
        "superficial", "needs-internet", "needs-sudo", "hint-testsuite-triggers", "skip-foreign-architecture",
        "no-build-needed",
    ]

    /// The restrictions of one stanza.
    init(_ written: [String]) {
        var all: [String] = []
        for restriction in written where !all.contains(restriction) { all.append(restriction) }
        self.all = all
    }

    var allowStderr: Bool { all.contains("allow-stderr") }
    var skippable: Bool { all.contains("skippable") }
    var flaky: Bool { all.contains("flaky") }
    var breaksTestbed: Bool { all.contains("breaks-testbed") }

    /// The requirements the restrictions make, as requirement texts.
    var requirements: [String] {
        var texts: [String] = []
        for restriction in all {
            switch restriction {
            case "needs-root": texts.append("root")
            case "isolation-container": texts.append("isolation:container | isolation:machine")
            case "isolation-machine": texts.append("isolation:machine")
            case "needs-internet": texts.append("internet")
            case "needs-reboot": texts.append("autopkgtest:needs-reboot")
            case "build-needed", "needs-sudo": texts.append("autopkgtest:" + restriction)
            case let other where !Self.known.contains(other): texts.append("autopkgtest:" + other)
            default: break
            }
        }
        return texts
    }
}
