import Catalog
import Declarations
import Foundation
import HostFacts
import Planning
import ProcessSupervision
import Requirements
import Subtests

/// A test's outcome (DESIGN.md, "Outcomes").
public enum TestOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// Exited 0.
    case pass
    /// Exited non-zero (other than its skip code), or killed by a signal.
    case fail
    /// Ran past its timeout and was killed.
    case timeout
    /// Could not be started: missing, not executable, bad interpreter.
    case error
    /// The test said so itself (exit 77 unless configured).
    case skip
    /// A requirement is unmet and no setup provides it; decided before anything runs.
    case unsupported
    /// The lab, not the code: a setup it depends on failed (`blockedBy`
    /// names it), the restore failed (`restore`), Testbed found no descriptor
    /// to start it (`testbed`), or it failed while the results disk was full
    /// (`results disk`: its output could not be written).
    case blocked
    /// The run was stopped before or while it ran.
    case interrupted

    /// A test failure: counts toward exit code bit 1.
    public var isTestFailure: Bool { self == .fail || self == .timeout || self == .error }
}

/// The outcome of a setup, teardown or restore.
public enum SetupOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// It ran and exited 0.
    case ok
    /// Its check said it was already satisfied; it did not run.
    case satisfied
    /// It exited non-zero, was killed, or could not be started.
    case failed
    /// It ran past its timeout.
    case timeout
    /// A setup it comes after failed, so it did not run.
    case blocked
    /// The run was stopped before or while it ran.
    case interrupted

    /// An infrastructure failure: counts toward exit code bit 2.
    public var isInfrastructureFailure: Bool { self == .failed || self == .timeout }
}

/// Which part of a setup a result is about.
public enum SetupPhase: String, Sendable, Hashable, Codable {
    case setup
    case teardown
    /// The environment's `restore`, after a test that `dirties` the host.
    case restore
    /// The host's health (docs/kernel-health.md): a test tainted the kernel or
    /// could not be killed, or the kernel became tainted while no test ran.
    /// Its result is `failed`: the host is unhealthy and nothing new starts.
    case health
}

/// One test's result.
///
/// A run keeps several copies of its results (the executor's, the recorder's,
/// the report's): the fields most results leave empty (attempts, flaky mark,
/// subtests, kernel log, unhealthy) live in one shared, immutable box that is
/// nil when they are all empty, so a result is about half the size
/// (`bench/README.md`, "memory of a large run").
public struct TestResult: Sendable, Hashable, Codable {
    /// The test's id.
    public var id: String
    /// Its outcome.
    public var outcome: TestOutcome
    /// When it started (wall clock); nil for a test that did not run.
    public var started: Date?
    /// Seconds; 0 for a test that did not run.
    public var duration: Double
    /// Its exit status, when it exited.
    public var exitStatus: Int32?
    /// The signal that ended it, when one did.
    public var signal: Int32?
    /// Why: the skip's or failure's words, the unmet requirements, what blocked it.
    public var reason: String?
    /// The setup at the root of the infrastructure failure that blocked it,
    /// or `restore`, `testbed`, `results disk`.
    public var blockedBy: String?
    /// The test's directory in the run directory (`TESTBED_OUTPUT_DIR`, with Testbed's output.log).
    public var logDirectory: String?
    /// The rarely set fields; nil when all of them are empty.
    private var rare: Rare?

    /// The fields most results leave empty, in one immutable box (a change makes a new one).
    private final class Rare: Sendable {
        let fields: RareFields
        init(_ fields: RareFields) { self.fields = fields }
    }

    /// The values of `Rare`.
    private struct RareFields: Sendable, Hashable {
        var attempts: [TestAttempt] = []
        var flaky: FlakyMark?
        var subtests: [Subtest] = []
        var subtestCounts: SubtestCounts?
        var kernelLog: String?
        var unhealthy: String?
        static let empty = RareFields()
    }

    private var rareFields: RareFields {
        get { rare?.fields ?? .empty }
        set { rare = newValue == .empty ? nil : Rare(newValue) }
    }

    /// Its earlier attempts, first first, when it ran more than once (`--rerun-failures`); this result is the last.
    public var attempts: [TestAttempt] {
        get { rareFields.attempts }
        set { rareFields.attempts = newValue }
    }
    /// Why it is marked flaky: a failure its `flaky: K/N` forgave, or a pass on a rerun; nil otherwise.
    public var flaky: FlakyMark? {
        get { rareFields.flaky }
        set { rareFields.flaky = newValue }
    }
    /// The subtests its output reported (its `outputProtocol`), at most `SubtestStream.maximumKept`, in the order reported;
    /// empty for an `exitcode` test.
    public var subtests: [Subtest] {
        get { rareFields.subtests }
        set { rareFields.subtests = newValue }
    }
    /// How many subtests its output reported, by outcome, those not kept too; nil for an `exitcode` test (or one that did not run).
    public var subtestCounts: SubtestCounts? {
        get { rareFields.subtestCounts }
        set { rareFields.subtestCounts = newValue }
    }
    /// The kernel log records written while it ran (its `kmsg.log`), one a line in dmesg's form, at most
    /// `TestResult.kernelLogLimit` bytes (then a line saying how many were left out); nil when there were none or the
    /// kernel log was not read.
    public var kernelLog: String? {
        get { rareFields.kernelLog }
        set { rareFields.kernelLog = newValue }
    }
    /// Why the host became unhealthy because of this test ("/x tainted the kernel (W)"), for the run loop; nil
    /// otherwise. Not recorded with the result: the run's `health` result holds it.
    public var unhealthy: String? {
        get { rareFields.unhealthy }
        set { rareFields.unhealthy = newValue }
    }

    /// The most bytes of `kernelLog` kept with a result (the database, the JSON report): 64 KiB.
    public static let kernelLogLimit = 64 << 10

    /// A failure that counts toward the exit code: `fail`, `timeout` or
    /// `error`, unless the test's flaky policy forgave it.
    public var isCountedFailure: Bool {
        guard outcome.isTestFailure else { return false }
        if case .forgiven? = flaky { return false }
        return true
    }

    /// A test's result.
    /// - Parameters:
    ///   - id: The test's id.
    ///   - outcome: Its outcome.
    ///   - started: When it started.
    ///   - duration: How long it ran, in seconds.
    ///   - exitStatus: Its exit status, when it exited.
    ///   - signal: The signal that ended it, when one did.
    ///   - reason: Why it has this outcome.
    ///   - blockedBy: What blocked it.
    ///   - logDirectory: Its directory in the run directory.
    ///   - attempts: Its earlier attempts, first first (`--rerun-failures`).
    ///   - flaky: Why it is marked flaky, if it is.
    public init(id: String, outcome: TestOutcome, started: Date? = nil, duration: Double = 0, exitStatus: Int32? = nil,
                signal: Int32? = nil, reason: String? = nil, blockedBy: String? = nil, logDirectory: String? = nil,
                attempts: [TestAttempt] = [], flaky: FlakyMark? = nil) {
        self.id = id
        self.outcome = outcome
        self.started = started
        self.duration = duration
        self.exitStatus = exitStatus
        self.signal = signal
        self.reason = reason
        self.blockedBy = blockedBy
        self.logDirectory = logDirectory
        if !attempts.isEmpty || flaky != nil { rareFields = RareFields(attempts: attempts, flaky: flaky) }
    }

    /// Equal when every field is (the box's identity does not matter).
    /// - Parameters:
    ///   - lhs: A result.
    ///   - rhs: Another.
    /// - Returns: True when all their fields are equal.
    public static func == (lhs: TestResult, rhs: TestResult) -> Bool {
        lhs.id == rhs.id && lhs.outcome == rhs.outcome && lhs.started == rhs.started && lhs.duration == rhs.duration
            && lhs.exitStatus == rhs.exitStatus && lhs.signal == rhs.signal && lhs.reason == rhs.reason
            && lhs.blockedBy == rhs.blockedBy && lhs.logDirectory == rhs.logDirectory && lhs.rareFields == rhs.rareFields
    }

    /// Hashes every field (the box's identity does not matter).
    /// - Parameter hasher: The hasher.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(outcome)
        hasher.combine(started)
        hasher.combine(duration)
        hasher.combine(exitStatus)
        hasher.combine(signal)
        hasher.combine(reason)
        hasher.combine(blockedBy)
        hasher.combine(logDirectory)
        hasher.combine(rareFields)
    }
}

/// One setup's, teardown's or restore's result.
public struct SetupResult: Sendable, Hashable, Codable {
    /// The setup's name (`restore` for the environment's restore).
    public var name: String
    /// The test a `scope: test` setup ran for.
    public var test: String?
    /// Which part of the setup ran.
    public var phase: SetupPhase
    /// Its outcome.
    public var outcome: SetupOutcome
    /// When it started (wall clock); nil when it did not run.
    public var started: Date?
    /// How long it ran, in seconds; 0 when it did not run.
    public var duration: Double
    /// Its exit status, when it exited.
    public var exitStatus: Int32?
    /// The signal that ended it, when one did.
    public var signal: Int32?
    /// Why it has this outcome.
    public var reason: String?
    /// The log file, relative to the run directory.
    public var logPath: String?

    /// A setup's, teardown's or restore's result.
    /// - Parameters:
    ///   - name: The setup's name.
    ///   - test: The test a `scope: test` setup ran for.
    ///   - phase: Which part of the setup ran.
    ///   - outcome: Its outcome.
    ///   - started: When it started.
    ///   - duration: How long it ran, in seconds.
    ///   - exitStatus: Its exit status, when it exited.
    ///   - signal: The signal that ended it, when one did.
    ///   - reason: Why it has this outcome.
    ///   - logPath: Its log, relative to the run directory.
    public init(name: String, test: String? = nil, phase: SetupPhase, outcome: SetupOutcome, started: Date? = nil,
                duration: Double = 0, exitStatus: Int32? = nil, signal: Int32? = nil, reason: String? = nil, logPath: String? = nil) {
        self.name = name
        self.test = test
        self.phase = phase
        self.outcome = outcome
        self.started = started
        self.duration = duration
        self.exitStatus = exitStatus
        self.signal = signal
        self.reason = reason
        self.logPath = logPath
    }

    /// `guest-image`, `guest-image [/t]`, `guest-image (teardown)`.
    public var label: String {
        var text = name
        if let test { text += " [\(test)]" }
        if phase != .setup { text += " (\(phase.rawValue))" }
        return text
    }
}

extension TestResult {
    enum CodingKeys: String, CodingKey {
        case id, outcome, started, duration, exitStatus, signal, reason, blockedBy, logDirectory, attempts, flaky, subtests, subtestCounts
        case kernelLog
    }

    /// Encodes a result; `subtests` and `subtestCounts` only when it has them.
    /// - Parameter encoder: The encoder.
    /// - Throws: What the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(outcome, forKey: .outcome)
        try container.encodeIfPresent(started, forKey: .started)
        try container.encode(duration, forKey: .duration)
        try container.encodeIfPresent(exitStatus, forKey: .exitStatus)
        try container.encodeIfPresent(signal, forKey: .signal)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encodeIfPresent(blockedBy, forKey: .blockedBy)
        try container.encodeIfPresent(logDirectory, forKey: .logDirectory)
        try container.encode(attempts, forKey: .attempts)
        try container.encodeIfPresent(flaky, forKey: .flaky)
        if !subtests.isEmpty { try container.encode(subtests, forKey: .subtests) }
        try container.encodeIfPresent(subtestCounts, forKey: .subtestCounts)
        try container.encodeIfPresent(kernelLog, forKey: .kernelLog)
    }

    /// Decodes a result; one written before there were reruns (no
    /// `attempts`, no `flaky`) reads as a single attempt, not flaky.
    /// - Parameter decoder: The decoder.
    /// - Throws: `DecodingError` when a field is missing or of the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id), outcome: try container.decode(TestOutcome.self, forKey: .outcome),
                  started: try container.decodeIfPresent(Date.self, forKey: .started),
                  duration: try container.decodeIfPresent(Double.self, forKey: .duration) ?? 0,
                  exitStatus: try container.decodeIfPresent(Int32.self, forKey: .exitStatus),
                  signal: try container.decodeIfPresent(Int32.self, forKey: .signal),
                  reason: try container.decodeIfPresent(String.self, forKey: .reason),
                  blockedBy: try container.decodeIfPresent(String.self, forKey: .blockedBy),
                  logDirectory: try container.decodeIfPresent(String.self, forKey: .logDirectory),
                  attempts: try container.decodeIfPresent([TestAttempt].self, forKey: .attempts) ?? [],
                  flaky: try container.decodeIfPresent(FlakyMark.self, forKey: .flaky))
        subtests = try container.decodeIfPresent([Subtest].self, forKey: .subtests) ?? []
        subtestCounts = try container.decodeIfPresent(SubtestCounts.self, forKey: .subtestCounts)
        kernelLog = try container.decodeIfPresent(String.self, forKey: .kernelLog)
    }
}

extension TestOutcome {
    /// A verdict about the code: it ran and passed or failed.
    public var isVerdict: Bool { self == .pass || isTestFailure }
}
