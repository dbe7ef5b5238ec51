import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Requirements

/// What the executor reports as a run goes; the console, the results store
/// and the report writers listen (they are `Recorder`s).
public enum RunEvent: Sendable {
    /// Before anything runs: every selected test, and the facts of the environment.
    case started(RunInfo)
    /// A step began: its id in the plan (`Step.id`) and what it is; `logPath`
    /// is relative to the run directory.
    case stepStarted(id: Int, kind: Step.Kind, logPath: String?)
    /// A test has its verdict (unsupported tests get theirs at `started`);
    /// `step` is the id of its step in the plan (nil for a verdict no step gave).
    case testFinished(TestResult, step: Int? = nil)
    /// A setup, teardown or restore finished (or was skipped as blocked/interrupted);
    /// `step` is the id of its step in the plan (nil for the environment's restore).
    case setupFinished(SetupResult, step: Int? = nil)
    /// Everything is done; teardowns ran.
    case finished(RunSummary)
}

/// The run as it starts.
public struct RunInfo: Sendable {
    /// The run's id.
    public let id: String
    /// The environment the plan was resolved against.
    public let environment: String
    /// When the run started (wall clock).
    public let started: Date
    /// Absolute path of the run directory.
    public let directory: String
    /// Every selected test, in plan order.
    public let tests: [String]
    /// The verdicts decided before anything runs (unsupported tests).
    public let decided: [TestResult]
    /// The facts recorded with the run.
    public let facts: [Fact]
    /// How many steps run at once (`-j`).
    public let jobs: Int
}

/// The run as it ends.
public struct RunSummary: Sendable {
    /// The run's id.
    public let id: String
    /// When the run started (wall clock).
    public let started: Date
    /// When it ended (wall clock).
    public let finished: Date
    /// Every selected test's result, in plan order.
    public let tests: [TestResult]
    /// Every setup's, teardown's and restore's result, in the order they ended.
    public let setups: [SetupResult]
    /// Whether the run was interrupted.
    public let interrupted: Bool
    /// The first infrastructure failure that halted the run (`--halt-on-infra`), if any.
    public let haltedBy: String?

    /// How many tests failed, timed out or could not start.
    public var testFailures: Int { tests.filter(\.outcome.isTestFailure).count }
    /// How many setups, teardowns and restores failed or timed out.
    public var infrastructureFailures: Int { setups.filter(\.outcome.isInfrastructureFailure).count }

    /// The exit code of `testbed run` for this run (`ExitCodes.code`).
    /// - Parameter codes: Which set of codes (`standard` by default, or `bisect`).
    /// - Returns: The exit code; blocked tests count as infrastructure failures.
    public func exitCode(_ codes: ExitCodes = .standard) -> Int32 {
        ExitPolicy(codes).run(tests: tests.lazy.map(\.outcome), setups: setups.lazy.map(\.outcome), interrupted: interrupted)
    }
}

/// Listens to a run's events. Called in order, one event at a time.
public protocol Recorder: Sendable {
    func record(_ event: RunEvent) async
    /// Several events at once, in order (the default records them one by one).
    func record(_ events: [RunEvent]) async
}
