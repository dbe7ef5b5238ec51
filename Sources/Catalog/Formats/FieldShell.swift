import Foundation

/// Shell quoting for the command lines that field formats (autopkgtest, meson) generate: every word single-quoted unless
/// it is made of characters no shell reads specially.
enum FieldShell {
    /// Characters a word may hold and stay unquoted.
    static let plain = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./:@%+,")

    /// `word` as one shell word: as it is when plain, else in single quotes (a `'` inside written `'\''`).
    ///
    /// - Parameter word: Any text (the empty word becomes `''`).
    /// - Returns: The quoted word.
    static func quote(_ word: String) -> String {
        // No `=` (a first word `A=b` would be an assignment), no `~` (expanded at a word's start).
        if !word.isEmpty, word.allSatisfy({ plain.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The words as one command line, each quoted by `quote(_:)`.
    ///
    /// - Parameter words: An argv.
    /// - Returns: The words quoted and joined with spaces.
    static func line(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    /// Whether `name` can be assigned by the shell (`NAME=value`): a letter or `_`, then letters, digits or `_`.
    ///
    /// - Parameter name: An environment variable's name.
    /// - Returns: True when it is a shell variable name.
    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
