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
        one reason per unmet requirement and this host's actual value.

          testbed check examples
          testbed check --environment environments/lab-r420.yaml examples
          testbed check examples --tag migration --json

        Exit codes: 0 tests were selected, 2 the file descriptor limit is under 64 \
        (ulimit -n), 4 nothing selected, 64 bad command line, 65 invalid declarations.
        """)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var environmentOptions: EnvironmentOptions

    func validate() throws {
        try selection.requireExistingPaths()
        try environmentOptions.requireExistingFile(suite: selection.suitePaths)
    }

    @Flag(help: "Print JSON: {\"environment\", \"tests\": [{\"id\", \"status\", \"setups\", \"unmet\": [{\"requirement\", \"reason\"}], \"notes\"}]}.")
    var json = false

    struct Output: Encodable {
        struct Test: Encodable {
            let id: String
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
        let environment = try environmentOptions.load(suite: selection.suitePaths)
        let (catalog, plan) = try await selection.resolveCatalog(in: environment, steps: false)
        let notes = Self.notes(plan)
        if json {
            emit(encodeJSON(Output(environment: plan.environment, tests: plan.tests.enumerated().map { index, test in
                .init(id: test.test.id, status: test.status.name, setups: test.status.setups, unmet: test.status.unmet.map(UnmetJSON.init),
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
        for test in plan.tests { longest = max(longest, test.test.id.displayWidth) }
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
        if counts.runnable > 0 {
            heading(style.green("runnable (\(counts.runnable))"))
            for (index, test) in plan.tests.enumerated() {
                if case .runnable = test.status {
                    line("  ", test.test.id)
                    note(index)
                }
            }
        }
        if counts.needsSetup > 0 {
            heading(style.yellow("needs setup (\(counts.needsSetup))"))
            for (index, test) in plan.tests.enumerated() {
                guard case .needsSetup(let setups) = test.status else { continue }
                line("  ", test.test.id, end: false)
                // The setups in a column; an id too long for it gets a line of its own.
                let used = test.test.id.displayWidth + 2
                if used > width {
                    out.append(UInt8(ascii: "\n"))
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width + 2))
                } else {
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width + 2 - used))
                }
                line("after ", setups.joined(separator: ", ").escapingControls)
                note(index)
            }
        }
        if counts.unsupported > 0 {
            heading(style.red("unsupported (\(counts.unsupported))"))
            for (index, test) in plan.tests.enumerated() {
                guard case .unsupported(let unmet) = test.status else { continue }
                line("  ", test.test.id)
                for reason in unmet { line("      ", reason.description.escapingControls) }
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
