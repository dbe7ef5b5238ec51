import ArgumentParser
import Execution
import Foundation
import Grid
import Reporting
import Results

/// `check --grid slurm`'s options: the grid, and where the enrolments are.
struct GridCheckOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Answer for each node of the grid (only `slurm`: the grid SLURM_CONF names) from its "
        + "enrolment (testbed hosts enroll) instead of for this host.", valueName: "grid"))
    var grid: GridKind?

    @Option(help: ArgumentHelp("With --grid: the results directory the enrolments are in (default: ./testbed-results if "
        + "it exists, else testbed-results at the suite root).", valueName: "dir"))
    var results: String?

    @OptionGroup var database: DatabaseOptions
}

extension CheckCommand {
    /// `check --grid slurm`: per test, the nodes that can run it and, for the others, why not.
    func checkGrid() async throws {
        let catalog = try await selection.loadCatalog()
        let testSelection = try selection.selection()
        try selection.checkVariants(catalog, selection: testSelection, policy: .standard)
        let results = URL(fileURLWithPath: gridOptions.results ?? ReportCommand.defaultResults()).standardizedFileURL.path
        let store: any RunStore
        do { store = try openStore(results, database: gridOptions.database.url) } catch {
            throw CommandFailure(error.description, status: ExitPolicy.infrastructureFailure)
        }
        let (placement, _) = try GridPlacementLoader(slurm: Slurm(), store: store).place(catalog, selection: testSelection, policy: .standard)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            emit(String(decoding: (try? encoder.encode(placement)) ?? Data("{}".utf8), as: UTF8.self) + "\n")
        } else {
            emit(Self.renderGrid(placement, style: .standard))
        }
        if placement.tests.isEmpty {
            writeText("testbed: \(selection.nothingSelectedMessage(catalog))\n", to: STDERR_FILENO)
            throw ExitCode(ExitPolicy.standard.nothingSelected)
        }
    }

    /// The placement as text: the nodes, then each test with the nodes that can run it and each other node's reasons.
    ///
    /// - Parameters:
    ///   - placement: the placement.
    ///   - style: colours or not.
    /// - Returns: the text.
    static func renderGrid(_ placement: GridPlacement, style: Style) -> String {
        var out = style.bold("grid: \(placement.nodes.count) node\(placement.nodes.count == 1 ? "" : "s")") + "\n"
        for node in placement.nodes {
            let detail = node.detail.map { " (\($0.escapingControls))" } ?? ""
            out += "  \(node.name.escapingControls)  \(node.status)\(detail)\n"
        }
        var placeable = 0
        for test in placement.tests {
            out += "\n" + style.bold(test.id.escapingControls) + "\n"
            if test.candidates.isEmpty {
                out += "  " + style.red("no node can run it") + "\n"
            } else {
                placeable += 1
                var nodes: [String] = []
                for candidate in test.candidates {
                    let node = placement.nodes.first { $0.name == candidate.node }
                    var text = candidate.node.escapingControls
                    if !candidate.setups.isEmpty { text += " (after \(candidate.setups.joined(separator: ", ").escapingControls))" }
                    if node?.usable != true { text += " [\(node?.status ?? "offline")]" }
                    nodes.append(text)
                }
                out += "  " + style.green("runs on: ") + nodes.joined(separator: ", ") + "\n"
            }
            for refusal in test.refusals {
                out += "  \(refusal.node.escapingControls): "
                    + refusal.unmet.map { $0.reason }.joined(separator: "; ").escapingControls + "\n"
            }
        }
        let none = placement.tests.count - placeable
        out += "\n\(placeable) test\(placeable == 1 ? "" : "s") can run on some node, \(none) on none"
            + " (\(placement.tests.count) test\(placement.tests.count == 1 ? "" : "s"))\n"
        return out
    }
}
