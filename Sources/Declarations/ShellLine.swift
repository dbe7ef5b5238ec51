/// Reads as much of a `/bin/sh` command line (`run:`, `check:`, `teardown:`)
/// as Testbed needs: whether it is a simple command that can be started
/// without a shell, and which program it starts. Shell syntax itself is left
/// to the shell.
public enum ShellLine {
    /// Shell keywords, and builtins that exist only inside a shell or differ
    /// from the program of the same name: a line starting with one runs
    /// under the shell, and names no program to look for.
    public static let builtins: Set<String> = [
        "!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in",
        "select", "then", "time", "until", "while",
        ".", ":", "[", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare", "echo", "eval", "exec",
        "exit", "export", "false", "fc", "fg", "getopts", "hash", "jobs", "kill", "let", "local", "printf", "pwd", "read",
        "readonly", "return", "set", "shift", "source", "test", "times", "trap", "true", "type", "typeset", "ulimit",
        "umask", "unalias", "unset", "wait",
    ]

    /// Bytes that make a line shell syntax (quoting, expansion, globbing,
    /// redirection, operators, comments).
    static func isSyntax(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "|"), UInt8(ascii: "&"), UInt8(ascii: ";"), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "$"), UInt8(ascii: "`"), UInt8(ascii: "\\"),
             UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["),
             UInt8(ascii: "]"), UInt8(ascii: "#"), UInt8(ascii: "~"), UInt8(ascii: "{"), UInt8(ascii: "}"),
             UInt8(ascii: "!"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
            true
        default: false
        }
    }

    static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    /// Bytes that end a word before the shell's operators.
    static func endsWord(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ";"), UInt8(ascii: "&"), UInt8(ascii: "|"),
             UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\n"):
            true
        default: false
        }
    }

    /// The words of a simple command (`./x86/run x86/msr.flat -smp 1`), or nil
    /// when the line needs the shell: shell syntax, a leading `NAME=value`,
    /// or a first word that is a builtin or keyword.
    /// - Parameter line: A `run:`, `check:` or `teardown:` line.
    /// - Returns: The words split at blanks, or nil.
    public static func simpleWords(_ line: String) -> [String]? {
        let bytes = line.utf8
        guard !bytes.contains(where: isSyntax) else { return nil }
        let words = bytes.split(whereSeparator: isBlank).map { String(Substring($0)) }
        guard let first = words.first, !first.contains("="), !builtins.contains(first) else { return nil }
        return words
    }

    /// The program a line starts: its first word after `NAME=value`
    /// assignments (`ACCEL=tcg ./x86/run x.flat | tee log` → `./x86/run`),
    /// when that is a plain word and no builtin; nil when it cannot be known
    /// without running the shell (`$QEMU`, `cd build && ./run`, a function
    /// defined by the line: `g() { true; }; g`), and when
    /// the line handles its failure (`modprobe x || true`).
    /// - Parameter line: A `run:`, `check:` or `teardown:` line.
    /// - Returns: The program's word as written, and `pathReassigned`, true
    ///   when an assignment before it sets `PATH`; or nil.
    public static func firstCommand(_ line: String) -> (word: Substring, pathReassigned: Bool)? {
        let utf8 = line.utf8
        var position = utf8.startIndex
        var pathReassigned = false
        while true {
            while position < utf8.endIndex, isBlank(utf8[position]) { position = utf8.index(after: position) }
            let start = position
            var equals: String.Index?
            while position < utf8.endIndex, !endsWord(utf8[position]) {
                let byte = utf8[position]
                if isSyntax(byte) { return nil }
                if byte == UInt8(ascii: "="), equals == nil { equals = position }
                position = utf8.index(after: position)
            }
            guard start < position else { return nil }
            let word = line[start..<position]
            if let equals {
                // `NAME=value`: an assignment before the command; `a-b=c` is a word.
                let name = line[start..<equals]
                guard isName(name) else { return nil }
                if name == "PATH" { pathReassigned = true }
                continue
            }
            if !word.utf8.contains(UInt8(ascii: "/")) && builtins.contains(String(word)) { return nil }
            // `g() { …; }; g`: the line defines a function; its name is no program to look for.
            var after = position
            while after < utf8.endIndex, isBlank(utf8[after]) { after = utf8.index(after: after) }
            if after < utf8.endIndex, utf8[after] == UInt8(ascii: "(") { return nil }
            // `modprobe vhost || true; …`: the line handles the command's failure,
            // a missing one included; the shell is left to run it.
            if let operatorStart = utf8[position...].firstIndex(where: { $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: "&")
                                                                        || $0 == UInt8(ascii: "|") || $0 == UInt8(ascii: "\n") }),
               utf8[operatorStart...].starts(with: "||".utf8) {
                return nil
            }
            return (word, pathReassigned)
        }
    }

    static func isName(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return text.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
}
