import Declarations
import Foundation
import HostFacts
import Requirements

/// Looks, at `check` time, for the program a test's command line starts
/// when that is a relative path (`./x86/run`, `build/tests/qtest/migration-test`).
///
/// Loading never requires it to exist: a setup may build it, and the command
/// is looked for when it runs (a test whose program is still missing then is
/// `error`). `check` only notes it. One `stat` per directory and program,
/// however many tests share them; commands that start with a word without a
/// `/` (`true`, `make check`) or with an absolute path, `$` or `~` cost none.
public final class ProgramLookup {
    /// Whether each program exists, by directory and program.
    var exists: [String: Bool] = [:]

    /// A lookup.
    public init() {}

    /// The relative path a shell command starts (`./x86/run`, also after
    /// `ACCEL=tcg`), if it starts one: what `ShellLine.firstCommand` finds,
    /// when it has a `/` and is not absolute.
    ///
    /// - Parameter command: A test's shell command line.
    /// - Returns: The first command's word as written (`./x86/run`), or nil when it has no `/` or starts with one.
    public static func relativeProgram(of command: String) -> Substring? {
        // Most commands have no `/` at all (`true`, `make check`): no parsing for them.
        guard command.utf8.contains(UInt8(ascii: "/")), let word = ShellLine.firstCommand(command)?.word, word.utf8.first != UInt8(ascii: "/"),
              word.utf8.contains(UInt8(ascii: "/")) else { return nil }
        return word
    }

    /// "./bin/hello does not exist yet (a setup may build it)" when the test's
    /// command starts with a relative path that is missing from its directory.
    ///
    /// - Parameter test: A loaded test; only a shell command is looked at, its program relative to `test.directory` (one `stat`
    ///   per program and directory, remembered).
    /// - Returns: The note, or nil when the program exists or the command starts no relative path.
    public func note(for test: TestDefinition) -> String? {
        guard case .shell(let command) = test.command, let program = Self.relativeProgram(of: command) else { return nil }
        let key = test.directory + "\u{0}" + program
        let found: Bool
        if let known = exists[key] {
            found = known
        } else {
            var info = stat()
            found = stat(test.directory + "/" + program, &info) == 0
            exists[key] = found
        }
        return found ? nil : "\(program) does not exist yet (a setup may build it)"
    }
}
