import Execution
import History
import Results
import Testing

struct WhyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var outcomes: String
        var text: String
        var testDescription: String { outcomes.isEmpty ? "(none)" : outcomes }
    }

    /// Each run's state: the kernel is `6.1.0-<n>` in run r<n>, a package changes from r3 on.
    static func state(_ entry: HistoryEntry) -> SnapshotDiff.State? {
        let number = Int(entry.runID.dropFirst())!
        return SnapshotDiff.State(facts: ["kernel": "6.1.0-\(number)"], packages: ["libvirt0": number >= 3 ? "9.0.0-5" : "9.0.0-4"])
    }

    static let cases: [Case] = [
        Case(outcomes: "fp", text: "/net/virtio last passed in run r1 (kernel 6.1.0-1), first failed in r2. What changed: kernel 6.1.0-1 → 6.1.0-2"),
        // The first failure after the last pass, not the newest one.
        Case(outcomes: "ffsp", text: "/net/virtio last passed in run r1 (kernel 6.1.0-1), first failed in r3. "
             + "What changed: kernel 6.1.0-1 → 6.1.0-3; package libvirt0 9.0.0-4 → 9.0.0-5"),
        Case(outcomes: "fpf", text: "/net/virtio last passed in run r2 (kernel 6.1.0-2), first failed in r3. "
             + "What changed: kernel 6.1.0-2 → 6.1.0-3; package libvirt0 9.0.0-4 → 9.0.0-5"),
        Case(outcomes: "ff", text: "/net/virtio never passed on this host and environment (failed in all 2 runs with a verdict)"),
        Case(outcomes: "f", text: "/net/virtio never passed on this host and environment (failed in its only run with a verdict)"),
        Case(outcomes: "sb", text: "/net/virtio never passed nor failed on this host and environment (no run with a verdict)"),
        Case(outcomes: "psf", text: "/net/virtio passed in its latest run with a verdict, r3: nothing to explain"),
    ]

    @Test("the last pass, the first failure after it and what changed between them; never passed; passing", arguments: cases)
    func why(_ example: Case) {
        let why = Why(test: "/net/virtio", timeline: TestTimeline(entries(example.outcomes)), state: Self.state)
        #expect(why.text() == example.text)
    }

    @Test("a run whose state cannot be read leaves what changed unknown")
    func unknownState() {
        let why = Why(test: "/t", timeline: TestTimeline(entries("fp")), state: { _ in nil })
        #expect(why.diff == nil)
        #expect(why.text().hasSuffix("What changed is unknown: a run's state could not be read"))
        #expect(why.brief() == "since r1: unknown (a run's state could not be read)")
    }

    @Test("the brief form names the last pass and at most `limit` changes")
    func brief() {
        let why = Why(test: "/t", timeline: TestTimeline(entries("ffsp")), state: Self.state)
        #expect(why.brief(limit: 1) == "since r1: kernel 6.1.0-1 → 6.1.0-3; and 1 more")
    }
}
