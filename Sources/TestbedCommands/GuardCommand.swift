import ArgumentParser
import Catalog
import Declarations
import Execution
import HostFacts
import Planning
import ProcessSupervision
import Reporting
import Requirements
import Results

/// `testbed guard PREFIX`: started by `testbed run`, not by users. Reads its
/// stdin (a pipe from the run: `+PID STARTTIME` / `-PID` lines naming
/// untagged processes of the run) until it closes, then kills every process
/// tagged with the run's id, every process named, and their descendants:
/// what a run that was killed outright left behind.
struct GuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard",
        abstract: "Kill what a run left behind once the run is gone (started by `testbed run`).",
        shouldDisplay: false)

    @Argument(help: "The tag prefix of the run's processes (RUN-ID/).")
    var prefix: String

    func run() throws {
        guard prefix.hasSuffix("/"), prefix.count > 1 else {
            throw ValidationError("the prefix must be a run id followed by /")
        }
        _ = RunGuard.watch(prefix: prefix)
    }
}
