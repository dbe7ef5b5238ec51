@testable import Dashboard
@testable import Execution
import Foundation
import History
import TestSupport
import Testing

@Suite("DashboardPage")
struct DashboardPageTests {
    @Test("the page of the fake history: the regression row with what changed, strips with one code per run, every section")
    func page() async throws {
        let tree = try TemporaryTree()
        let data = try DashboardData(store: try await FakeHistory.record(in: tree), last: 20)
        let html = DashboardPage(data: data, linkBase: "../results/").render()
        if let out = ProcessInfo.processInfo.environment["TESTBED_DASHBOARD_SAMPLE"] {
            try html.write(toFile: out, atomically: true, encoding: .utf8)
        }
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"))
        #expect(html.hasSuffix("</body></html>\n"))
        #expect(html.contains(#"<tr class="reg" data-t="/net/virtio"><td><a href="../results/\#(FakeHistory.ids[4])/tests/~net~virtio/output.log""#),
                "\(html)")
        #expect(html.contains("<li>kernel 6.1.0-13 → 6.1.0-15</li>"))
        #expect(html.contains(#"<tr data-t="/net/flaky" data-l="tests/~net~flaky"><td class="id">/net/flaky</td><td><span class="strip" data-o="FPFPF">"#))
        #expect(html.contains(#"data-o="PPbPP""#), "the blocked run has no log: a lower-case code")
        #expect(html.contains(#"data-o="uuuuu""#))
        for section in ["latest", "diff", "strips", "flaky", "fragile", "durations", "unsupported"] {
            #expect(html.contains("<section id=\"\(section)\">"), "section \(section)")
        }
        #expect(html.contains(#""d":"../results/\#(FakeHistory.ids[0])""#))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("@import") && !html.contains("url("))
        #expect(html.contains("<td><code>guest-image</code></td><td class=\"o-fail\">1</td>"))
    }

    @Test("ids, reasons and labels are escaped wherever they are shown: text and attributes")
    func escaping() {
        let hostile = "/x/<script>alert(\"1\")</script>&amp;'"
        let run = DashboardData.RunColumn(id: "r1", started: Date(timeIntervalSince1970: 0), host: "h<1>", counts: [.fail: 1])
        let row = DashboardData.TestRow(id: hostile, outcomes: [.fail], log: "tests/%3Cx")
        let data = DashboardData(resultsDirectory: "/r", runs: [run],
                                 summary: DashboardData.Summary(run: run, failedSetups: ["</code><b>"], blocked: 0),
                                 comparison: nil, tests: [row], unsupported: [DashboardData.UnsupportedRow(test: hostile, reason: "<i>")])
        let html = DashboardPage(data: data).render()
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<b>") && !html.contains("<i>") && !html.contains("h<1>"))
        #expect(html.contains("data-t=\"/x/&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;&amp;amp;&#39;\""))
        #expect(html.contains("data-l=\"tests/%253Cx\""), "a `%` of the log directory's name is itself in the link")
        #expect(html.components(separatedBy: "<script").count == 3, "the page's own two scripts only")
    }

    @Test("links to run directories are relative to the page's directory", arguments: [
        ("/a/results", "/a/results", ""),
        ("/a", "/a/results", "results/"),
        ("/a/web", "/a/results", "../results/"),
        ("/", "/srv/r", "srv/r/"),
        ("/x/y/z", "/x/results", "../../results/"),
    ])
    func relative(from: String, to: String, expected: String) {
        #expect(DashboardPage.relativePath(from: from, to: to) == expected)
    }

    @Test("dates in UTC without a formatter", arguments: [
        (0.0, "1970-01-01 00:00 UTC"), (1_790_000_000, "2026-09-21 14:13 UTC"), (951_782_400, "2000-02-29 00:00 UTC"),
    ])
    func date(seconds: Double, expected: String) {
        #expect(DashboardPage.date(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test("one group per id prefix whatever the id order puts between its tests: grouped first, then sorted inside")
    func groupedByPrefix() {
        let ids = ["/broken", "/flaky-yaml", "/flaky/drop.sh", "/flaky/rerun.sh", "/future", "/mode", "/net/a", "/write"]
        let groups = DashboardPage.groups(ids.map { DashboardData.TestRow(id: $0, outcomes: [.pass]) })
        #expect(groups.map { String($0.prefix) } == ["/", "/flaky", "/net"])
        #expect(groups.map { $0.tests.map(\.id) } == [["/broken", "/flaky-yaml", "/future", "/mode", "/write"],
                                                     ["/flaky/drop.sh", "/flaky/rerun.sh"], ["/net/a"]])
        let data = DashboardData(resultsDirectory: "/r", runs: [DashboardData.RunColumn(id: "r1", started: Date(timeIntervalSince1970: 0))],
                                 summary: nil, comparison: nil, tests: ids.map { DashboardData.TestRow(id: $0, outcomes: [.pass]) })
        var page = ""
        DashboardPage(data: data).write { page += $0 }
        #expect(page.components(separatedBy: "/ — 5 tests").count == 2, "one `/` group of 5 tests")
        #expect(!page.contains("/ — 2 tests") && !page.contains("/ — 1 test<"))
    }

    @Test("10,000 tests over 100 runs: under 15 MB, no element per cell, groups closed")
    func large() {
        let runs = (0..<100).map { index in
            DashboardData.RunColumn(id: "20261130-\(index)", started: Date(timeIntervalSince1970: 1_790_000_000 + Double(index) * 3600),
                                    host: "lab\(index % 2)", counts: [.pass: 9_900, .fail: 100])
        }
        let tests = (0..<10_000).map { test in
            DashboardData.TestRow(id: "/group\(test / 1000)/test\(test)",
                                  outcomes: (0..<100).map { run in (test + run) % 97 == 0 ? .fail : .pass },
                                  durations: (0..<100).map { Double(($0 + test) % 50) / 100 },
                                  log: "tests/~group\(test / 1000)~test\(test)")
        }
        let data = DashboardData(resultsDirectory: "/r", runs: runs,
                                 summary: DashboardData.Summary(run: runs[99], failedSetups: [], blocked: 0), comparison: nil, tests: tests)
        var size = 0
        var pieces = 0
        var anchors = 0
        DashboardPage(data: data).write { piece in
            size += piece.utf8.count
            pieces += 1
            anchors += piece.components(separatedBy: "<a ").count - 1
        }
        #expect(size < 15_000_000, "\(size) bytes")
        #expect(pieces > 10, "written in pieces, not as one string")
        #expect(anchors < 100, "\(anchors) links: the cells are made by the script, not written per cell")
        #expect(data.flaky.count == DashboardData.listLimit)
        #expect(data.slowest.count == DashboardData.slowestCount)
    }
}
