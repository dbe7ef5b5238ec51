import ArgumentParser
import Catalog
import Execution
import Foundation
import Grid
import Planning
import Results

/// What `check --grid` and `run --grid` share: the grid's nodes from Slurm, their enrolments from the store, and
/// the placement of the selected tests over them.
struct GridPlacementLoader {
    /// The Slurm grid.
    let slurm: Slurm
    /// The store the enrolments are in.
    let store: any RunStore

    /// Every node of the grid with its enrolment (matched by name).
    ///
    /// - Returns: the hosts, in Slurm's order, and the nodes by name.
    /// - Throws: `CommandFailure` when Slurm or the store cannot be asked.
    func hosts() throws -> (hosts: [PlacementHost], nodes: [String: GridNode]) {
        let nodes: [GridNode]
        do { nodes = try slurm.nodes() } catch { throw gridFailure(error) }
        let enrolled: [EnrolledHost]
        do { enrolled = try store.enrolledHosts() } catch {
            throw CommandFailure(error.description, status: ExitPolicy.infrastructureFailure)
        }
        let byName = Dictionary(enrolled.map { ($0.name, $0) }) { first, _ in first }
        let hosts = nodes.map { node in
            PlacementHost(name: node.name, status: node.status, features: node.availableFeatures,
                          enrolment: byName[node.name].map { (facts: $0.facts, enrolled: $0.enrolled, environment: $0.environment) })
        }
        return (hosts, Dictionary(nodes.map { ($0.name, $0) }) { first, _ in first })
    }

    /// The placement of the selected tests.
    ///
    /// - Parameters:
    ///   - catalog: the suite.
    ///   - selection: which tests.
    ///   - policy: the exit codes (invalid declarations).
    /// - Returns: the placement and the nodes by name.
    /// - Throws: `CommandFailure` when Slurm or the store cannot be asked, or the suite cannot be planned.
    func place(_ catalog: SuiteCatalog, selection: TestSelection, policy: ExitPolicy) throws -> (GridPlacement, [String: GridNode]) {
        let (hosts, nodes) = try hosts()
        do {
            return (try GridPlacement.place(catalog: catalog, selection: selection, hosts: hosts), nodes)
        } catch {
            throw CommandFailure(error.description, status: policy.invalidDeclarations)
        }
    }
}
