import Declarations
import Foundation
import Subtests

/// Reads an installed kselftest tree (what `make -C tools/testing/selftests install` writes; `docs/formats/kselftest.md`):
/// each `COLLECTION:TEST` line of `kselftest-list.txt` becomes a test `/COLLECTION/TEST`, run as `run_kselftest.sh`
/// runs it: `./TEST $KSELFTEST_TEST_ARGS` in the collection's directory, its timeout the collection's `settings` `timeout=` (45 s when it
/// says none; 0 for none), exit 4 (`KSFT_SKIP`) a skip, its output KTAP.
struct KselftestDecoder: FieldSuiteDecoder {
    /// kselftest's default timeout: 45 s.
    static let defaultTimeout: Duration = .seconds(45)
    /// kselftest's skip code, `KSFT_SKIP`.
    static let skipCode: Int32 = 4
    /// The list of tests at the tree's top.
    static let listFile = "kselftest-list.txt"

    func recognises(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + Self.listFile)
    }

    func decode(root: String, shownAs: String, state: inout LoadState) {
        let shownList = CatalogLoader.join(shownAs, Self.listFile)
        guard let data = FileManager.default.contents(atPath: root + "/" + Self.listFile) else {
            state.errors.append(DeclarationError(file: shownList, line: nil, message:
                "there is no \(Self.listFile) to read; install the tree with `make -C tools/testing/selftests install`"))
            return
        }
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        var timeouts: [String: Duration] = [:]
        var seen: [String: Int] = [:]
        for (index, rawLine) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let number = index + 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex, line.index(after: colon) != line.endIndex else {
                state.errors.append(DeclarationError(file: shownList, line: number, message:
                    "\"\(shortened(line))\" is not COLLECTION:TEST; write one test a line, e.g. `net:reuseport_bpf`"))
                continue
            }
            let collection = String(line[..<colon])
            let test = String(line[line.index(after: colon)...])
            guard !collection.hasPrefix("/"), !test.hasPrefix("/"),
                  !(collection + "/" + test).split(separator: "/").contains("..") else {
                state.errors.append(DeclarationError(file: shownList, line: number, message:
                    "\(line) leads out of the tree; name a collection and a test inside it"))
                continue
            }
            let id = "/\(collection)/\(test)"
            if let first = seen[id] {
                state.errors.append(DeclarationError(file: shownList, line: number, message:
                    "\(line) is listed twice (first on line \(first)); remove one"))
                continue
            }
            seen[id] = number
            let timeout: Duration
            if let known = timeouts[collection] {
                timeout = known
            } else {
                switch Self.settingsTimeout(base + "/" + collection + "/settings") {
                case .seconds(let value): timeout = value
                case let .bad(line, text):
                    state.errors.append(DeclarationError(file: CatalogLoader.join(shownAs, collection + "/settings"), line: line,
                        message: "timeout=\(text) is no number of seconds; write e.g. `timeout=45` (0: no limit)"))
                    timeout = Self.defaultTimeout
                case .none: timeout = Self.defaultTimeout
                }
                timeouts[collection] = timeout
            }
            state.tests.append(TestDefinition(
                id: id, command: .shell(Self.command(test)), tags: [collection],
                timeout: timeout, skipCode: Self.skipCode, directory: base + "/" + collection,
                location: DeclarationLocation(file: shownList, line: number), outputProtocol: .ktap))
        }
    }

    /// The shell line `run_kselftest.sh` runs for `test` in its collection: `./TEST $KSELFTEST_NAME_ARGS` (`NAME` the
    /// test's name upper-cased, other characters than letters, digits and `_` made `_`); a test that is not executable
    /// runs through the interpreter of its `#!` line, with the runner's warning, and without one it fails.
    static func command(_ test: String) -> String {
        let name = test.split(separator: "/").last.map(String.init) ?? test
        let variable = "KSELFTEST_" + String(name.unicodeScalars.filter { $0 != " " && $0 != "\t" && !($0.value < 32) }.map { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_") ? Character(scalar) : "_"
        }).uppercased() + "_ARGS"
        let path = "./" + KVMUnitTestsCommand.quoted(test)
        return "t=\(path); if [ ! -x \"$t\" ]; then echo \"# Warning: file $t is not executable\"; i=$(head -n 1 \"$t\"); "
            + "case $i in '#!'*) exec ${i#??} \"$t\" $\(variable);; esac; exit 1; fi; exec \"$t\" $\(variable)"
    }

    /// The `timeout=` of a collection's `settings`: nil when the file or the key is missing; its value (zero means no
    /// limit, as the runner's `timeout 0`), or the line and text of a value that is no number of seconds.
    static func settingsTimeout(_ path: String) -> SettingsTimeout? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("timeout=") else { continue }
            let text = String(trimmed.dropFirst("timeout=".count))
            guard let seconds = Int(text), seconds >= 0 else { return .bad(line: index + 1, text: text) }
            return .seconds(.seconds(seconds))
        }
        return nil
    }
}

/// A collection's `timeout=`: a number of seconds, or a value that is none, with its line (1-based) and text.
enum SettingsTimeout: Equatable {
    case seconds(Duration)
    case bad(line: Int, text: String)
}
