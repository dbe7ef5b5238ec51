/// Finds the version in what a program prints for `--version`.
///
/// - `QEMU emulator version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u18)` → `7.2.9`
/// - `qemu-img version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)` → `8.2.2`
/// - `9.0.0` (virsh) → `9.0.0`
/// - `GNU gdb (Debian 13.1-3) 13.1` → `13.1`
/// - `Python 3.11.7` → `3.11.7`
public enum VersionOutput {
    /// The version in the output, or nil when no line carries one.
    public static func extract(from output: String) -> String? {
        for line in output.split(whereSeparator: \.isNewline) {
            if let version = extract(line: String(line)) { return version }
        }
        return nil
    }

    static func extract(line: String) -> String? {
        // Parenthesized parts are packaging details: drop them.
        var outside = ""
        var depth = 0
        for c in line {
            if c == "(" { depth += 1; outside.append(" "); continue }
            if c == ")" { depth = max(0, depth - 1); outside.append(" "); continue }
            if depth == 0 { outside.append(c) }
        }
        let words = outside.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
        // "version X" wins; otherwise the first word that starts with a digit
        // (or `v` and a digit) and has a dot, then any word starting with a digit.
        if let at = words.firstIndex(where: { $0.lowercased() == "version" }), at + 1 < words.count,
           let version = clean(words[at + 1]) {
            return version
        }
        if let dotted = words.lazy.compactMap(clean).first(where: { $0.contains(".") }) { return dotted }
        return words.lazy.compactMap(clean).first
    }

    /// `v9.0.0,` → `9.0.0`; nil when the word is not a version.
    static func clean(_ word: String) -> String? {
        var w = Substring(word)
        if w.first == "v" || w.first == "V", w.dropFirst().first?.isNumber == true { w = w.dropFirst() }
        guard w.first?.isNumber == true else { return nil }
        while let last = w.last, !(last.isLetter || last.isNumber) { w = w.dropLast() }
        guard w.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_+~:".contains($0)) }) else { return nil }
        return String(w)
    }
}
