import History
import Testing

struct SnapshotDiffTests {
    typealias State = SnapshotDiff.State

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var old: State
        var new: State
        var texts: [String]
        var testDescription: String { name }
    }

    static let base = State(facts: ["kernel": "6.1.0-13", "arch": "x86_64", "kvm": "yes"], packages: ["libvirt0": "9.0.0-4", "qemu": "8.2"],
                            modules: ["kvm", "kvm_intel"], binaries: ["qemu-system-x86_64": "8.2.0"],
                            kernelCommandLine: "root=/dev/sda1 quiet", labels: ["qemu": "abc"],
                            suiteCommit: "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678", suiteDirty: false)

    static func changed(_ change: (inout State) -> Void) -> State {
        var state = base
        change(&state)
        return state
    }

    static let cases: [Case] = [
        Case(name: "identical states differ in nothing", old: base, new: base, texts: []),
        Case(name: "a changed fact reads bare; a fact that appeared or vanished says so",
             old: base, new: changed {
                 $0.facts["kernel"] = "6.1.0-15"
                 $0.facts["kvm"] = nil
                 $0.facts["cpu-flag:vmx"] = "yes"
             },
             texts: ["fact cpu-flag:vmx appeared (yes)", "kernel 6.1.0-13 → 6.1.0-15", "fact kvm vanished (was yes)"]),
        Case(name: "packages changed, installed and removed, sorted by name",
             old: base, new: changed {
                 $0.packages["libvirt0"] = "9.0.0-5"
                 $0.packages["qemu"] = nil
                 $0.packages["bpftool"] = "7.1"
             },
             texts: ["package bpftool installed (7.1)", "package libvirt0 9.0.0-4 → 9.0.0-5", "package qemu removed (was 8.2)"]),
        Case(name: "modules loaded and unloaded", old: base, new: changed { $0.modules = ["kvm", "vhost_net"] },
             texts: ["module kvm_intel no longer loaded", "module vhost_net now loaded"]),
        Case(name: "binaries and labels", old: base, new: changed {
                 $0.binaries["qemu-system-x86_64"] = "9.1.0"
                 $0.labels["qemu"] = "def"
                 $0.labels["build"] = "42"
             },
             texts: ["binary qemu-system-x86_64 8.2.0 → 9.1.0", "label build appeared (42)", "label qemu abc → def"]),
        Case(name: "the kernel command line by the words that differ", old: base,
             new: changed { $0.kernelCommandLine = "root=/dev/sda1 mitigations=off" },
             texts: ["kernel command line +mitigations=off −quiet"]),
        Case(name: "the suite commit, short, and dirty", old: base,
             new: changed {
                 $0.suiteCommit = "4d5e6f708192a3b4c5d6e7f8091234567890abcd"
                 $0.suiteDirty = true
             },
             texts: ["suite commit 1a2b3c4 → 4d5e6f7 (dirty)"]),
        Case(name: "the same commit made dirty", old: base, new: changed { $0.suiteDirty = true },
             texts: ["suite commit 1a2b3c4 → 1a2b3c4 (dirty)"]),
        Case(name: "a suite no longer in git", old: base, new: changed {
                 $0.suiteCommit = nil
                 $0.suiteDirty = nil
             },
             texts: ["suite commit 1a2b3c4 → none"]),
        Case(name: "empty values are shown: \"\" for a label, present for a fact without a value (a tag)", old: base,
             new: changed {
                 $0.labels["qemu"] = ""
                 $0.labels["empty"] = ""
                 $0.facts["MY_LAB_SWITCH"] = ""
             },
             texts: ["fact MY_LAB_SWITCH appeared (present)", "label empty appeared (\"\")", "label qemu abc → \"\""]),
        Case(name: "a tag that vanished", old: changed { $0.facts["MY_LAB_SWITCH"] = "" }, new: base,
             texts: ["fact MY_LAB_SWITCH vanished (was present)"]),
        Case(name: "a run without snapshot (recorded before snapshots were) compares nothing",
             old: State(labels: ["qemu": "abc"], hasSnapshot: false), new: changed { $0.labels["qemu"] = "def" }, texts: []),
        Case(name: "sections in order: facts, packages, modules, binaries, command line, labels, commit", old: base,
             new: changed {
                 $0.suiteDirty = true
                 $0.labels["qemu"] = "x"
                 $0.kernelCommandLine = nil
                 $0.binaries = [:]
                 $0.modules = []
                 $0.packages["qemu"] = "9"
                 $0.facts["arch"] = "aarch64"
             },
             texts: ["arch x86_64 → aarch64", "package qemu 8.2 → 9", "module kvm no longer loaded", "module kvm_intel no longer loaded",
                     "binary qemu-system-x86_64 vanished (was 8.2.0)", "kernel command line −root=/dev/sda1 −quiet", "label qemu abc → x",
                     "suite commit 1a2b3c4 → 1a2b3c4 (dirty)"]),
    ]

    @Test("every change of every section, sorted by section then name, in words", arguments: cases)
    func changes(_ example: Case) {
        let diff = SnapshotDiff(from: example.old, to: example.new)
        #expect(diff.changes.map(\.text) == example.texts)
        #expect(diff.isEmpty == example.texts.isEmpty)
    }

    @Test("the one-line summary is bounded: and N more", arguments: [(1, "; and 4 more"), (5, "(1.5)"), (10, "(1.5)")])
    func summaryBounded(limit: Int, ending: String) {
        let old = State(packages: [:])
        let new = State(packages: ["a": "1.1", "b": "1.2", "c": "1.3", "d": "1.4", "e": "1.5"])
        let summary = SnapshotDiff(from: old, to: new).summary(limit: limit)
        #expect(summary.hasSuffix(ending))
        #expect(summary.hasPrefix("package a installed (1.1)"))
    }

    @Test("the lines are grouped under section titles, each section bounded")
    func lines() {
        let old = State(facts: ["kernel": "1"], packages: [:])
        let new = State(facts: ["kernel": "2"], packages: ["a": "1", "b": "1", "c": "1"], labels: ["x": "y"])
        #expect(SnapshotDiff(from: old, to: new).lines(perSection: 2) == [
            "facts:", "  kernel 1 → 2", "packages:", "  package a installed (1)", "  package b installed (1)", "  and 1 more",
            "labels:", "  label x appeared (y)",
        ])
        #expect(SnapshotDiff(from: old, to: old).lines() == ["nothing recorded differs"])
    }

    @Test("a run without snapshot is said", arguments: [(false, true, "the older run"), (true, false, "the newer run"), (false, false, "neither run")])
    func missingSnapshot(oldHas: Bool, newHas: Bool, words: String) {
        let diff = SnapshotDiff(from: State(facts: ["a": "1"], hasSnapshot: oldHas), to: State(facts: ["a": "2"], hasSnapshot: newHas))
        #expect(diff.isEmpty)
        #expect(diff.summary().contains(words))
        #expect(diff.lines().joined().contains(words))
    }

    @Test("long values are clipped and control characters escaped")
    func clipped() throws {
        let diff = SnapshotDiff(from: State(facts: ["x": "a"]), to: State(facts: ["x": String(repeating: "b", count: 100) + "\u{1B}"]))
        let text = try #require(diff.changes.first).text
        #expect(text.hasSuffix("…"))
        #expect(text.count < 80)
        let escaped = SnapshotDiff(from: State(labels: ["x": "a"]), to: State(labels: ["x": "b\u{1B}[31m"])).changes.first?.text
        #expect(escaped == "label x a → b\\u{1B}[31m")
    }
}
