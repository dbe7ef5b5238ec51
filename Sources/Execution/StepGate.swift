import Catalog
import Declarations
import HostFacts
import KernelHealth
import Planning
import ProcessSupervision
import Requirements

/// Decides whether a ready step may start, and if not, what it ends as.
///
/// One function, `decide`, in this order: a failed or blocked dependency
/// blocks it (naming the setup at the root), an interrupt or a halt
/// (`--halt-on-infra`) stops it, a test's environment too large or a failed
/// restore blocks it, and a promise a setup did not keep blocks it. A
/// teardown runs when its setup started, unless everything is being killed.
struct StepGate: Sendable {
    let plan: Plan
    let facts: any FactSource
    let interruption: Interruption
    /// The run's base environment, for the size of a test's environment.
    let base: EnvironmentBlock

    /// What the run loop does with a ready step.
    enum Decision {
        /// It does not start: this is how it ends.
        case skip(Completion)
        /// It starts; `exclusive`: alone (no other step runs meanwhile).
        case launch(exclusive: Bool)
    }

    /// Whether step `index`, ready (its dependencies are done), may start now.
    func decide(_ index: Int, _ state: ExecutionState) -> Decision {
        let step = plan.steps[index]
        let interrupted = interruption.interrupted
        switch step.kind {
        case .teardown(let name), .testTeardown(let name, _):
            let setupIndex = state.setupStep(of: index)
            let started = setupIndex.map { state.started.contains($0) } ?? false
            guard started, !interruption.hardStopped, plan.setups[name]?.teardown != nil else {
                return .skip(.teardownSkipped(index))
            }
            return .launch(exclusive: false)
        case .setup(let name), .testSetup(let name, _):
            let test: String? = if case .testSetup(_, let t) = step.kind { t } else { nil }
            if let (_, root) = state.firstFailure(among: step.dependencies), !interrupted {
                return .skip(.setup(index, SetupResult(name: name, test: test, phase: .setup, outcome: .blocked,
                                                       reason: "comes after setup \(root), which failed"),
                                    exports: [:], started: false, blockedBy: root))
            }
            if interrupted || state.haltedBy != nil {
                let reason = interrupted ? "the run was interrupted before it started"
                    : state.unhealthy.map { "not run: the host became unhealthy: \($0)" } ?? "the run halted after \(state.haltedBy!) failed"
                return .skip(.setup(index, SetupResult(name: name, test: test, phase: .setup, outcome: .interrupted, reason: reason),
                                    exports: [:], started: false))
            }
            return .launch(exclusive: false)
        case .test(let id):
            let planned = state.planned[id]!
            if let (dependency, root) = state.firstFailure(among: step.dependencies), !interrupted {
                let direct = state.setupName(of: dependency)
                let chain = direct == root ? "setup \(root) failed" : "setup \(direct) did not run because setup \(root) failed"
                return .skip(.test(index, TestResult(id: id, outcome: .blocked, reason: chain, blockedBy: root)))
            }
            if interrupted || state.haltedBy != nil {
                let reason = interrupted ? "the run was interrupted before it started"
                    : state.unhealthy.map { "not run: the host became unhealthy: \($0)" }
                    ?? "not run: the run halted after setup \(state.haltedBy!) failed (--halt-on-infra)"
                return .skip(.test(index, TestResult(id: id, outcome: .interrupted, reason: reason)))
            }
            if let tooLarge = environmentTooLarge(for: index, state) {
                return .skip(.test(index, tooLarge.blocking(id)))
            }
            if state.restoreFailed {
                return .skip(.test(index, TestResult(id: id, outcome: .blocked,
                    reason: "the environment's restore failed, so this host is not pristine", blockedBy: "restore")))
            }
            if let broken = brokenPromise(of: planned, exportedPath: planned.promises.isEmpty ? nil : state.inputExports(for: index)["PATH"]) {
                return .skip(.test(index, broken))
            }
            // A test that dirties the host runs alone: no other test may see the dirt
            // before the restore (nor dirty the host under it).
            return .launch(exclusive: planned.test.exclusive || planned.test.dirties)
        }
    }

    /// A setup ran on a promise: checks it was kept (`Plan.verify`: facts a
    /// probe can tell are probed again; tags no probe knows are taken on the
    /// setup's word).
    /// - Parameters:
    ///   - planned: the test about to start.
    ///   - exportedPath: the PATH its setups export, along which commands are
    ///     looked up as the test will see them.
    /// - Returns: the blocked result of the first promise not kept, or nil.
    func brokenPromise(of planned: PlannedTest, exportedPath: String?) -> TestResult? {
        for promise in planned.promises {
            if case .unmet(let observed) = plan.verify(promise, against: facts, searchPath: exportedPath) {
                let host = observed.map(\.description).joined(separator: "; ")
                return TestResult(id: planned.test.id, outcome: .blocked,
                                  reason: "setup \(promise.setup) ran, but \(promise.requirement.text) is still unmet: \(host)",
                                  blockedBy: promise.setup)
            }
        }
        return nil
    }

    /// Setups whose exports each fit but together make a step's environment
    /// larger than a program can be given: the setups (by name) and the size.
    struct EnvironmentTooLarge {
        var setups: [String]
        var bytes: Int

        /// The test does not start: its setups' exports are the lab's fault, not the test's.
        func blocking(_ id: String) -> TestResult {
            let names = setups.joined(separator: ", ")
            return TestResult(id: id, outcome: .blocked,
                              reason: "not started: the exports of setups \(names) together make its environment \(bytes) bytes, "
                                  + "over the \(StepRunner.environmentLimit) bytes a program can be given on this host (ARG_MAX, "
                                  + "less room for its own variables); write large values to files and export their paths",
                              blockedBy: setups.first)
        }
    }

    /// Whether the exports a step gets from several setups are more than a
    /// program can be given (each setup's own exports were checked when it ended).
    func environmentTooLarge(for index: Int, _ state: ExecutionState) -> EnvironmentTooLarge? {
        let exports = state.inputExports(for: index)
        guard !exports.isEmpty else { return nil }
        var bytes = base.byteCount
        for (key, value) in exports { bytes += EnvironmentBlock.cost(key: key, value: value) - base.cost(of: key) }
        guard bytes > StepRunner.environmentLimit else { return nil }
        var setups: [String] = []
        for dependency in plan.steps[index].dependencies where !(state.exports[dependency] ?? [:]).isEmpty {
            let name = state.setupName(of: dependency)
            if !setups.contains(name) { setups.append(name) }
        }
        return EnvironmentTooLarge(setups: setups, bytes: bytes)
    }
}
