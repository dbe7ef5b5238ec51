import Declarations
import Foundation
import Requirements
import Subtests

/// Reads a meson build directory's test list, `meson-info/intro-tests.json` (`docs/formats/meson.md`).
///
/// Each entry is a test `/NAME` (`/PROJECT/NAME` when two entries share a name): its `cmd` run in its `workdir` (the
/// build directory when null) with its `env`, as `meson test` runs it; `suite` → tags, `timeout` (seconds, 0 for none),
/// `is_parallel: false` → exclusive, `protocol` → the output protocol, `should_fail` → a nonzero exit passes,
/// `depends` → the shared `ninja` setup that builds the directory first.
struct MesonDecoder: FieldSuiteDecoder {
    /// The test list, from the build directory.
    static let listPath = "meson-info/intro-tests.json"
    /// The setup that builds the directory before tests that depend on its targets.
    static let buildSetup = "ninja"

    func recognises(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + Self.listPath)
    }

    func decode(root: String, shownAs: String, state: inout LoadState) {
        let shown = CatalogLoader.join(shownAs, Self.listPath)
        let location = DeclarationLocation(file: shown, line: nil)
        guard let data = FileManager.default.contents(atPath: root + "/" + Self.listPath) else {
            state.errors.append(location.error("cannot be read; run `meson setup` for this build directory again"))
            return
        }
        let tests: [MesonTest]
        switch MesonTest.list(from: data) {
        case .failure(let problem):
            state.errors.append(location.error(problem.message))
            return
        case .success(let list):
            tests = list
        }
        let buildDirectory = state.standardized(root)
        var counts: [String: Int] = [:]
        for test in tests { counts[test.name, default: 0] += 1 }
        var needsBuild = false
        for test in tests {
            let id = counts[test.name, default: 0] > 1 && !test.project.isEmpty ? "/\(test.project)/\(test.name)" : "/" + test.name
            if let bad = firstUnprintableNamed(in: test.name) {
                state.errors.append(location.error("test #\(test.index + 1) \"\(shortenedName(test.name))\" has \(bad) that would "
                    + "reach terminals and reports as it is; rename it in meson.build with printable characters only"))
                continue
            }
            if let bad = test.env.keys.sorted().first(where: { !FieldShell.isVariableName($0) }) {
                state.errors.append(location.error("test \(id) sets environment variable \"\(shortenedName(bad))\", which a "
                    + "shell cannot pass on; rename it in meson.build with letters, digits and _"))
                continue
            }
            var setups: [String] = []
            if !test.depends.isEmpty {
                setups = [Self.buildSetup]
                needsBuild = true
            }
            let setupList = state.requirements.sharedSetups(setups)
            let directory = test.workdir.map { $0.hasPrefix("/") ? $0 : buildDirectory + "/" + $0 } ?? buildDirectory
            state.tests.append(TestDefinition(
                id: id, command: .shell(test.commandLine), setups: setupList.elements,
                tags: state.requirements.shared(test.tags), timeout: test.timeout, exclusive: !test.isParallel,
                directory: directory, location: location,
                requirementSet: state.requirements.requirementSet(requires: -1, setups: setupList.number),
                outputProtocol: test.outputProtocol))
        }
        if needsBuild {
            var requires: [Requirement] = []
            if let ninja = try? state.requirements.parse("cmd:ninja") { requires.append(ninja) }
            state.setups.append(SetupDefinition(
                name: Self.buildSetup, run: "ninja", check: "ninja -n | grep -q '^ninja: no work to do'", requires: requires,
                timeout: .zero, directory: buildDirectory, location: location,
                description: "builds the meson build directory (ninja -C \(shownAs)), as meson test does before its tests"))
        }
    }
}

/// One entry of `intro-tests.json`, as Testbed reads it.
struct MesonTest: Equatable {
    /// Its place in the list, from 0.
    let index: Int
    /// `name`.
    let name: String
    /// The project of its first suite (`PROJECT:SUITE`), empty when it has none.
    let project: String
    /// `suite` as tags: each `PROJECT:SUITE`, its `PROJECT` and its `SUITE`, each once.
    let tags: [String]
    /// `timeout` (seconds; 0 or less: none).
    let timeout: Duration
    /// `is_parallel`.
    let isParallel: Bool
    /// `env`.
    let env: [String: String]
    /// `workdir`; nil: the build directory.
    let workdir: String?
    /// `cmd`: the argv.
    let cmd: [String]
    /// `protocol` as Testbed's.
    let outputProtocol: OutputProtocol
    /// `depends`: target ids.
    let depends: [String]
    /// `should_fail`.
    let shouldFail: Bool

    /// What is wrong with the list.
    struct Problem: Error, Equatable {
        /// Lowercase, ending with the fix.
        let message: String
    }

    /// Reads the list.
    ///
    /// - Parameter data: The file's bytes.
    /// - Returns: The tests in order, or the first problem: not JSON, not an array, an entry without a name or a
    ///   command, a field of the wrong type, a protocol Testbed does not know.
    static func list(from data: Data) -> Result<[MesonTest], Problem> {
        guard let json = try? JSONSerialization.jsonObject(with: data), let entries = json as? [Any] else {
            return .failure(Problem(message: "is not a JSON array of tests; run `meson setup --reconfigure` to write it again"))
        }
        var tests: [MesonTest] = []
        for (index, entry) in entries.enumerated() {
            switch read(index: index, entry) {
            case .success(let test): tests.append(test)
            case .failure(let problem): return .failure(problem)
            }
        }
        return .success(tests)
    }

    /// Reads entry `index` of the list.
    static func read(index: Int, _ entry: Any) -> Result<MesonTest, Problem> {
        var problem: Problem?
        if let test = MesonTest(index: index, entry, problem: &problem) { return .success(test) }
        return .failure(problem ?? Problem(message: "test #\(index + 1) cannot be read; run `meson setup --reconfigure`"))
    }

    private init(index: Int, name: String, fields: [String: Any], cmd: [String], suites: [String], env: [String: String],
                 outputProtocol: OutputProtocol) {
        self.index = index
        self.name = name
        self.cmd = cmd
        self.env = env
        self.outputProtocol = outputProtocol
        var tags: [String] = []
        for suite in suites {
            // `meson test --suite PROJECT` selects every suite of the project: its name is a tag too.
            let parts = suite.split(separator: ":", maxSplits: 1).map(String.init)
            for tag in [suite] + parts where !tag.isEmpty && !tags.contains(tag) {
                tags.append(tag)
            }
        }
        self.tags = tags
        project = suites.first.map { $0.contains(":") ? String($0.split(separator: ":", maxSplits: 1)[0]) : $0 } ?? ""
        let seconds = (fields["timeout"] as? NSNumber)?.doubleValue ?? 0
        timeout = seconds > 0 ? .milliseconds(Int64((seconds * 1000).rounded())) : .zero
        isParallel = (fields["is_parallel"] as? Bool) ?? true
        workdir = fields["workdir"] as? String
        depends = (fields["depends"] as? [Any])?.compactMap { $0 as? String } ?? []
        shouldFail = (fields["should_fail"] as? Bool) ?? false
    }

    /// Entry `index` read, or what is wrong with it.
    private init?(index: Int, _ entry: Any, problem: inout Problem?) {
        func fail(_ message: String) -> Problem {
            Problem(message: "test #\(index + 1) " + message + "; run `meson setup --reconfigure` to write the list again")
        }
        guard let fields = entry as? [String: Any] else { problem = fail("is not a JSON object"); return nil }
        guard let name = fields["name"] as? String, !name.isEmpty else { problem = fail("has no name"); return nil }
        guard let argv = fields["cmd"] as? [Any], !argv.isEmpty, argv.allSatisfy({ $0 is String }) else {
            problem = fail("(\(shortenedName(name))) has no cmd, a list of strings")
            return nil
        }
        var env: [String: String] = [:]
        if let given = fields["env"], !(given is NSNull) {
            guard let dictionary = given as? [String: Any], dictionary.values.allSatisfy({ $0 is String }) else {
                problem = fail("(\(shortenedName(name))) has an env that is not an object of strings")
                return nil
            }
            for (key, value) in dictionary { env[key] = value as? String }
        }
        let suites = (fields["suite"] as? [Any])?.compactMap { $0 as? String } ?? []
        let protocolName = (fields["protocol"] as? String) ?? "exitcode"
        let outputProtocol: OutputProtocol
        switch protocolName {
        case "exitcode", "rust": outputProtocol = .exitcode
        case "tap": outputProtocol = .tap
        case "gtest": outputProtocol = .gtest
        default:
            problem = fail("(\(shortenedName(name))) has protocol \"\(shortenedName(protocolName))\", which Testbed does not read; "
                           + "use exitcode, tap or gtest in meson.build")
            return nil
        }
        self.init(index: index, name: name, fields: fields, cmd: argv.compactMap { $0 as? String }, suites: suites, env: env,
                  outputProtocol: outputProtocol)
    }

    /// The shell line that runs the test as `meson test` does: in its directory, with meson's `MESON_TEST_ITERATION` and
    /// `MALLOC_PERTURB_` (unless the caller sets it), then its `env`; with `should_fail`, any nonzero exit but 77 (skip)
    /// and 99 (meson's hard error) passes and exit 0 fails.
    var commandLine: String {
        var words = ["MESON_TEST_ITERATION=1", #"MALLOC_PERTURB_="${MALLOC_PERTURB_:-$(($$ % 255 + 1))}""#]
        for key in env.keys.sorted() { words.append(key + "=" + FieldShell.quote(env[key]!)) }
        let run = FieldShell.line(cmd)
        guard shouldFail else { return words.joined(separator: " ") + " exec " + run }
        return words.joined(separator: " ") + " " + run + "; s=$?; case $s in "
            + #"0) echo "testbed: the test exited 0 and should_fail is set: meson counts that as a failure" >&2; exit 1;; "#
            + "77|99) exit $s;; *) exit 0;; esac"
    }
}
