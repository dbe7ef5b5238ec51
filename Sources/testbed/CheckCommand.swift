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
        var out = style.bold("environment: \(plan.environment)") + (description.map { " (\($0))" } ?? "") + "\n"
        guard !plan.tests.isEmpty else {
            return out + "no tests selected; check the suite path, --tag and --id\n"
        }
        var runnable: [PlannedTest] = [], needsSetup: [PlannedTest] = [], unsupported: [PlannedTest] = []
        var longest = 0
        for test in plan.tests {
            switch test.status {
            case .runnable: runnable.append(test)
            case .needsSetup: needsSetup.append(test)
            case .unsupported: unsupported.append(test)
            }
            longest = max(longest, test.test.id.displayWidth)
        }
        let width = min(48, longest + 2)
        out.reserveCapacity(plan.tests.count * (width + 24))
        if !runnable.isEmpty {
            out += "\n" + style.green("runnable (\(runnable.count))") + "\n"
            for test in runnable {
                out += "  "
                out += test.test.id
                out += "\n"
            }
        }
        if !needsSetup.isEmpty {
            out += "\n" + style.yellow("needs setup (\(needsSetup.count))") + "\n"
            let blank = String(repeating: " ", count: width + 2)
            for test in needsSetup {
                out += "  "
                out += test.test.id
                let used = test.test.id.displayWidth + 2
                if used + 2 > width + 2 {
                    out += "\n"
                    out += blank
                } else {
                    out += blank.prefix(width + 2 - used)
                }
                out += "after "
                for (index, setup) in test.status.setups.enumerated() {
                    if index > 0 { out += ", " }
                    out += setup
                }
                out += "\n"
            }
        }
        if !unsupported.isEmpty {
            out += "\n" + style.red("unsupported (\(unsupported.count))") + "\n"
            for test in unsupported {
                out += "  \(test.test.id)\n"
                for unmet in test.status.unmet { out += "      \(unmet.reason)\n" }
            }
        }
        let counts = plan.counts
        out += "\n\(counts.runnable) runnable, \(counts.needsSetup) need setup, \(counts.unsupported) unsupported"
        out += " (\(plan.tests.count) test\(plan.tests.count == 1 ? "" : "s"))\n"
        return out
    }
}
