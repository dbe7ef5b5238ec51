@testable import Dashboard
@testable import Execution
import Foundation
import Testing

@Suite("Dashboard: a test's variants under one row")
struct DashboardVariantTests {
    @Test("variants come under a row naming their test, each shown by its suffix, with a count of those failing now")
    func grouped() {
        let run = DashboardData.RunColumn(id: "r1", started: Date(timeIntervalSince1970: 0), host: "h", counts: [.pass: 3, .fail: 1])
        let rows = [
            DashboardData.TestRow(id: "/m/plain", outcomes: [.pass], log: "tests/m~plain"),
            DashboardData.TestRow(id: "/m/precopy[machine=pc,accel=kvm]", outcomes: [.fail], log: "tests/m~precopy[machine=pc,accel=kvm]"),
            DashboardData.TestRow(id: "/m/precopy[machine=pc,accel=tcg]", outcomes: [.pass], log: "tests/m~precopy[machine=pc,accel=tcg]"),
            DashboardData.TestRow(id: "/m/odd[x]", outcomes: [.pass], log: nil),
        ]
        let data = DashboardData(resultsDirectory: "/r", runs: [run], summary: DashboardData.Summary(run: run, failedSetups: [], blocked: 0),
                                 comparison: nil, tests: rows, unsupported: [])
        let html = DashboardPage(data: data).render()
        #expect(html.contains(#"<tr class="variants" data-v="/m/precopy"><td class="id" colspan="4">/m/precopy — 2 variants, 1 failing now</td></tr>"#
                              + #"<tr data-t="/m/precopy[machine=pc,accel=kvm]" data-l="tests/m~precopy%5Bmachine%3Dpc%2Caccel%3Dkvm%5D">"#
                              + #"<td class="id variant">[machine=pc,accel=kvm]</td>"#), "\(html)")
        #expect(html.contains(#"<td class="id variant">[machine=pc,accel=tcg]</td>"#))
        #expect(html.components(separatedBy: #"class="variants""#).count == 2, "one row for the test, not one per variant")
        // An id that merely ends in brackets is no variant.
        #expect(html.contains(#"<td class="id">/m/odd[x]</td>"#))
        #expect(html.contains(#"<td class="id">/m/plain</td>"#))
    }

    @Test("the test's id of a variant's id", arguments: [
        ("/m/p[machine=pc,accel=tcg]", "/m/p"),
        ("/m/p[a=b]", "/m/p"),
        ("/m/p[x]", nil),
        ("/m/p[]", nil),
        ("/m/p", nil),
        ("[a=b]", nil),
    ] as [(String, String?)])
    func base(id: String, base: String?) {
        #expect(DashboardPage.variantBase(of: id).map(String.init) == base)
    }
}
