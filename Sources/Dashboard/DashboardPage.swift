import Execution
import Foundation
import History
import Plot

/// The dashboard as one self-contained HTML page: inline CSS, a small inline
/// script (the filter box, the status-strip cells), inline SVG charts; no
/// request leaves the page.
///
/// The page is made of sections, each a Plot node rendered on its own
/// (`write(to:)` hands them out one after the other), so that a page of
/// 10,000 tests is written as it is rendered instead of held whole. The
/// status strips hold one short code per run (`data-o`); the script makes a
/// group's cells, each a link to that run's log of the test, when the group
/// is opened (groups are open on a page of at most `openGroupsUpTo` tests).
public struct DashboardPage: Sendable {
    /// The data shown.
    public var data: DashboardData
    /// What a link to a run directory starts with: the path from the page's
    /// directory to the results directory, ending with `/` (empty when the
    /// page is in the results directory).
    public var linkBase: String

    /// Groups start open when the page has at most this many tests.
    public static let openGroupsUpTo = 300

    /// A page.
    ///
    /// - Parameters:
    ///   - data: the data.
    ///   - linkBase: the path from the page's directory to the results directory (see `relativePath(from:to:)`).
    public init(data: DashboardData, linkBase: String = "") {
        self.data = data
        self.linkBase = linkBase.isEmpty || linkBase.hasSuffix("/") ? linkBase : linkBase + "/"
    }

    /// The page, whole.
    ///
    /// - Returns: the HTML.
    public func render() -> String {
        var out = ""
        write { out += $0 }
        return out
    }

    /// Hands the page out in pieces, in order (the document's start, each section, its end).
    ///
    /// - Parameter sink: called with each piece.
    /// - Throws: what `sink` throws.
    public func write(to sink: (String) throws -> Void) rethrows {
        try sink("<!DOCTYPE html>\n<html lang=\"en\">")
        try sink(head.render())
        try sink("<body>")
        try sink(header.render())
        for section in [summarySection, hostsSection, diffSection] { try sink(section.render()) }
        try writeStrips(to: sink)
        for section in [flakySection, fragileSection, durationSection, unsupportedSection] { try sink(section.render()) }
        try sink(Tag.element("script", ["id": "tb-runs", "type": "application/json"], [.raw(runsJSON)]).render())
        try sink(Tag.element("script", [:], [.raw(PageAssets.script)]).render())
        try sink("</body></html>\n")
    }

    /// The path from directory `from` to directory `to` (both absolute), ending with `/`; empty when they are the same.
    ///
    /// - Parameters:
    ///   - from: the page's directory.
    ///   - to: the results directory.
    /// - Returns: `../testbed-results/`, `results/`, or empty.
    public static func relativePath(from: String, to: String) -> String {
        let a = from.split(separator: "/").filter { $0 != "." }
        let b = to.split(separator: "/").filter { $0 != "." }
        var common = 0
        while common < a.count && common < b.count && a[common] == b[common] { common += 1 }
        let parts = Array(repeating: "..", count: a.count - common) + b[common...].map(String.init)
        return parts.isEmpty ? "" : parts.joined(separator: "/") + "/"
    }

    // MARK: Pieces

    var head: Node<HTML.DocumentContext> {
        .element(named: "head", nodes: [
            .element(named: "meta", nodes: [.attribute(named: "charset", value: "utf-8")]),
            .element(named: "meta", nodes: [.attribute(named: "name", value: "viewport"),
                                            .attribute(named: "content", value: "width=device-width, initial-scale=1")]),
            .element(named: "title", nodes: [.raw(Tag.escaped(title))]),
            .element(named: "style", nodes: [.raw(PageAssets.css)]),
        ])
    }

    var title: String {
        guard let run = data.summary?.run else { return "Testbed dashboard: no runs" }
        return "Testbed dashboard: \(run.id)"
    }

    var header: Markup {
        let span = data.runs.first.map { "\(data.runs.count) run\(data.runs.count == 1 ? "" : "s"), \(Self.date($0.started)) to " }
        return Tag.element("header", [:], [
            Tag.element("div", [:], [
                Tag.element("h1", text: "Testbed dashboard"),
                Tag.element("div", ["class": "muted"], text: (span ?? "no runs, ") + (data.runs.last.map { Self.date($0.started) } ?? "")
                    + " · \(data.tests.count) tests · results: \(data.resultsDirectory) · generated \(Self.date(data.generated))"),
            ]),
            Tag.element("input", ["id": "filter", "type": "search", "placeholder": "filter tests by id", "aria-label": "filter tests by id"]),
        ])
    }

    /// A run's link target: `linkBase` + its directory, percent-encoded.
    func runLink(_ run: DashboardData.RunColumn) -> String {
        (run.directory.hasPrefix("/") ? "" : linkBase) + Self.pathEncoded(run.directory)
    }

    /// The runs as the script reads them: `[{"d": link to the run directory, "t": what a cell's title says of the run}]`.
    var runsJSON: String {
        struct Entry: Encodable {
            var d: String
            var t: String
        }
        let entries = data.runs.map { run in
            Entry(d: runLink(run), t: [run.id, run.host, run.environment, Self.date(run.started)].compactMap { $0 }.joined(separator: " · "))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let json = (try? encoder.encode(entries)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        // Inside <script>: no `<` at all (so no `</script>` ends it early); `\u003c` is the same character to JSON.
        return json.replacingOccurrences(of: "<", with: "\\u003c")
    }

    /// `2026-11-30 01:40 UTC`.
    static func date(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm): no formatter, no locale.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(time / 3600)):\(two(time / 60 % 60)) UTC"
    }

    /// A relative path with every byte outside `A-Z a-z 0-9 - . _ ~ /` percent-encoded (`%` itself too).
    static func pathEncoded(_ path: String) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
        allowed.remove(charactersIn: "%")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }

    /// One letter per outcome in a strip's `data-o`; `-` where the run did not have the test.
    static func code(_ outcome: TestOutcome?) -> Character {
        switch outcome {
        case .pass: "p"
        case .fail: "f"
        case .timeout: "t"
        case .error: "e"
        case .skip: "s"
        case .unsupported: "u"
        case .blocked: "b"
        case .interrupted: "i"
        case nil: "-"
        }
    }

    /// `12 pass, 1 fail, 2 unsupported`, in the order outcomes are declared.
    static func counts(_ counts: [TestOutcome: Int]) -> String {
        let parts = TestOutcome.allCases.compactMap { outcome in counts[outcome].map { "\($0) \(outcome.rawValue)" } }
        return parts.isEmpty ? "no tests" : parts.joined(separator: ", ")
    }
}
