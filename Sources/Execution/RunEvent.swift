import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Requirements

/// What the executor reports as a run goes; the console, the results store
/// and the report writers listen (they are `Recorder`s).
///
/// The store keeps every event of a run (to write it again into a database
/// a step deleted): the two big, once-a-run payloads are boxed (`indirect`),
/// so an event is the size of a test's result, not of the run's start.
public enum RunEvent: Sendable {
    /// Before anything runs: every selected test, and the facts of the environment.
    indirect case started(RunInfo)
    /// A step began: its id in the plan (`Step.id`) and what it is; `logPath`
    /// is relative to the run directory.
    case stepStarted(id: Int, kind: Step.Kind, logPath: String?)
    /// A test has its verdict (unsupported tests get theirs at `started`);
    /// `step` is the id of its step in the plan (nil for a verdict no step gave).
    case testFinished(TestResult, step: Int? = nil)
    /// A test failed on `attempt` (from 1) and runs again (`--rerun-failures`),
    /// with its `scope: test` setups; its `testFinished` comes after its last
    /// attempt, with this one among its `attempts`.
    case testRerun(TestResult, attempt: Int, step: Int?)
    /// A setup, teardown or restore finished (or was skipped as blocked/interrupted);
    /// `step` is the id of its step in the plan (nil for the environment's restore).
    case setupFinished(SetupResult, step: Int? = nil)
    /// Everything is done; teardowns ran.
    indirect case finished(RunSummary)
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
    /// The host's name (`gethostname`); nil when unknown. With `environment`
    /// it says which runs are comparable (`testbed diff`, regressions).
    public var host: String? = nil
    /// `/etc/machine-id`; nil when unreadable.
    public var machineID: String? = nil
    /// The host's state as the run started; nil when none was taken.
    public var snapshot: RunSnapshot? = nil
    /// `--label KEY=VALUE`: what is under test (`qemu=9.1.0-rc2`).
    public var labels: [String: String] = [:]
    /// The full commit hash of the suite root's git work tree; nil when it is not in one (or git is missing).
    public var suiteCommit: String? = nil
    /// Whether `git status --porcelain` printed anything; nil when the suite is not in a git work tree.
    public var suiteDirty: Bool? = nil
    /// `--rerun-failures`: how many more times a failing test runs (0: none).
    public var rerunFailures = 0
    /// The kernel's taint flags as the run started (`W`), never blamed on a test; nil when it was not
    /// tainted or the taint was not read.
    public var taintAtStart: String? = nil

    /// The run as it starts.
    ///
    /// - Parameters:
    ///   - id: the run's id.
    ///   - environment: the environment's name.
    ///   - started: when the run started.
    ///   - directory: the run directory, absolute.
    ///   - tests: every selected test, in plan order.
    ///   - decided: the verdicts decided before anything runs.
    ///   - facts: the facts recorded with the run.
    ///   - jobs: how many steps run at once.
    ///   - provenance: the host, its snapshot, the labels and the suite's revision.
    public init(id: String, environment: String, started: Date, directory: String, tests: [String], decided: [TestResult],
                facts: [Fact], jobs: Int, provenance: RunProvenance = RunProvenance()) {
        self.id = id
        self.environment = environment
        self.started = started
        self.directory = directory
        self.tests = tests
        self.decided = decided
        self.facts = facts
        self.jobs = jobs
        host = provenance.host
        machineID = provenance.machineID
        snapshot = provenance.snapshot
        labels = provenance.labels
        suiteCommit = provenance.suiteCommit
        suiteDirty = provenance.suiteDirty
    }
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

    /// How many tests failed, timed out or could not start (a failure the flaky policy forgave aside).
    public var testFailures: Int { tests.filter(\.isCountedFailure).count }
    /// How many setups, teardowns and restores failed or timed out.
    public var infrastructureFailures: Int { setups.filter(\.outcome.isInfrastructureFailure).count }

    /// The exit code of `testbed run` for this run (`ExitCodes.code`).
    /// - Parameter codes: Which set of codes (`standard` by default, or `bisect`).
    /// - Returns: The exit code; blocked tests count as infrastructure failures.
    public func exitCode(_ codes: ExitCodes = .standard) -> Int32 {
        ExitPolicy(codes).run(tests: tests, setups: setups.lazy.map(\.outcome), interrupted: interrupted)
    }
}

/// Listens to a run's events. Called in order, one event at a time.
public protocol Recorder: Sendable {
    func record(_ event: RunEvent) async
    /// Several events at once, in order (the default records them one by one).
    func record(_ events: [RunEvent]) async
}
