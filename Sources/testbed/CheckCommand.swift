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
        let plan = try await selection.resolve(in: environment)
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
        let runnable = plan.tests.filter { $0.status == .runnable }
        let needsSetup = plan.tests.filter { if case .needsSetup = $0.status { true } else { false } }
        let unsupported = plan.tests.filter { if case .unsupported = $0.status { true } else { false } }
        let width = min(48, (plan.tests.map(\.test.id.count).max() ?? 10) + 2)
        if !runnable.isEmpty {
            out += "\n" + style.green("runnable (\(runnable.count))") + "\n"
            for test in runnable { out += "  \(test.test.id)\n" }
        }
        if !needsSetup.isEmpty {
            out += "\n" + style.yellow("needs setup (\(needsSetup.count))") + "\n"
            for test in needsSetup {
                let id = "  " + test.test.id
                let setups = "after " + test.status.setups.joined(separator: ", ")
                out += id.count + 2 > width + 2 ? id + "\n" + String(repeating: " ", count: width + 2) + setups + "\n"
                                                : id.padded(width + 2) + setups + "\n"
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
