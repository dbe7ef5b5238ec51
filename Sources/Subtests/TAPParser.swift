/// TAP 13 and 14 (testanything.org) and KTAP v1 (the kernel's Documentation/dev-tools/ktap.rst), one line at a time.
///
/// - Test points `ok N - name # DIRECTIVE text` (number, `-` and directive optional; `\#` is a `#` in a name).
///   A description ends at the first unescaped `#` after a space; `SKIP…`/`TODO…` there (KTAP also `XFAIL`, `TIMEOUT`,
///   `ERROR`) is a directive, any other text a diagnostic kept as the reason.
/// - Nesting: each 4 spaces (or a tab) of indentation is one level down (TAP 14 subtests, KTAP nested tests); in KTAP,
///   a `# ` prefix in front of a TAP line is one level too (kselftest's runner prints its tests' own TAP that way).
///   A nested test's name is its parent's name, `/`, its own; the parent is named by its own test point, or by a
///   `# Subtest: name` line (TAP 14: just before the indented block; KTAP: inside it, after its version line).
///   Children are reported before their parent (the parent's line comes after them).
/// - Plans `1..N`: tests the plan promised but the output never reported are failures named `test K`, reason
///   `planned but never reported`. `Bail out!` is a failure named `Bail out!`; nothing after it is read.
/// - YAML blocks (`---` … `...`) after a test point and every other line are skipped.
struct TAPParser: SubtestLineParser {
    /// KTAP: its extra directives and the `# ` nesting prefix.
    let kernel: Bool

    private struct Level {
        var header: String?
        var planned: Int?
        var seen = 0
        var highest = 0
        var children: [Subtest] = []
        var overflow = SubtestCounts()
    }

    private var levels: [Level] = [Level()]
    private var buffered = 0
    private var bailed = false
    private var inYAML = false
    private var afterTestPoint = false
    /// The missing tests of plans too long to name each.
    private(set) var countedOnly = SubtestCounts()
    /// The most subtests held back while their parents' names are unknown.
    static let maximumBuffered = SubtestStream.maximumKept

    init(kernel: Bool) { self.kernel = kernel }

    mutating func read(_ line: String) -> [Subtest] {
        guard !bailed else { return [] }
        var content = Substring(line)
        if inYAML {
            if content.trimmingSpaces == "..." { inYAML = false }
            return []
        }
        let wasAfterTestPoint = afterTestPoint
        afterTestPoint = false
        var depth = 0
        while true {
            if content.hasPrefix("    ") {
                content = content.dropFirst(4)
            } else if content.hasPrefix("\t") {
                content = content.dropFirst()
            } else if kernel, content.hasPrefix("# "), Self.isTAPLine(content.dropFirst(2)) {
                content = content.dropFirst(2)
            } else {
                break
            }
            depth += 1
        }
        if wasAfterTestPoint, content.trimmingSpaces == "---" {
            inYAML = true
            return []
        }
        while levels.count <= depth { levels.append(Level()) }
        if content.hasPrefix("ok") || content.hasPrefix("not ok") {
            guard let point = Self.testPoint(content, kernel: kernel) else { return [] }
            afterTestPoint = true
            return testPoint(point, depth: depth)
        }
        if content.hasPrefix("1..") {
            let digits = content.dropFirst(3).prefix { $0.isASCII && $0.isNumber }
            levels[depth].planned = Int(digits)
            return []
        }
        if content.lowercased().hasPrefix("bail out!") {
            bailed = true
            let reason = content.dropFirst("bail out!".count).trimmingSpaces
            return deliver([Subtest(name: "Bail out!", outcome: .fail, reason: reason.isEmpty ? nil : String(reason))], depth: depth)
        }
        if content.hasPrefix("# Subtest:") {
            let name = String(content.dropFirst("# Subtest:".count).trimmingSpaces)
            let target = kernel && depth > 0 && levels[depth].seen == 0 && levels[depth].children.isEmpty ? depth : depth + 1
            while levels.count <= target { levels.append(Level()) }
            levels[target].header = name
            return []
        }
        return []
    }

    mutating func finish() -> [Subtest] {
        var found: [Subtest] = []
        if levels.count > 1 { found = close(from: 1, parent: nil) }
        found += missing(levels[0], prefix: "")
        levels = [Level()]
        return found
    }

    /// A test point read: its kids (the levels below it) closed and named after it, then itself.
    private mutating func testPoint(_ point: (ok: Bool, number: Int?, name: String, directive: String?, text: String?),
                                    depth: Int) -> [Subtest] {
        let level = levels[depth]
        let number = point.number ?? level.seen + 1
        let childHeader = levels.count > depth + 1 ? levels[depth + 1].header : nil
        let name = !point.name.isEmpty ? point.name : childHeader ?? "test \(number)"
        var outcome: SubtestOutcome = point.ok ? .pass : .fail
        switch point.directive {
        case "skip": outcome = .skip
        // TAP's TODO: a failure expected (`not ok … # TODO`), a pass that was not (`ok … # TODO`, a "bonus").
        case "todo": outcome = point.ok ? .pass : .xfail
        // KTAP's XFAIL: kselftest's `ksft_test_result_xfail` prints `ok N name # XFAIL reason`; `not ok` with it counts alike.
        case "xfail": outcome = .xfail
        case "timeout", "error": outcome = .fail
        default: break
        }
        levels[depth].seen += 1
        levels[depth].highest = max(level.highest, number)
        var found: [Subtest] = []
        if levels.count > depth + 1 { found = close(from: depth + 1, parent: name) }
        found.append(Subtest(name: name, outcome: outcome, reason: point.text))
        return deliver(found, depth: depth)
    }

    /// Subtests found at `depth`, relative to it: reported at once from the top level or when every
    /// level above has a known name (its `# Subtest:` header), otherwise held until their parent's line.
    private mutating func deliver(_ found: [Subtest], depth: Int) -> [Subtest] {
        guard depth > 0 else { return found }
        let names = levels[1...depth].map(\.header)
        if names.allSatisfy({ $0 != nil }) {
            let prefix = names.compactMap { $0 }.joined(separator: "/") + "/"
            return found.map { var subtest = $0; subtest.name = prefix + subtest.name; return subtest }
        }
        for subtest in found {
            if buffered < Self.maximumBuffered {
                levels[depth].children.append(subtest)
                buffered += 1
            } else {
                levels[depth].overflow.add(subtest.outcome)
            }
        }
        return []
    }

    /// Levels `from` and below closed: what they held, named after `parent` (nil: their header, if any),
    /// their plans' missing tests included. Names stay relative to level `from - 1`.
    private mutating func close(from: Int, parent: String?) -> [Subtest] {
        var found: [Subtest] = []
        if levels.count > from + 1 { found = close(from: from + 1, parent: levels[from + 1].header) }
        let level = levels[from]
        levels.removeLast(levels.count - from)
        let held = found.isEmpty ? level.children : level.children + found.map { $0 }
        // Children already reported (every name above known) were named when reported.
        let prefixName = parent ?? level.header
        let prefix = prefixName.map { $0 + "/" } ?? ""
        var result = held.map { var subtest = $0; subtest.name = SubtestStream.capped(prefix + subtest.name); return subtest }
        buffered -= level.children.count
        result += placeholders(level.overflow, prefix: prefix)
        result += missing(level, prefix: prefix)
        return result
    }

    private func placeholders(_ counts: SubtestCounts, prefix: String) -> [Subtest] {
        var result: [Subtest] = []
        for (outcome, count) in [(SubtestOutcome.pass, counts.pass), (.fail, counts.fail), (.skip, counts.skip), (.xfail, counts.xfail)] {
            for _ in 0..<count { result.append(Subtest(name: prefix + "(not kept)", outcome: outcome)) }
        }
        return result
    }

    /// Failures for the tests `level`'s plan promised and its output never reported: at most `maximumKept` named,
    /// the rest only counted (`countedOnly`).
    private mutating func missing(_ level: Level, prefix: String) -> [Subtest] {
        guard let planned = level.planned, planned > level.seen else { return [] }
        let first = max(level.highest, level.seen) + 1
        guard first <= planned else { return [] }
        let last = min(planned, first + SubtestStream.maximumKept - 1)
        countedOnly.fail += planned - last
        return (first...last).map {
            Subtest(name: prefix + "test \($0)", outcome: .fail, reason: "planned (1..\(planned)) but never reported")
        }
    }

    /// Whether `text` is a TAP line (after a kselftest `# ` prefix): a test point, a plan, a version line, or another prefix.
    static func isTAPLine(_ text: Substring) -> Bool {
        text.hasPrefix("ok") || text.hasPrefix("not ok") || text.hasPrefix("1..") || text.hasPrefix("TAP version")
            || text.hasPrefix("KTAP version") || (text.hasPrefix("# ") && isTAPLine(text.dropFirst(2)))
    }

    /// A test point's parts: `ok`, its number, its name (unescaped), its directive (lowercased word), its text.
    static func testPoint(_ line: Substring, kernel: Bool) -> (ok: Bool, number: Int?, name: String, directive: String?, text: String?)? {
        let ok = line.hasPrefix("ok")
        var rest = line.dropFirst(ok ? 2 : 6)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        rest = rest.drop { $0 == " " || $0 == "\t" }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        let number = digits.isEmpty ? nil : Int(digits)
        rest = rest.dropFirst(digits.count)
        if !digits.isEmpty, let next = rest.first, next != " ", next != "\t" {
            // `ok 1a`: no number after all.
            rest = line.dropFirst(ok ? 2 : 6).drop { $0 == " " || $0 == "\t" }
        }
        rest = rest.drop { $0 == " " || $0 == "\t" }
        if rest.hasPrefix("- ") || rest == "-" { rest = rest.dropFirst(1).drop { $0 == " " } }
        var name = ""
        var comment: Substring?
        var index = rest.startIndex
        var previous: Character = " "
        while index < rest.endIndex {
            let character = rest[index]
            if character == "\\", rest.index(after: index) < rest.endIndex {
                index = rest.index(after: index)
                name.append(rest[index])
                previous = rest[index]
            } else if character == "#", previous == " " || previous == "\t" {
                comment = rest[rest.index(after: index)...]
                break
            } else {
                name.append(character)
                previous = character
            }
            index = rest.index(after: index)
        }
        name = String(Substring(name).trimmingSpaces)
        guard let comment else { return (ok, number, name, nil, nil) }
        let text = comment.trimmingSpaces
        let word = text.prefix { $0.isLetter }.lowercased()
        let words = kernel ? ["skip", "todo", "xfail", "timeout", "error"] : ["skip", "todo"]
        if let directive = words.first(where: { word.hasPrefix($0) && (kernel ? word == $0 : true) }) {
            let after = text.dropFirst(word.count).drop { $0 == ":" }.trimmingSpaces
            return (ok, number, name, directive, after.isEmpty ? nil : String(after))
        }
        return (ok, number, name, nil, text.isEmpty ? nil : String(text))
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        let start = drop { $0 == " " || $0 == "\t" }
        var end = start
        while let last = end.last, last == " " || last == "\t" { end = end.dropLast() }
        return end
    }
}
