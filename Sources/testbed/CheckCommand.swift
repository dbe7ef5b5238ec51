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
        if counts.runnable > 0 {
            out.append(contentsOf: ("\n" + style.green("runnable (\(counts.runnable))") + "\n").utf8)
            for test in plan.tests {
                guard case .runnable = test.status else { continue }
                out.append(contentsOf: "  ".utf8)
                out.append(contentsOf: test.test.id.utf8)
                out.append(UInt8(ascii: "\n"))
            }
        }
        if counts.needsSetup > 0 {
            out.append(contentsOf: ("\n" + style.yellow("needs setup (\(counts.needsSetup))") + "\n").utf8)
            for test in plan.tests {
                guard case .needsSetup(let setups) = test.status else { continue }
                out.append(contentsOf: "  ".utf8)
                out.append(contentsOf: test.test.id.utf8)
                let used = test.test.id.displayWidth + 2
                if used + 2 > width + 2 {
                    out.append(UInt8(ascii: "\n"))
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width + 2))
                } else {
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width + 2 - used))
                }
                out.append(contentsOf: "after ".utf8)
                for (index, setup) in setups.enumerated() {
                    if index > 0 { out.append(contentsOf: ", ".utf8) }
                    out.append(contentsOf: setup.utf8)
                }
                out.append(UInt8(ascii: "\n"))
            }
        }
        if counts.unsupported > 0 {
            out.append(contentsOf: ("\n" + style.red("unsupported (\(counts.unsupported))") + "\n").utf8)
            for test in plan.tests {
                guard case .unsupported(let unmet) = test.status else { continue }
                out.append(contentsOf: "  ".utf8)
                out.append(contentsOf: test.test.id.utf8)
                out.append(UInt8(ascii: "\n"))
                for reason in unmet {
                    out.append(contentsOf: "      ".utf8)
                    out.append(contentsOf: reason.reason.utf8)
                    out.append(UInt8(ascii: "\n"))
                }
            }
        }
        out.append(contentsOf: "\n\(counts.runnable) runnable, \(counts.needsSetup) need setup, \(counts.unsupported) unsupported".utf8)
        out.append(contentsOf: " (\(plan.tests.count) test\(plan.tests.count == 1 ? "" : "s"))\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
