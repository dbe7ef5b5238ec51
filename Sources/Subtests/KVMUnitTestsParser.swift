/// kvm-unit-tests' report lines (its `lib/report.c`): `PASS: `, `FAIL: `, `XPASS: `, `XFAIL: `, `KFAIL: `, `SKIP: `
/// followed by the report's prefixes (`apic: x2apic: `) and its message. The name is all the text after the keyword
/// (prefixes included: `apic: x2apic: self-IPI`); a `FAIL`'s and `XPASS`'s reason is the whole line, a `SKIP`'s the
/// text in its last parentheses (`SKIP: pmu (not supported)`), else its text.
///
/// The keyword opens the line, after spaces or a bracketed prefix such as a timestamp (`[  1.234] PASS: …`) and
/// colour codes; `PASS apic (12 tests)` (run_tests.sh's summary, no colon) and `SUMMARY:`, `INFO:` lines are not reports.
struct KVMUnitTestsParser: SubtestLineParser {
    private static let keywords: [(String, SubtestOutcome)] = [
        ("PASS: ", .pass), ("FAIL: ", .fail), ("XPASS: ", .fail), ("XFAIL: ", .xfail), ("KFAIL: ", .xfail), ("SKIP: ", .skip),
    ]

    mutating func read(_ line: String) -> [Subtest] {
        var text = Self.withoutColours(Substring(line)).trimmingSpaces
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = text[text.index(after: close)...].trimmingSpaces
        }
        guard let (keyword, outcome) = Self.keywords.first(where: { text.hasPrefix($0.0) }) else { return [] }
        let body = String(text.dropFirst(keyword.count).trimmingSpaces)
        let name = body.isEmpty ? keyword.dropLast(2).lowercased() : body
        var reason: String?
        switch outcome {
        case .fail, .xfail: reason = String(text)
        case .skip:
            if body.hasSuffix(")"), let open = body.lastIndex(of: "(") {
                reason = String(body[body.index(after: open)..<body.index(before: body.endIndex)])
            } else {
                reason = body.isEmpty ? nil : body
            }
        case .pass: reason = nil
        }
        return [Subtest(name: name, outcome: outcome, reason: reason)]
    }

    mutating func finish() -> [Subtest] { [] }

    /// `text` without ANSI colour sequences (`ESC [ … m`).
    static func withoutColours(_ text: Substring) -> Substring {
        guard text.contains("\u{1B}") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "\u{1B}" {
                var end = text.index(after: index)
                while end < text.endIndex, !text[end].isLetter { end = text.index(after: end) }
                index = end < text.endIndex ? text.index(after: end) : end
            } else {
                result.append(text[index])
                index = text.index(after: index)
            }
        }
        return Substring(result)
    }
}

/// GoogleTest's console output: `[ RUN      ] Suite.Name` opens a test, `[       OK ] Suite.Name (N ms)`,
/// `[  FAILED  ] Suite.Name (N ms)` and `[  SKIPPED ] Suite.Name (N ms)` end it. The name is `Suite.Name`
/// (parameterised: `Prefix/Suite.Name/0`); a failure's or skip's reason is the first line the test printed
/// (`foo.cc:12: Failure`). The summary's repeated `[  FAILED  ]` lines end no open test and are not counted again;
/// a test still open when the output ends (it crashed) is a failure, reason `never finished`.
struct GTestParser: SubtestLineParser {
    private var open: String?
    private var firstOutput: String?

    mutating func read(_ line: String) -> [Subtest] {
        let text = KVMUnitTestsParser.withoutColours(Substring(line))
        guard text.hasPrefix("[") , let close = text.firstIndex(of: "]") else {
            if open != nil, firstOutput == nil, !text.trimmingSpaces.isEmpty { firstOutput = String(text.trimmingSpaces) }
            return []
        }
        let tag = text[text.index(after: text.startIndex)..<close].trimmingSpaces
        let rest = text[text.index(after: close)...].trimmingSpaces
        // `[  FAILED  ] Inst/Math.Param/0, where GetParam() = 4 (0 ms)`: the name ends at a space or that comma.
        let name = String(rest.prefix { $0 != " " && $0 != "," })
        switch tag {
        case "RUN":
            var found: [Subtest] = []
            if let open { found.append(Subtest(name: open, outcome: .fail, reason: "never finished")) }
            open = name
            firstOutput = nil
            return found
        case "OK", "FAILED", "SKIPPED":
            guard let current = open, current == name else { return [] }
            open = nil
            let outcome: SubtestOutcome = tag == "OK" ? .pass : tag == "FAILED" ? .fail : .skip
            return [Subtest(name: current, outcome: outcome, reason: outcome == .pass ? nil : firstOutput)]
        default:
            return []
        }
    }

    mutating func finish() -> [Subtest] {
        guard let open else { return [] }
        self.open = nil
        return [Subtest(name: open, outcome: .fail, reason: "never finished")]
    }
}
