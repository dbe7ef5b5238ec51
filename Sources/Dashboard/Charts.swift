import Execution
import Foundation
import History
import Plot

/// The page's charts as inline SVG, made here (no charting library, nothing fetched).
enum Charts {
    /// One stacked bar per run (oldest left): passed, failed (code), blocked and
    /// infrastructure (lab), skipped or unsupported; each bar's title gives the counts.
    ///
    /// - Parameter runs: the runs, oldest first.
    /// - Returns: the SVG.
    static func outcomeBars(_ runs: [DashboardData.RunColumn]) -> Markup {
        let height = 90.0
        let barWidth = runs.count > 60 ? 6.0 : 12.0
        let width = max(120, Double(runs.count) * (barWidth + 2))
        let highest = Double(max(1, runs.map(\.total).max() ?? 1))
        var bars: [Markup] = []
        for (index, run) in runs.enumerated() {
            let parts: [(String, Int)] = [
                ("var(--pass)", run.counts[.pass] ?? 0),
                ("var(--fail)", run.testFailures),
                ("var(--blocked)", (run.counts[.blocked] ?? 0) + (run.counts[.interrupted] ?? 0)),
                ("var(--skip)", (run.counts[.skip] ?? 0) + (run.counts[.unsupported] ?? 0)),
            ]
            var y = height
            var rects: [Markup] = [Tag.element("title", text: "\(run.id): \(DashboardPage.counts(run.counts))"
                + (run.infrastructureFailures > 0 ? "; \(run.infrastructureFailures) infrastructure failures" : ""))]
            for (colour, count) in parts where count > 0 {
                let h = max(1, Double(count) / highest * height)
                y -= h
                rects.append(Tag.element("rect", ["x": number(Double(index) * (barWidth + 2)), "y": number(y), "width": number(barWidth),
                                                  "height": number(h), "style": "fill:\(colour)"]))
            }
            bars.append(Tag.element("g", [:], rects))
        }
        return Tag.element("svg", ["width": number(width), "height": number(height),
                                   "viewBox": "0 0 \(number(width)) \(number(height))", "role": "img", "id": "outcome-chart",
                                   "aria-label": "tests per run by outcome: passed, failed, blocked, skipped or unsupported"], bars)
    }

    /// A line of durations (oldest left; gaps where the test did not run), with the highest labelled.
    ///
    /// - Parameters:
    ///   - durations: seconds per run; nil where it did not run.
    ///   - label: the test's id, for the chart's title.
    /// - Returns: the SVG.
    static func sparkline(_ durations: [Double?], label: String) -> Markup {
        let width = 240.0
        let height = 32.0
        let highest = max(0.001, durations.compactMap { $0 }.max() ?? 0.001)
        let step = durations.count > 1 ? width / Double(durations.count - 1) : 0
        var points: [String] = []
        var dots: [Markup] = []
        for (index, duration) in durations.enumerated() {
            guard let duration else { continue }
            let x = Double(index) * step
            let y = height - 2 - duration / highest * (height - 4)
            points.append("\(number(x)),\(number(y))")
            if durations.count == 1 { dots.append(Tag.element("circle", ["cx": number(x), "cy": number(y), "r": "2"])) }
        }
        return Tag.element("svg", ["width": number(width), "height": number(height),
                                   "viewBox": "0 0 \(number(width)) \(number(height))", "role": "img", "class": "spark",
                                   "aria-label": "duration of \(label) per run, highest \(DashboardPage.seconds(highest))"], [
            Tag.element("title", text: "\(label): highest \(DashboardPage.seconds(highest))"),
            Tag.element("polyline", ["points": points.joined(separator: " "), "style": "fill:none;stroke:#0969da;stroke-width:1.5"]),
        ] + dots)
    }

    /// The fail ratio's 95% interval as a bar on 0–100%, the ratio a tick.
    ///
    /// - Parameter ratio: the ratio.
    /// - Returns: the SVG.
    static func interval(_ ratio: FailRatio) -> Markup {
        let width = 100.0
        guard let p = ratio.ratio, let interval = ratio.interval else { return .empty }
        return Tag.element("svg", ["width": "100", "height": "10", "role": "img",
                                   "aria-label": "fail ratio \(ratio.text)"], [
            Tag.element("rect", ["x": "0", "y": "3", "width": "100", "height": "4", "style": "fill:#eaeef2"]),
            Tag.element("rect", ["x": number(interval.lowerBound * width), "y": "2",
                                 "width": number(max(1, (interval.upperBound - interval.lowerBound) * width)), "height": "6",
                                 "style": "fill:#ff8182"]),
            Tag.element("rect", ["x": number(min(width - 2, p * width)), "y": "0", "width": "2", "height": "10", "style": "fill:var(--fail)"]),
        ])
    }

    /// A coordinate with at most one decimal.
    static func number(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(Int(tenths / 10)) : String(tenths / 10)
    }
}
