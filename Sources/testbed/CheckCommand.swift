import ArgumentParser
import Foundation
import Requirements
import Scheduler

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

        Exit codes: 0 tests were selected, 4 nothing selected, 64 bad command line, \
        65 invalid declarations.
        """)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var environmentOptions: EnvironmentOptions

    @Flag(help: "Print JSON: {\"environment\", \"tests\": [{\"id\", \"status\", \"setups\", \"unmet\": [{\"requirement\", \"reason\"}]}]}.")
    var json = false

    struct Output: Encodable {
        struct Test: Encodable {
            let id: String
            let status: String
            let setups: [String]
            let unmet: [Unmet]
        }
        let environment: String
        let tests: [Test]
    }

    func run() async throws {
        let environment = try environmentOptions.load()
        let plan = try await selection.resolve(in: environment, steps: false)
        if json {
            emit(encodeJSON(Output(environment: plan.environment, tests: plan.tests.map {
                .init(id: $0.test.id, status: $0.status.name, setups: $0.status.setups, unmet: $0.status.unmet)
            })))
        } else {
            emit(Self.render(plan, description: environment.description, style: .standard))
        }
        if plan.tests.isEmpty { throw ExitCode(ExitStatus.nothingSelected) }
    }

    static func render(_ plan: Plan, description: String?, style: Style) -> String {
        let head = style.bold("environment: \(plan.environment)") + (description.map { " (\($0))" } ?? "") + "\n"
        guard !plan.tests.isEmpty else {
            return head + "no tests selected; check the suite path, --tag and --id\n"
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
        if counts.runnable > 0 {
            heading(style.green("runnable (\(counts.runnable))"))
            for test in plan.tests {
                if case .runnable = test.status { line("  ", test.test.id) }
            }
        }
        if counts.needsSetup > 0 {
            heading(style.yellow("needs setup (\(counts.needsSetup))"))
            for test in plan.tests {
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
                line("after ", setups.joined(separator: ", "))
            }
        }
        if counts.unsupported > 0 {
            heading(style.red("unsupported (\(counts.unsupported))"))
            for test in plan.tests {
                guard case .unsupported(let unmet) = test.status else { continue }
                line("  ", test.test.id)
                for reason in unmet { line("      ", reason.reason) }
            }
        }
        out.append(contentsOf: "\n\(counts.runnable) runnable, \(counts.needsSetup) need setup, \(counts.unsupported) unsupported".utf8)
        out.append(contentsOf: " (\(plan.tests.count) test\(plan.tests.count == 1 ? "" : "s"))\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
