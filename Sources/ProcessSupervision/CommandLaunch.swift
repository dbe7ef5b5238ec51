import Declarations
import Foundation
import HostFacts

/// How a process of a run is started, decided when it starts (a setup may
/// build the very program a test runs, so nothing is looked up earlier).
///
/// A test whose program never started is `error`; one that started and exited
/// 126 or 127 by its own choice (kvm-unit-tests' runner after the guest's
/// `abort()`), or because a command *inside* it was missing, is `fail`. So the
/// first is known from evidence, never guessed from an exit status:
///
/// - A command line that is a simple command — words without shell syntax,
///   not starting with a shell builtin or keyword — is started directly with
///   `posix_spawn`: its program is looked up as `execvp` would (a word with a
///   `/` relative to the working directory, any other on the process' `PATH`),
///   and a failed lookup or `exec` is the failure. A file without `#!` is then
///   run by `/bin/sh`, as POSIX shells run it.
/// - Any other line runs under `/bin/sh -c`, once its first command is known
///   to exist: when that command is a plain word (after `NAME=value`
///   assignments) and no builtin, it is looked up the same way first.
/// - A script's `#!` interpreter is checked before it starts, including the
///   program `#!/usr/bin/env NAME` would look for.
enum CommandLaunch: Sendable {
    /// Started directly: the resolved path and the argument vector (`argv[0]`
    /// as written). `fromCommandLine`: a declaration's line (a file without
    /// `#!` then runs under `/bin/sh`).
    case direct(path: String, arguments: [String], fromCommandLine: Bool)
    /// Started as `/bin/sh -c LINE`.
    case shell(String)
    /// Cannot start.
    case failed(LaunchFailure)

    static func prepare(_ spec: ProcessSpec) -> CommandLaunch {
        switch spec.program {
        case let .file(path, arguments):
            if let failure = checkInterpreter(of: path, shownAs: path, spec: spec) { return .failed(failure) }
            return .direct(path: path, arguments: arguments, fromCommandLine: false)
        case .commandLine(let line):
            if let words = ShellLine.simpleWords(line) {
                switch resolve(words[0], spec: spec, pathReassigned: false) {
                case .failure(let failure): return .failed(failure)
                case .success(let path?):
                    if let failure = checkInterpreter(of: path, shownAs: words[0], spec: spec) { return .failed(failure) }
                    return .direct(path: path, arguments: words, fromCommandLine: true)
                case .success(nil): return .shell(line)
                }
            }
            if let first = ShellLine.firstCommand(line) {
                let word = String(first.word)
                switch resolve(word, spec: spec, pathReassigned: first.pathReassigned) {
                case .failure(let failure): return .failed(failure)
                case .success(let path?):
                    if let failure = checkInterpreter(of: path, shownAs: word, spec: spec) { return .failed(failure) }
                case .success(nil): break
                }
            }
            return .shell(line)
        }
    }

    /// The program a word names, as `execvp` finds it: nil when it cannot be
    /// known here (a bare name after the line reassigned `PATH`).
    static func resolve(_ word: String, spec: ProcessSpec, pathReassigned: Bool) -> Result<String?, LaunchFailure> {
        if word.contains("/") {
            let path = word.hasPrefix("/") ? word : spec.directory + "/" + word
            switch fileKind(path) {
            case .executable: return .success(path)
            case .missing:
                return .failure(LaunchFailure(program: word, errno: ENOENT,
                                              cause: .notFound(in: word.hasPrefix("/") ? nil : spec.directory)))
            case .directory: return .failure(LaunchFailure(program: word, errno: EACCES, cause: .isDirectory))
            case .notExecutable: return .failure(LaunchFailure(program: word, errno: EACCES, cause: .notExecutable))
            }
        }
        if pathReassigned { return .success(nil) }
        let search = spec.variable("PATH") ?? "/bin:/usr/bin"
        var sawNotExecutable = false
        for entry in search.split(separator: ":", omittingEmptySubsequences: false) {
            // An empty entry is the working directory, as execvp reads it.
            let directory = entry.isEmpty ? spec.directory : (entry.hasPrefix("/") ? String(entry) : spec.directory + "/" + entry)
            switch fileKind(directory + "/" + word) {
            case .executable: return .success(directory + "/" + word)
            case .notExecutable: sawNotExecutable = true
            case .missing, .directory: continue
            }
        }
        if sawNotExecutable { return .failure(LaunchFailure(program: word, errno: EACCES, cause: .notExecutable)) }
        return .failure(LaunchFailure(program: word, errno: ENOENT, cause: .notOnPath(search)))
    }

    enum FileKind { case executable, missing, directory, notExecutable }

    static func fileKind(_ path: String) -> FileKind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        if info.st_mode & S_IFMT == S_IFDIR { return .directory }
        return access(path, X_OK) == 0 ? .executable : .notExecutable
    }

    /// A `#!` line whose interpreter does not exist, or whose `env` would not
    /// find its program: the failure; nil for binaries and sound scripts.
    static func checkInterpreter(of path: String, shownAs: String, spec: ProcessSpec) -> LaunchFailure? {
        guard let line = interpreterLine(path) else { return nil }
        // `#!/bin/sh\r`: the kernel looks for "/bin/sh\r".
        if line.utf8.last == UInt8(ascii: "\r") {
            return LaunchFailure(program: shownAs, errno: ENOENT, cause: .carriageReturn)
        }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let interpreter = words.first else { return nil }
        switch fileKind(interpreter) {
        case .executable: break
        case .missing: return LaunchFailure(program: shownAs, errno: ENOENT, cause: .interpreterMissing(interpreter))
        case .directory, .notExecutable:
            return LaunchFailure(program: shownAs, errno: EACCES, cause: .interpreterNotExecutable(interpreter))
        }
        // `#!/usr/bin/env python3`: env starts, then cannot find python3 and exits 127.
        guard interpreter.hasSuffix("/env"),
              let program = words.dropFirst().first(where: { !$0.hasPrefix("-") && !$0.contains("=") }) else { return nil }
        if case .failure = resolve(program, spec: spec, pathReassigned: false) {
            return LaunchFailure(program: shownAs, errno: ENOENT, cause: .interpreterMissing("\(program) (through \(interpreter))"))
        }
        return nil
    }

    /// The text after `#!` on a file's first line (a carriage return before
    /// the newline kept); nil when it has none.
    static func interpreterLine(_ path: String) -> String? {
        let head = self.head(of: path)
        guard head.count > 2, head[0] == UInt8(ascii: "#"), head[1] == UInt8(ascii: "!") else { return nil }
        let line = head[2...].prefix { $0 != UInt8(ascii: "\n") }
        let text = String(decoding: line, as: UTF8.self)
        return String(text.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }

    /// The first 256 bytes of a file (empty when it cannot be read).
    static func head(of path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 256)
        let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return Array(head.prefix(max(0, count)))
    }

    /// Why `posix_spawn` failed with `error`, from what is on disk now.
    static func diagnose(_ error: Int32, executable: String, spec: ProcessSpec) -> LaunchFailure {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: spec.directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
            return LaunchFailure(program: executable, errno: error, cause: .noDirectory(spec.directory))
        }
        let path = executable.hasPrefix("/") ? executable : spec.directory + "/" + executable
        switch error {
        case ENOENT:
            if fileKind(path) == .missing {
                return LaunchFailure(program: executable, errno: error, cause: .notFound(in: nil))
            }
            if let failure = checkInterpreter(of: path, shownAs: executable, spec: spec) { return failure }
            // An ELF file that exists but "does not": its dynamic loader is missing.
            if head(of: path).starts(with: [0x7F, UInt8(ascii: "E"), UInt8(ascii: "L"), UInt8(ascii: "F")]) {
                return LaunchFailure(program: executable, errno: error, cause: .loaderMissing)
            }
            return LaunchFailure(program: executable, errno: error, cause: .system)
        case EACCES: return LaunchFailure(program: executable, errno: error, cause: .notExecutable)
        case ENOEXEC: return LaunchFailure(program: executable, errno: error, cause: .noInterpreterLine)
        default: return LaunchFailure(program: executable, errno: error, cause: .system)
        }
    }
}

/// Why a program could not be started (DESIGN.md, "Outcomes": `error` is
/// known from the failed `exec` itself, or the lookup before it).
public struct LaunchFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kept the program from starting; `description` turns it into the fix.
    public enum Cause: Sendable, Hashable {
        /// The path does not exist; `in` is the directory a relative path was looked up in.
        case notFound(in: String?)
        /// A bare name found in no directory of this `PATH`.
        case notOnPath(String)
        /// The file exists but may not be executed.
        case notExecutable
        /// The path is a directory.
        case isDirectory
        /// The `#!` interpreter does not exist (or `env` would not find its program).
        case interpreterMissing(String)
        /// The `#!` interpreter (this path) exists but may not be executed.
        case interpreterNotExecutable(String)
        /// The `#!` line ends with a carriage return (DOS line endings).
        case carriageReturn
        /// An ELF binary whose dynamic loader (its `PT_INTERP`) is missing.
        case loaderMissing
        /// Not a binary, and no `#!` line.
        case noInterpreterLine
        /// The working directory does not exist.
        case noDirectory(String)
        /// The output file could not be opened.
        case output
        /// Testbed itself was out of file descriptors (`EMFILE`, `ENFILE`)
        /// and stayed so: its limit, not the program's.
        case descriptors
        /// Any other `errno`.
        case system
    }

    /// The program as the command wrote it.
    public let program: String
    /// The `errno` of the failed lookup or `exec`.
    public let errno: Int32
    /// What kept it from starting.
    public let cause: Cause

    /// A program that could not be started.
    /// - Parameters:
    ///   - program: The program as the command wrote it (for `.output`, the output file).
    ///   - errno: The `errno` of the failed lookup, open or `exec`.
    ///   - cause: What kept it from starting.
    public init(program: String, errno: Int32, cause: Cause) {
        self.program = program
        self.errno = errno
        self.cause = cause
    }

    /// `cannot start PROGRAM: what is wrong; the fix`, one line.
    public var description: String {
        switch cause {
        case .notFound(let directory?):
            "cannot start \(program): it does not exist in \(directory); fix the path, or build it before this step runs (a setup can make it)"
        case .notFound(nil): "cannot start \(program): no such file; fix the path"
        case .notOnPath: "cannot start \(program): it is not on PATH; install it or fix the command"
        case .notExecutable: "cannot start \(program): permission denied (is it executable?); chmod +x it"
        case .isDirectory: "cannot start \(program): it is a directory; name the program to run"
        case .interpreterMissing(let interpreter):
            "cannot start \(program): its #! interpreter is missing: \(interpreter) does not exist; install it or fix the #! line"
        case .interpreterNotExecutable(let interpreter):
            "cannot start \(program): its #! interpreter \(interpreter) is not executable; fix the #! line"
        case .carriageReturn:
            "cannot start \(program): its #! line ends with a carriage return (DOS line endings); convert the file with dos2unix"
        case .loaderMissing:
            "cannot start \(program): its dynamic loader does not exist on this host (a binary built for another system or libc?); rebuild it here"
        case .noInterpreterLine: "cannot start \(program): not a binary and no #! line; add one such as #!/bin/sh"
        case .noDirectory(let directory): "cannot start \(program): its working directory \(directory) does not exist"
        case .output: "cannot open the output file \(program): \(String(cString: strerror(errno))); check the results directory"
        case .descriptors:
            "not started: testbed ran out of file descriptors (\(String(cString: strerror(errno)))) and none freed up; "
                + "raise the limit (ulimit -n) or lower -j"
        case .system: "cannot start \(program): \(String(cString: strerror(errno)))"
        }
    }
}
