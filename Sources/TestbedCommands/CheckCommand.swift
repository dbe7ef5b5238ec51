import ArgumentParser
import Catalog
import Declarations
import Execution
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Reporting
import Requirements
import Results

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Tell which tests suit this host, without running anything.",
        discussion: """
        Every selected test is runnable, needs setup (and which setups, found through \
        `setup:` or through a setup that `provides` a missing fact), or unsupported with \
        one reason per unmet requirement and this host's actual value. A test's variants \
        are listed under its id, each with its status.

          testbed check examples
          testbed check --environment environments/lab-r420.yaml examples
          testbed check examples --tag migration --json
          testbed check --grid slurm examples

        With --grid slurm the answer is per node of the Slurm grid, from what \
        `testbed hosts enroll` recorded of each (its facts) and the node's Slurm \
        features now (each a tag): for each test the nodes that can run it, and \
        for every other node its unmet requirements with that node's value. \
        Halted and offline nodes are shown with their status; a node never \
        enrolled cannot run anything until it is. With --json: {"nodes": [{"name", \
        "status", "detail", "enrolled", "usable"}], "tests": [{"id", "candidates": \
        [{"node", "setups"}], "refusals": [{"node", "unmet": [{"requirement", "reason"}]}]}]}.

        Exit codes: 0 tests were selected, 2 the file descriptor limit is under 64 \
        (ulimit -n), 4 nothing selected, 64 bad command line, 65 invalid declarations.
        """)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var environmentOptions: EnvironmentOptions
    @OptionGroup var gridOptions: GridCheckOptions

    func validate() throws {
        try selection.requireExistingPaths()
        try environmentOptions.requireExistingFile(suite: selection.suitePaths)
    }

    @Flag(help: ArgumentHelp("Print JSON: {\"environment\", \"tests\": [{\"id\", \"test\", \"variant\", \"status\", \"setups\", \"unmet\": "
        + "[{\"requirement\", \"reason\"}], \"notes\"}]}."))
    var json = false

    struct Output: Encodable {
        struct Test: Encodable {
            let id: String
            /// The test's id without its variant (the id itself for a test without variants).
            let test: String
            /// A variant's axes and values (the id keeps their order); absent for a test without variants.
            let variant: [String: String]?
            let status: String
            let setups: [String]
            let unmet: [UnmetJSON]
            /// Things worth knowing that do not change the status (a program that does not exist yet).
            let notes: [String]
        }
        let environment: String
        let tests: [Test]
    }

    func run() async throws {
        if gridOptions.grid != nil { return try await checkGrid() }
        let environment = try environmentOptions.load(suite: selection.suitePaths)
        let (catalog, plan) = try await selection.resolveCatalog(in: environment, steps: false)
        let notes = Self.notes(plan)
        if json {
            emit(encodeJSON(Output(environment: plan.environment, tests: plan.tests.enumerated().map { index, test in
                .init(id: test.test.id, test: test.test.baseID,
                      variant: test.test.variant.map { Dictionary($0.values.map { ($0.axis, $0.value) }) { $1 } },
                      status: test.status.name, setups: test.status.setups, unmet: test.status.unmet.map(UnmetJSON.init),
                      notes: notes[index].map { [$0] } ?? [])
            })))
        } else {
            emit(Self.render(plan, description: environment.description, suite: selection.suitePaths.firstLineLabel(catalog: catalog),
                             notes: notes, nothingSelected: selection.nothingSelectedMessage(catalog), style: .standard))
        }
        if plan.tests.isEmpty { throw ExitCode(ExitPolicy.standard.nothingSelected) }
    }

    /// A note for each test (by index) whose command starts with a relative
    /// path that does not exist yet (a setup may build it) or is not
    /// executable, or that is a drop-in without a `#!` line (`ProgramLookup`).
    static func notes(_ plan: Plan) -> [Int: String] {
        let lookup = ProgramLookup()
        var notes: [Int: String] = [:]
        for index in plan.tests.indices {
            if let note = lookup.note(for: plan.tests[index].test) { notes[index] = note }
        }
        return notes
    }

    static func render(_ plan: Plan, description: String?, suite: String? = nil, notes: [Int: String] = [:],
                       nothingSelected: String? = nil, style: Style) -> String {
        // Reasons quote what the host said (a `file:` fact's contents, a program's
        // --version line): shown escaped, as run and report show them.
        let head = style.bold("environment: \(plan.environment.escapingControls)") + (description.map { " (\($0.escapingControls))" } ?? "")
            + (suite.map { ", \($0)" } ?? "") + "\n"
        guard !plan.tests.isEmpty else {
            return head + (nothingSelected ?? "no tests selected; check the suite path, --tag, --id and -k") + "\n"
        }
        var longest = 0
        // A variant is shown in its test's group, by its suffix (`[machine=pc]`), not in the status sections.
        var variantGroups: [String: [Int]] = [:]
        var groupOrder: [String] = []
        var plainCounts = (runnable: 0, needsSetup: 0, unsupported: 0)
        for (index, test) in plan.tests.enumerated() {
            if let variant = test.test.variant {
                if variantGroups[variant.baseID] == nil { groupOrder.append(variant.baseID) }
                variantGroups[variant.baseID, default: []].append(index)
                longest = max(longest, variant.suffix.displayWidth + 2)
                continue
            }
            longest = max(longest, test.test.id.displayWidth)
            switch test.status {
            case .runnable: plainCounts.runnable += 1
            case .needsSetup: plainCounts.needsSetup += 1
            case .unsupported: plainCounts.unsupported += 1
            }
        }
        let width = min(48, longest + 2)
        let counts = plan.counts
        // Bytes, not String appends: 100,000 lines of small pieces.
        var out: [UInt8] = []
        out.reserveCapacity(head.utf8.count + plan.tests.count * (width + 24))
        out.append(contentsOf: head.utf8)
        func heading(_ title: String) { out.append(contentsOf: ("\n" + title + "\n").utf8) }
        func line(_ indent: String, _ text: String, end: Bool = true) {
            out.append(contentsOf: indent.utf8)
            out.append(contentsOf: text.utf8)
            if end { out.append(UInt8(ascii: "\n")) }
        }
        func note(_ index: Int) {
            if !notes.isEmpty, let note = notes[index] { line("      ", style.dim("note: " + note.escapingControls)) }
        }
        func setupsColumn(_ setups: [String], used: Int) {
            // The setups in a column; an id too long for it gets a line of its own.
            if used > width {
                out.append(UInt8(ascii: "\n"))
                out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width + 2))
            } else {
                out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width + 2 - used))
            }
            line("after ", setups.joined(separator: ", ").escapingControls)
        }
        if plainCounts.runnable > 0 {
            heading(style.green("runnable (\(plainCounts.runnable))"))
            for (index, test) in plan.tests.enumerated() where test.test.variant == nil {
                if case .runnable = test.status {
                    line("  ", test.test.id)
                    note(index)
                }
            }
        }
        if plainCounts.needsSetup > 0 {
            heading(style.yellow("needs setup (\(plainCounts.needsSetup))"))
            for (index, test) in plan.tests.enumerated() where test.test.variant == nil {
                guard case .needsSetup(let setups) = test.status else { continue }
                line("  ", test.test.id, end: false)
                setupsColumn(setups, used: test.test.id.displayWidth + 2)
                note(index)
            }
        }
        if plainCounts.unsupported > 0 {
            heading(style.red("unsupported (\(plainCounts.unsupported))"))
            for (index, test) in plan.tests.enumerated() where test.test.variant == nil {
                guard case .unsupported(let unmet) = test.status else { continue }
                line("  ", test.test.id)
                for reason in unmet { line("      ", reason.description.escapingControls) }
                note(index)
            }
        }
        // Each test with variants: its id, then each variant's suffix with its status (and setups or reasons).
        for base in groupOrder {
            let indices = variantGroups[base] ?? []
            var tally = (runnable: 0, needsSetup: 0, unsupported: 0)
            for index in indices {
                switch plan.tests[index].status {
                case .runnable: tally.runnable += 1
                case .needsSetup: tally.needsSetup += 1
                case .unsupported: tally.unsupported += 1
                }
            }
            let parts = [(tally.runnable, "runnable"), (tally.needsSetup, "need setup"), (tally.unsupported, "unsupported")]
                .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
            heading(style.bold(base.escapingControls) + " (\(indices.count) variant\(indices.count == 1 ? "" : "s"): "
                    + parts.joined(separator: ", ") + ")")
            for index in indices {
                let test = plan.tests[index]
                let suffix = test.test.variant?.suffix ?? test.test.id
                line("  ", suffix, end: false)
                let used = suffix.displayWidth + 2
                switch test.status {
                case .runnable:
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: max(1, width + 2 - used)))
                    line("", style.green("runnable"))
                case .needsSetup(let setups):
                    setupsColumn(setups, used: used)
                case .unsupported(let unmet):
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: max(1, width + 2 - used)))
                    line("", style.red("unsupported"))
                    for reason in unmet { line("      ", reason.description.escapingControls) }
                }
                note(index)
            }
        }
        out.append(contentsOf: "\n\(counts.runnable) runnable, \(counts.needsSetup) need setup, \(counts.unsupported) unsupported".utf8)
        out.append(contentsOf: " (\(plan.tests.count) test\(plan.tests.count == 1 ? "" : "s"))\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}

/// An unmet requirement as `check --json` and `plan --json` show it:
/// `{"requirement": "qemu >= 8.2", "reason": "needs qemu >= 8.2; this host has 7.2.9"}`.
struct UnmetJSON: Encodable {
    let requirement: String
    let reason: String

    init(_ unmet: Unmet) {
        requirement = unmet.requirement
        reason = unmet.description
    }
}
