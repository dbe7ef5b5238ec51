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

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the graph of setups, tests and teardowns in execution order.",
        discussion: """
        One step per shared setup however many tests need it, one per test, per-test \
        setups (scope: test) around their test, and teardowns after the last test that \
        needs their setup. Unsupported tests are listed apart: they get no step.

          testbed plan examples
          testbed plan examples --dot | dot -Tsvg > plan.svg
        """)

    @OptionGroup var selection: SelectionOptions
    @OptionGroup var environmentOptions: EnvironmentOptions

    @Flag(help: "Print the graph for Graphviz (dot).")
    var dot = false

    @Flag(help: "Print JSON: {\"environment\", \"steps\": [{\"id\", \"kind\", \"name\", \"test\", \"after\"}], \"unsupported\": [...]}.")
    var json = false

    struct Output: Encodable {
        struct StepOut: Encodable {
            let id: Int
            let kind: String
            let name: String
            let test: String?
            let after: [Int]
        }
        struct Skipped: Encodable {
            let id: String
            let unmet: [UnmetJSON]
        }
        let environment: String
        let steps: [StepOut]
        let unsupported: [Skipped]
    }

    func validate() throws {
        try selection.requireExistingPaths()
        try environmentOptions.requireExistingFile(suite: selection.suitePaths)
        if dot && json { throw ValidationError("--dot and --json cannot be used together; choose one") }
    }

    func run() async throws {
        let environment = try environmentOptions.load(suite: selection.suitePaths)
        let plan = try await selection.resolve(in: environment)
        if dot {
            emit(plan.dot())
        } else if json {
            emit(encodeJSON(Output(
                environment: plan.environment,
                steps: plan.steps.map { step in
                    let (name, test): (String, String?) = switch step.kind {
                    case .setup(let n), .teardown(let n): (n, nil)
                    case let .testSetup(s, t), let .testTeardown(s, t): (s, t)
                    case .test(let id): (id, id)
                    }
                    return .init(id: step.id + 1, kind: step.kindName, name: name, test: test,
                                 after: step.dependencies.map { $0 + 1 })
                },
                unsupported: plan.tests.compactMap { test in
                    test.status.unmet.isEmpty ? nil : .init(id: test.test.id, unmet: test.status.unmet.map(UnmetJSON.init))
                })))
        } else {
            emit(Self.render(plan, suite: selection.suitePaths.firstLineLabel(colon: false), style: .standard))
        }
        if plan.tests.isEmpty { throw ExitCode(ExitPolicy.standard.nothingSelected) }
    }

    static func render(_ plan: Plan, suite: String? = nil, style: Style) -> String {
        let setups = plan.steps.filter { $0.kindName == "setup" }.count
        let teardowns = plan.steps.filter { $0.kindName == "teardown" }.count
        let tests = plan.steps.count - setups - teardowns
        var out = style.bold("plan for environment \(plan.environment.escapingControls)") + (suite.map { ", \($0)" } ?? "")
            + ": \(plan.steps.count) steps (\(setups) setup\(setups == 1 ? "" : "s"), \(tests) test\(tests == 1 ? "" : "s"), "
            + "\(teardowns) teardown\(teardowns == 1 ? "" : "s"))\n\n"
        let numberWidth = String(plan.steps.count).count
        let labelWidth = min(56, (plan.steps.map(\.label.count).max() ?? 10) + 2)
        for step in plan.steps {
            let number = String(step.id + 1)
            var line = String(repeating: " ", count: numberWidth - number.count) + number + "  "
            line += step.kindName.padded(10) + step.label.escapingControls
            if !step.dependencies.isEmpty {
                let after = "after " + step.dependencies.map { String($0 + 1) }.joined(separator: ", ")
                line = line.padded(numberWidth + 12 + labelWidth) + style.dim(after)
            }
            out += line + "\n"
        }
        let unsupported = plan.tests.filter { !$0.status.unmet.isEmpty }
        if !unsupported.isEmpty {
            out += "\n" + style.red("not planned: \(unsupported.count) unsupported") + "\n"
            for test in unsupported {
                out += "  \(test.test.id.escapingControls)\n"
                for unmet in test.status.unmet { out += "      \(unmet.description.escapingControls)\n" }
            }
        }
        return out
    }
}
