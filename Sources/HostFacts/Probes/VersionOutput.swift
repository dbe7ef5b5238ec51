import Declarations
import Requirements

/// Finds the version in what a program prints for `--version` (or what a
/// `probes:` command prints), the way the field writes it.
///
/// Parenthesized parts of a line are packaging details and are skipped; words
/// are separated by spaces, tabs and commas. The first of these wins:
///
/// 1. a version bound to one of `names` (the fact's name, the program's
///    basename; the first name that has one wins), anywhere in the output,
///    case-insensitively: `NAME VERSION`,
///    `NAME version VERSION`, `NAME/VERSION`, or one word `NAME-VERSION`
///    (where the name part may also be `NAME-something`, as rpm's package
///    names are: `libvirt-daemon-9.0.0-5.el9.x86_64` is bound to `libvirt`);
/// 2. then, line by line, the first line that gives one of: the word after
///    `version`; the first `word-VERSION` pair; the first word that starts
///    with a digit (or `v` and a digit) and has a dot; the first word that
///    starts with a digit.
///
/// A `word-VERSION` pair splits at the first `-` followed by a digit or by
/// `v` and a digit, after a part that starts with a letter (`iproute2-6.1.0`,
/// `iproute2-v5.10.0-74-g2953235e`). A trailing rpm architecture
/// (`.x86_64`, `.noarch`, `.aarch64`, `.i686`, `.ppc64le`, `.s390x`,
/// `.armv7hl`…) is dropped, a leading `v` and surrounding quotes too.
///
/// - `ip utility, iproute2-6.1.0, libbpf 1.1.2` → `6.1.0`
/// - `QEMU emulator version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u18)` → `7.2.9`
/// - `libvirt-daemon-9.0.0-5.el9.x86_64` (`rpm -q libvirt-daemon`) → `9.0.0-5.el9`
/// - `GNU gdb (Debian 13.1-3) 13.1` → `13.1`
/// - `9.0.0` (virsh) → `9.0.0`; `Python 3.11.7` → `3.11.7`
public enum VersionOutput {
    /// The version in the output, or nil when no line carries one.
    ///
    /// - Parameters:
    ///   - output: What the command printed (stdout and stderr).
    ///   - names: Names the version may be bound to, most wanted
    ///     first: the fact's name, then the program's basename (`iproute2`,
    ///     `ip`; `libvirt`, `virsh`); compared case-insensitively with whole
    ///     words. Empty names are ignored.
    /// - Returns: The version as printed (`7.2.9`, `9.0.0-5.el9`), or nil when there is none.
    public static func extract(from output: String, names: [String] = []) -> String? {
        let lines = output.split(whereSeparator: \.isNewline).map { words(of: String($0)) }
        let wanted = names.filter { !$0.isEmpty }.map { $0.lowercased() }
        for name in wanted {
            for words in lines {
                if let version = bound(words, to: name) { return version }
            }
        }
        for words in lines {
            if let version = unbound(words) { return version }
        }
        return nil
    }

    /// The words of a line outside parentheses.
    static func words(of line: String) -> [String] {
        var outside = ""
        var depth = 0
        for c in line {
            if c == "(" { depth += 1; outside.append(" "); continue }
            if c == ")" { depth = max(0, depth - 1); outside.append(" "); continue }
            if depth == 0 { outside.append(c) }
        }
        return outside.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
    }

    /// `NAME VERSION`, `NAME version VERSION`, `NAME/VERSION` or `NAME-VERSION`
    /// in a line's words, for `name` (lowercased).
    static func bound(_ words: [String], to name: String) -> String? {
        for (index, word) in words.enumerated() {
            let lower = word.lowercased()
            var bare = Substring(lower)
            while bare.last == ":" { bare = bare.dropLast() }
            if bare == name {
                if index + 1 < words.count, let version = clean(words[index + 1]) { return version }
                if index + 2 < words.count, isVersionKeyword(words[index + 1]), let version = clean(words[index + 2]) {
                    return version
                }
            }
            if let (prefix, version) = splitNameVersion(word) {
                let prefix = prefix.lowercased()
                if prefix == name || prefix.hasPrefix(name + "-"), let version = clean(version) {
                    return version
                }
            }
            if let slash = word.firstIndex(of: "/"), word[..<slash].lowercased() == name,
               let version = clean(word[word.index(after: slash)...]) {
                return version
            }
        }
        return nil
    }

    /// The weaker rules, in order, within one line.
    static func unbound(_ words: [String]) -> String? {
        if let at = words.firstIndex(where: isVersionKeyword), at + 1 < words.count, let version = clean(words[at + 1]) {
            return version
        }
        if let version = words.lazy.compactMap({ splitNameVersion($0).flatMap { clean($0.version) } }).first {
            return version
        }
        if let dotted = words.lazy.compactMap(clean).first(where: { $0.contains(".") }) { return dotted }
        return words.lazy.compactMap(clean).first
    }

    static func isVersionKeyword(_ word: String) -> Bool {
        let lower = word.lowercased()
        return lower == "version" || lower == "version:"
    }

    /// Splits `iproute2-6.1.0` into `iproute2` and `6.1.0` at the first `-`
    /// followed by a digit or by `v` and a digit (the `v` is dropped); nil when
    /// there is no such `-` or the part before it does not start with a letter.
    static func splitNameVersion(_ word: String) -> (name: String, version: String)? {
        let scalars = Array(word.unicodeScalars)
        guard let first = scalars.first, first.properties.isAlphabetic else { return nil }
        func isDigit(_ i: Int) -> Bool { i < scalars.count && ("0"..."9").contains(scalars[i]) }
        for i in 1..<max(1, scalars.count) where scalars[i] == "-" {
            let start: Int
            if isDigit(i + 1) {
                start = i + 1
            } else if i + 1 < scalars.count, scalars[i + 1] == "v" || scalars[i + 1] == "V", isDigit(i + 2) {
                start = i + 2
            } else {
                continue
            }
            return (String(word.unicodeScalars.prefix(i)), String(word.unicodeScalars.dropFirst(start)))
        }
        return nil
    }

    /// rpm's architecture names, as the last part of `NAME-VERSION-RELEASE.ARCH`.
    static let rpmArchitectures: Set<String> = [
        "x86_64", "noarch", "aarch64", "i386", "i486", "i586", "i686", "ppc64le", "ppc64", "ppc64p7", "ppc",
        "s390x", "s390", "armv7hl", "armv7l", "armv6hl", "armv6l", "armv5tel", "riscv64", "loongarch64", "mips64el",
    ]

    /// `v9.0.0,` → `9.0.0`, `"17.0.9"` → `17.0.9`, `9.0.0-5.el9.x86_64` →
    /// `9.0.0-5.el9`; nil when the word is not a version.
    static func clean<S: StringProtocol>(_ word: S) -> String? {
        var w = Substring(word)
        while let first = w.first, first == "\"" || first == "'" { w = w.dropFirst() }
        if w.first == "v" || w.first == "V", w.dropFirst().first?.isNumber == true { w = w.dropFirst() }
        guard w.first?.isASCII == true, w.first?.isNumber == true else { return nil }
        while let last = w.last, !(last.isLetter || last.isNumber) { w = w.dropLast() }
        guard w.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_+~:".contains($0)) }) else { return nil }
        if let dot = w.lastIndex(of: "."), dot != w.startIndex, rpmArchitectures.contains(String(w[w.index(after: dot)...])) {
            w = w[..<dot]
        }
        return String(w)
    }
}
