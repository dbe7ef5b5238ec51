import Execution
import Foundation
import History
import Plot

extension DashboardPage {
    /// The latest run at a glance: the code's failures against the lab's, then the outcomes of every run shown as bars.
    var summarySection: Markup {
        guard let summary = data.summary else {
            return Tag.element("section", ["id": "latest"], [
                Tag.element("h2", text: "Latest run"),
                Tag.element("p", text: "No runs recorded in \(data.resultsDirectory) yet: `testbed run` records one."),
            ])
        }
        let run = summary.run
        let code = run.testFailures
        let lab = summary.failedSetups.count
        let place = [run.host.map { "host \($0)" }, "environment \(run.environment)"].compactMap { $0 }.joined(separator: ", ")
        let labels = run.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let state = run.running ? "still running" : !run.complete ? "incomplete" : "exit \(run.exitCode.map(String.init) ?? "?")"
        return Tag.element("section", ["id": "latest"], [
            Tag.element("h2", text: "Latest run"),
            Tag.element("p", [:], [
                Tag.element("a", ["href": runLink(run)], [Tag.element("code", text: run.id)]),
                Tag.text(" · \(Self.date(run.started)) · \(place)" + (labels.isEmpty ? "" : " · labels \(labels)") + " · \(state)"),
            ]),
            Tag.element("div", ["class": "cards"], [
                Tag.element("div", ["class": code > 0 ? "card bad" : "card good", "id": "code-card"], [
                    Tag.element("div", text: "Code: tests that failed"),
                    Tag.element("div", ["class": "big"], text: String(code)),
                    Tag.element("div", ["class": "muted"], text: "fail, timeout or error"),
                ]),
                Tag.element("div", ["class": lab > 0 || summary.blocked > 0 ? "card lab" : "card good", "id": "lab-card"], [
                    Tag.element("div", text: "Lab: infrastructure that failed"),
                    Tag.element("div", ["class": "big"], text: String(lab)),
                    Tag.element("div", ["class": "muted"], text: "setups, teardowns, restores; \(summary.blocked) tests blocked"),
                ]),
                Tag.element("div", ["class": "card"], [
                    Tag.element("div", text: "All outcomes"),
                    Tag.element("div", ["class": "big"], text: String(run.total)),
                    Tag.element("div", ["class": "muted"], text: Self.counts(run.counts)),
                ]),
            ]),
            summary.failedSetups.isEmpty ? .empty : Tag.element("p", [:], [
                Tag.text("Failed infrastructure: "), Tag.element("code", text: summary.failedSetups.joined(separator: ", ")),
            ]),
            Tag.element("h3", text: "Outcomes per run (oldest left)"),
            Charts.outcomeBars(data.runs),
        ])
    }

    /// The latest run against the previous comparable run: regressions first, each with its `why`.
    var diffSection: Markup {
        guard let comparison = data.comparison, let latest = data.summary?.run else {
            return Tag.element("section", ["id": "diff"], [
                Tag.element("h2", text: "Since the previous run"),
                Tag.element("p", text: "No earlier run on the latest run's host and environment to compare it with."),
            ])
        }
        var nodes: [Markup] = [
            Tag.element("h2", text: "Since the previous run"),
            Tag.element("p", [:], [
                Tag.text("The latest run against "), Tag.element("code", text: comparison.previous),
                Tag.text(" (the previous run on the same host and environment)."),
            ]),
            Tag.element("h3", text: "Regressions (\(comparison.regressions.count))"),
        ]
        if comparison.regressions.isEmpty {
            nodes.append(Tag.element("p", ["class": "muted"], text: "None: no test that passed there fails now."))
        } else {
            let rows = comparison.regressions.map { row in
                Tag.element("tr", ["class": "reg", "data-t": row.test], [
                    Tag.element("td", [:], [row.log.map { log in
                        Tag.element("a", ["href": runLink(latest) + "/" + Self.pathEncoded(log) + "/output.log", "class": "id"], text: row.test)
                    } ?? Tag.element("span", ["class": "id"], text: row.test)]),
                    Tag.element("td", ["class": "o-" + row.outcome.rawValue], text: "pass → " + row.outcome.rawValue),
                    Tag.element("td", [:], [Tag.element("code", text: row.lastPass)]),
                    Tag.element("td", [:], [Tag.element("div", text: row.headline), changeList(row.changes)]),
                ])
            }
            nodes.append(Tag.element("table", ["id": "regressions"], [
                Tag.element("tr", [:], ["test", "now", "last passed in", "why"].map { Tag.element("th", text: $0) }),
            ] + rows))
        }
        nodes.append(idList("Fixes", comparison.fixes, id: "fixes"))
        nodes.append(idList("New infrastructure failures", comparison.newInfrastructureFailures, id: "new-infra"))
        nodes.append(idList("Still failing", comparison.stillFailing, id: "still-failing"))
        nodes.append(idList("New tests", comparison.new, id: "new-tests"))
        if !comparison.gone.isEmpty { nodes.append(idList("Gone tests", comparison.gone, id: "gone-tests")) }
        nodes.append(Tag.element("h3", text: "What differs between the two runs"))
        nodes.append(Tag.element("ul", ["class": "changes", "id": "run-changes"], comparison.changes.map { Tag.element("li", text: $0) }))
        return Tag.element("section", ["id": "diff"], nodes)
    }

    /// What changed, as a list; more than 6 changes start collapsed under their count.
    func changeList(_ changes: [String]) -> Markup {
        guard !changes.isEmpty else { return .empty }
        let list = Tag.element("ul", ["class": "changes"], changes.map { Tag.element("li", text: $0) })
        guard changes.count > 6 else { return list }
        return Tag.element("details", [:], [Tag.element("summary", text: "\(changes.count) changes"), list])
    }

    /// A heading with a count, and the items in a collapsed list (open when short).
    func idList(_ title: String, _ items: [String], id: String) -> Markup {
        guard !items.isEmpty else { return Tag.element("h3", ["id": id], text: "\(title) (0)") }
        let shown = items.prefix(200).map { Tag.element("li", [:], [Tag.element("code", text: $0)]) }
        let more = items.count > shown.count ? [Tag.element("li", ["class": "muted"], text: "and \(items.count - shown.count) more")] : []
        return Tag.element("details", ["id": id, "open": items.count <= 10 ? "" : nil], [
            Tag.element("summary", [:], [Tag.element("strong", text: "\(title) (\(items.count))")]),
            Tag.element("ul", [:], shown + more),
        ])
    }

    /// The status strips, one group of tests per id prefix, written group by group.
    func writeStrips(to sink: (String) throws -> Void) rethrows {
        let legend = TestOutcome.allCases.map { outcome in
            Tag.element("span", ["class": "k"], [
                Tag.element("span", ["class": "c " + String(Self.code(outcome))]), Tag.text(outcome.rawValue),
            ])
        } + [Tag.element("span", ["class": "k"], [Tag.element("span", ["class": "c n"]), Tag.text("not in that run")])]
        try sink(Tag.element("section", ["id": "strips"], [
            Tag.element("h2", text: "Every test over the last \(data.runs.count) runs"),
            Tag.element("p", ["class": "muted"], text: "One cell per run, oldest left; a cell links to that run's log of the test "
                + "(relative to this page) and its title names the run and the outcome. Groups are the ids' first part."),
            Tag.element("div", ["class": "legend", "id": "legend"], legend),
            Tag.element("noscript", [:], [Tag.element("p", text: "The cells are drawn by the page's script: enable JavaScript to see them.")]),
        ]).render().dropLast("</section>".count).description)
        let open = data.tests.count <= Self.openGroupsUpTo
        // Grouped first, then in id order inside a group: `/flaky-yaml` sorts between `/flaky/a` and
        // `/mode` by id, yet it is in the one `/` group.
        for (prefix, tests) in Self.groups(data.tests) {
            try sink(group(prefix, tests[...], open: open).render())
        }
        try sink("</section>")
    }

    /// The tests grouped by `group(of:)`: one group per prefix, prefixes in order, each group's tests in
    /// the order given.
    ///
    /// - Parameter tests: the tests, in the order they are shown inside a group.
    /// - Returns: each prefix with its tests.
    static func groups(_ tests: [DashboardData.TestRow]) -> [(prefix: Substring, tests: [DashboardData.TestRow])] {
        var members: [Substring: [DashboardData.TestRow]] = [:]
        for test in tests { members[group(of: test.id), default: []].append(test) }
        return members.keys.sorted().map { ($0, members[$0] ?? []) }
    }

    /// The test's id of a variant's id: `/m/p` of `/m/p[machine=pc,accel=tcg]`; nil for an id without a variant's suffix
    /// (`[`, axis=value pairs separated by `,`, `]` at its end).
    static func variantBase(of id: String) -> Substring? {
        guard id.hasSuffix("]"), let open = id.lastIndex(of: "["), open > id.startIndex else { return nil }
        let pairs = id[id.index(after: open)..<id.index(before: id.endIndex)].split(separator: ",", omittingEmptySubsequences: false)
        guard !pairs.isEmpty, pairs.allSatisfy({ $0.contains("=") && !$0.hasPrefix("=") }) else { return nil }
        return id[..<open]
    }

    /// `/net` of `/net/virtio/a`; the id itself when it has no `/` after its first character.
    static func group(of id: String) -> Substring {
        let body = id.hasPrefix("/") ? id.dropFirst() : Substring(id)
        guard let slash = body.firstIndex(of: "/") else { return id.hasPrefix("/") ? "/" : "(no prefix)" }
        return id[..<slash]
    }

    /// ` (2 subtests failed: a; b)` under a test's outcome, small; nothing when none failed.
    static func failedSubtests(_ test: DashboardData.TestRow) -> [Markup] {
        guard test.failedSubtestCount > 0 else { return [] }
        let count = test.failedSubtestCount
        let more = count > test.failedSubtests.count ? "; …" : ""
        // `; `: kvm-unit-tests' names hold commas (`mov null, %ss`).
        let text = " (\(count) subtest\(count == 1 ? "" : "s") failed: " + test.failedSubtests.joined(separator: "; ") + more + ")"
        return [Tag.element("small", ["class": "muted subtests"], text: text)]
    }

    func group(_ prefix: Substring, _ tests: ArraySlice<DashboardData.TestRow>, open: Bool) -> Markup {
        let last = data.runs.count - 1
        var failing = 0
        var rows: [Markup] = []
        rows.reserveCapacity(tests.count)
        // A test's variants (`/m/p[machine=pc]`, contiguous in id order) come under one row naming the test.
        var variantCounts: [Substring: (count: Int, failing: Int)] = [:]
        for test in tests {
            guard let base = Self.variantBase(of: test.id) else { continue }
            let failingNow = last >= 0 && test.outcomes[last]?.isTestFailure == true
            variantCounts[base, default: (0, 0)].count += 1
            if failingNow { variantCounts[base, default: (0, 0)].failing += 1 }
        }
        var currentBase: Substring?
        for test in tests {
            let base = Self.variantBase(of: test.id)
            if let base, base != currentBase, let counts = variantCounts[base] {
                let text = "\(base) — \(counts.count) variant\(counts.count == 1 ? "" : "s")"
                    + (counts.failing > 0 ? ", \(counts.failing) failing now" : "")
                rows.append(Tag.element("tr", ["class": "variants", "data-v": String(base)], [
                    Tag.element("td", ["class": "id", "colspan": "4"], text: text),
                ]))
            }
            currentBase = base
            var codes = ""
            codes.reserveCapacity(test.outcomes.count)
            for (index, outcome) in test.outcomes.enumerated() {
                let code = Self.code(outcome)
                codes.append(test.logged[index] && outcome != nil ? Character(code.uppercased()) : code)
            }
            let now = last >= 0 ? test.outcomes[last] : nil
            if now?.isTestFailure == true { failing += 1 }
            rows.append(Tag.element("tr", ["data-t": test.id, "data-l": test.log.map(Self.pathEncoded)], [
                Tag.element("td", ["class": base == nil ? "id" : "id variant"],
                            text: base.map { String(test.id.dropFirst($0.count)) } ?? test.id),
                Tag.element("td", [:], [Tag.element("span", ["class": "strip", "data-o": codes])]),
                Tag.element("td", ["class": now.map { "o-" + $0.rawValue }], [.text(now?.rawValue ?? "not in the latest run")]
                            + Self.failedSubtests(test)),
                Tag.element("td", ["class": "muted"], text: test.ratio.text),
            ]))
        }
        let title = "\(prefix) — \(tests.count) test\(tests.count == 1 ? "" : "s")" + (failing > 0 ? ", \(failing) failing now" : "")
        return Tag.element("details", ["class": "group", "open": open || failing > 0 && tests.count <= 50 ? "" : nil], [
            Tag.element("summary", [:], [Tag.element(failing > 0 ? "strong" : "span", ["class": failing > 0 ? "o-fail" : nil], text: title)]),
            Tag.element("table", ["class": "strips"], rows),
        ])
    }

    /// The tests that flipped, with fail ratios and their 95% intervals.
    var flakySection: Markup {
        let rows = data.flaky.map { row in
            Tag.element("tr", ["data-t": row.test], [
                Tag.element("td", ["class": "id"], text: row.test),
                Tag.element("td", text: String(row.flips)),
                Tag.element("td", [:], [Charts.interval(row.ratio)]),
                Tag.element("td", text: row.ratio.text),
            ])
        }
        return Tag.element("section", ["id": "flaky"], [
            Tag.element("h2", text: "Flaky tests (\(data.flaky.count))"),
            rows.isEmpty
                ? Tag.element("p", ["class": "muted"], text: "No test flipped between pass and fail in these runs.")
                : Tag.element("table", [:], [
                    Tag.element("tr", [:], ["test", "flips", "fail ratio", ""].map { Tag.element("th", text: $0) }),
                ] + rows),
        ])
    }

    /// Infrastructure failures per setup and per host: the most fragile first.
    var fragileSection: Markup {
        func table(_ rows: [DashboardData.FragileRow], _ noun: String, id: String) -> Markup {
            Tag.element("table", ["id": id], [
                Tag.element("tr", [:], [noun, "failures", "runs with one", "runs", "latest failure"].map { Tag.element("th", text: $0) }),
            ] + rows.map { row in
                Tag.element("tr", [:], [
                    Tag.element("td", [:], [Tag.element("code", text: row.name)]),
                    Tag.element("td", ["class": row.failures > 0 ? "o-fail" : nil], text: String(row.failures)),
                    Tag.element("td", text: String(row.failedRuns)),
                    Tag.element("td", text: String(row.runs)),
                    Tag.element("td", text: row.failures == 0 ? "" : "\(row.lastRun): \(row.lastReason ?? "")"),
                ])
            })
        }
        return Tag.element("section", ["id": "fragile"], [
            Tag.element("h2", text: "Most fragile: infrastructure failures"),
            Tag.element("h3", text: "Per setup"),
            data.fragileSetups.isEmpty
                ? Tag.element("p", ["class": "muted"], text: "No setup, teardown or restore failed in these runs.")
                : table(data.fragileSetups, "setup", id: "fragile-setups"),
            Tag.element("h3", text: "Per host"),
            table(data.fragileHosts, "host", id: "fragile-hosts"),
        ])
    }

    /// The slowest tests' durations over the runs.
    var durationSection: Markup {
        let rows = data.slowest.map { test in
            let ran = test.durations.compactMap { $0 }
            let mean = ran.reduce(0, +) / Double(max(1, ran.count))
            return Tag.element("tr", ["data-t": test.id], [
                Tag.element("td", ["class": "id"], text: test.id),
                Tag.element("td", text: Self.seconds(mean)),
                Tag.element("td", text: test.durations.last.flatMap { $0 }.map(Self.seconds) ?? "—"),
                Tag.element("td", [:], [Charts.sparkline(test.durations, label: test.id)]),
            ])
        }
        return Tag.element("section", ["id": "durations"], [
            Tag.element("h2", text: "Slowest tests: duration over the runs"),
            rows.isEmpty ? Tag.element("p", ["class": "muted"], text: "No test ran.")
                : Tag.element("table", [:], [
                    Tag.element("tr", [:], ["test", "mean", "latest", "trend (oldest left)"].map { Tag.element("th", text: $0) }),
                ] + rows),
        ])
    }

    /// The latest run's unsupported tests and their unmet requirements.
    var unsupportedSection: Markup {
        let rows = data.unsupported.map { row in
            Tag.element("tr", ["data-t": row.test], [
                Tag.element("td", ["class": "id"], text: row.test),
                Tag.element("td", [:], [Tag.element("pre", ["class": "reason"], text: row.reason)]),
            ])
        }
        return Tag.element("section", ["id": "unsupported"], [
            Tag.element("h2", text: "Unsupported in the latest run (\(data.unsupported.count))"),
            rows.isEmpty ? Tag.element("p", ["class": "muted"], text: "Every test could run on the latest run's host.")
                : Tag.element("details", ["open": rows.count <= 50 ? "" : nil], [
                    Tag.element("summary", text: "\(rows.count) test\(rows.count == 1 ? "" : "s") and their unmet requirements"),
                    Tag.element("table", [:], [Tag.element("tr", [:], ["test", "why"].map { Tag.element("th", text: $0) })] + rows),
                ]),
        ])
    }

    /// `1.25 s`, `120 ms`, `2 min 5 s`.
    static func seconds(_ value: Double) -> String {
        if value < 1 { return "\(Int((value * 1000).rounded())) ms" }
        if value < 120 { return String(format: "%.2f s", value) }
        return "\(Int(value) / 60) min \(Int(value) % 60) s"
    }
}
