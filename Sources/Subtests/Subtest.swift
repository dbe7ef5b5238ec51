/// What became of one subtest, as its test's output reports it. Few on purpose: every protocol maps onto these four.
///
/// - TAP and KTAP: `ok` is `pass`, `not ok` is `fail`; `# SKIP` is `skip` (either way); `not ok … # TODO` and KTAP's
///   `# XFAIL` are `xfail`, an `ok … # TODO` is `pass`; KTAP's `# TIMEOUT` and `# ERROR` are `fail`.
/// - kvm-unit-tests: `PASS` is `pass`; `FAIL` and `XPASS` are `fail` (kvm-unit-tests counts an unexpected pass as a
///   failure); `XFAIL` and `KFAIL` are `xfail`; `SKIP` is `skip`.
/// - GoogleTest: `[       OK ]` is `pass`, `[  FAILED  ]` is `fail`, `[  SKIPPED ]` is `skip`.
public enum SubtestOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    /// It passed.
    case pass
    /// It failed (or never reported a result its plan promised).
    case fail
    /// It was skipped.
    case skip
    /// An expected failure: it failed, and its output says that is known (TAP `# TODO`, `XFAIL`).
    case xfail
}

/// One subtest a test's output reported.
public struct Subtest: Sendable, Hashable, Codable {
    /// Its name; a nested subtest's name is its parents' names and its own joined with `/` (`suite/case`).
    public var name: String
    /// What became of it.
    public var outcome: SubtestOutcome
    /// Why: a `# SKIP`/`# TODO` directive's text, a failure's message, or the report line itself; nil when none.
    public var reason: String?
    /// Its place among the test's recorded subtests, from 1, in the order they were reported.
    public var ordinal: Int

    /// A subtest.
    /// - Parameters:
    ///   - name: Its name (nested names joined with `/`).
    ///   - outcome: What became of it.
    ///   - reason: Why, when the output says.
    ///   - ordinal: Its place among the test's subtests, from 1.
    public init(name: String, outcome: SubtestOutcome, reason: String? = nil, ordinal: Int = 0) {
        self.name = name
        self.outcome = outcome
        self.reason = reason
        self.ordinal = ordinal
    }
}

/// How many subtests ended each way: every one reported, those beyond `SubtestStream.maximumKept` too.
public struct SubtestCounts: Sendable, Hashable, Codable {
    /// Passed.
    public var pass = 0
    /// Failed.
    public var fail = 0
    /// Skipped.
    public var skip = 0
    /// Expected failures.
    public var xfail = 0

    /// No subtests.
    public init() {}

    /// Counts as given.
    /// - Parameters:
    ///   - pass: Passed.
    ///   - fail: Failed.
    ///   - skip: Skipped.
    ///   - xfail: Expected failures.
    public init(pass: Int, fail: Int, skip: Int, xfail: Int = 0) {
        self.pass = pass
        self.fail = fail
        self.skip = skip
        self.xfail = xfail
    }

    /// The counts of `subtests`.
    /// - Parameter subtests: Subtests.
    public init(_ subtests: some Sequence<Subtest>) {
        for subtest in subtests { add(subtest.outcome) }
    }

    /// Counts one more subtest.
    /// - Parameter outcome: Its outcome.
    public mutating func add(_ outcome: SubtestOutcome) {
        switch outcome {
        case .pass: pass += 1
        case .fail: fail += 1
        case .skip: skip += 1
        case .xfail: xfail += 1
        }
    }

    /// All of them.
    public var total: Int { pass + fail + skip + xfail }
}
