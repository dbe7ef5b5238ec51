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
    /// Whether each program exists, by directory and program: nil for a file that is not executable.
    var exists: [String: Bool?] = [:]

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

    /// A note when the test will certainly end in `error` or wait for a
    /// setup: its command starts with a relative path that is missing from
    /// its directory ("./bin/hello does not exist yet (a setup may build
    /// it)") or that is a file without the execute bit; or it is a drop-in
    /// executable that is neither a binary nor starts with `#!`.
    ///
    /// - Parameter test: A loaded test; a shell command's program is looked for relative to `test.directory` (one `stat`
    ///   per program and directory, remembered); a drop-in's first bytes are read.
    /// - Returns: The note, or nil when nothing is wrong that can be told before it runs.
    public func note(for test: TestDefinition) -> String? {
        switch test.command {
        case .executable(let path):
            return Self.startsUnrunnable(path)
                ? "the file has no #! line and is not a binary, so it cannot start (error when it runs); add one such as #!/bin/sh"
                : nil
        case .shell(let command):
            guard let program = Self.relativeProgram(of: command) else { return nil }
            let key = test.directory + "\u{0}" + program
            let state: Bool?
            if let known = exists[key] {
                state = known
            } else {
                var info = stat()
                let path = test.directory + "/" + program
                if stat(path, &info) != 0 {
                    state = false
                } else {
                    // A regular file the test cannot execute: nil.
                    state = info.st_mode & S_IFMT == S_IFREG && access(path, X_OK) != 0 ? nil : true
                }
                exists[key] = state
            }
            switch state {
            case false?: return "\(program) does not exist yet (a setup may build it)"
            case nil: return "\(program) is not executable, so the test cannot start it (error when it runs); chmod +x it"
            case true?: return nil
            }
        }
    }

    /// Whether an executable neither starts with `#!` nor is an ELF binary
    /// (the kernel refuses it: ENOEXEC). False when it cannot be read.
    static func startsUnrunnable(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        var head = [UInt8](repeating: 0, count: 4)
        let got = head.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 4) }
        guard got >= 2 else { return got >= 0 }
        return !(head[0] == UInt8(ascii: "#") && head[1] == UInt8(ascii: "!")) && !(got == 4 && head == [0x7f, 0x45, 0x4c, 0x46])
    }
}
