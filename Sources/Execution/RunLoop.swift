import Catalog
import Declarations
import HostFacts
import Planning
import ProcessSupervision
import Requirements

/// How a step ended, as the run loop hears it: from the step runner, or from
/// the step gate for a step that did not start.
enum Completion: Sendable {
    case test(Int, TestResult)
    case setup(Int, SetupResult, exports: [String: String], started: Bool, blockedBy: String? = nil,
               services: LeftRunning? = nil)
    case teardown(Int, SetupResult)
    case teardownSkipped(Int)
    case restore(SetupResult)
}

/// Drives a run: takes ready steps off the heap in priority order, asks the
/// step gate whether each may start, keeps at most `jobs` running (a test
/// that is exclusive or dirties the host alone, a restore after it), hands
/// a teardown what its setup left running, and handles each completion
/// (results, exports, blame, the steps it makes ready), emitting the events.
///
/// Teardowns are placed by the plan (each depends on the last step that
/// needs its setup); the loop runs one once it is ready, after a failed
/// setup and after an interrupt too.
struct RunLoop {
    let plan: Plan
    let facts: any FactSource
    let options: ExecutorOptions
    let gate: StepGate
    let runner: StepRunner
    let interruption: Interruption
    let emit: @Sendable (RunEvent) -> Void

    /// Launches every step as soon as it may start and handles each completion,
    /// until none is left to run.
    func run(_ state: inout ExecutionState) async {
        // Every step reports its completion here. Tests are started right from
        // this loop and their completions come from the launcher; setups,
        // teardowns and restores (several processes each) run as child tasks.
        let (completions, sink) = AsyncStream.makeStream(of: Completion.self)
        let runner = self.runner
        await withDiscardingTaskGroup { group in
            var finished = completions.makeAsyncIterator()
            var running = 0
            while true {
                // Launch what can run now.
                launching: while running < options.jobs && !state.exclusiveRunning {
                    if state.restorePending {
                        guard running == 0 else { break launching }
                        state.restorePending = false
                        state.exclusiveRunning = true
                        running += 1
                        let index = state.restoreCount
                        state.restoreCount += 1
                        // One started after an interrupt cleans up like a teardown: it runs to its end.
                        let interruptible = !interruption.interrupted
                        group.addTask { sink.yield(await runner.runRestore(index: index, interruptible: interruptible)) }
                        break launching
                    }
                    if let held = state.heldExclusive {
                        guard running == 0 else { break launching }
                        state.heldExclusive = nil
                        state.exclusiveRunning = true
                        running += 1
                        start(held, &state, group: &group, sink: sink)
                        break launching
                    }
                    guard let next = state.ready.popMin() else { break launching }
                    switch gate.decide(next, state) {
                    case .skip(let completion):
                        finish(completion, &state)
                    case .launch(let exclusive):
                        if exclusive && running > 0 {
                            state.heldExclusive = next
                            break launching
                        }
                        if exclusive { state.exclusiveRunning = true }
                        running += 1
                        start(next, &state, group: &group, sink: sink)
                    }
                }
                if running == 0 && state.ready.isEmpty && state.heldExclusive == nil && !state.restorePending { break }
                guard let completion = await finished.next() else { break }
                running -= 1
                state.exclusiveRunning = false
                finish(completion, &state)
            }
            sink.finish()
        }
    }

    /// Starts a step the gate let through: a test from this loop, a setup or
    /// teardown as a child task (a teardown stops what its setup left running).
    func start(_ index: Int, _ state: inout ExecutionState, group: inout DiscardingTaskGroup,
               sink: AsyncStream<Completion>.Continuation) {
        let step = plan.steps[index]
        emit(.stepStarted(id: index, kind: step.kind, logPath: nil))
        let environment = state.inputExports(for: index)
        if case .test(let id) = step.kind {
            runner.startTest(index, test: state.planned[id]!.test, environment: environment) { sink.yield($0) }
        } else {
            // A teardown stops what its setup left running, once it has run.
            let services = state.setupStep(of: index).flatMap { state.services.removeValue(forKey: $0) }
            let runner = self.runner
            group.addTask { sink.yield(await runner.runStep(index, environment: environment, services: services)) }
        }
    }

    /// Records how a step ended, emits it, and makes ready the steps that waited for it.
    func finish(_ completion: Completion, _ state: inout ExecutionState) {
        var finished: Int?
        switch completion {
        case let .test(index, result):
            state.testResults[result.id] = result
            finished = index
            emit(.testFinished(result, step: index))
            if state.planned[result.id]?.test.dirties == true,
               result.outcome != .blocked, result.outcome != .interrupted || result.started != nil,
               options.restore != nil {
                state.restorePending = true
            }
        case let .setup(index, result, exports, started, blockedBy, services):
            finished = index
            if let services { state.services[index] = services }
            state.exports[index] = state.inputExports(for: index).merging(exports) { $1 }
            if started { state.started.insert(index) }
            if result.outcome.isInfrastructureFailure {
                state.blame[index] = result.name
                if options.haltOnInfrastructureFailure && state.haltedBy == nil { state.haltedBy = result.name }
            } else if let blockedBy {
                state.blame[index] = blockedBy
            } else if result.outcome == .interrupted {
                state.blame[index] = result.name
            }
            if result.outcome == .ok || result.outcome == .satisfied, let definition = plan.setups[result.name] {
                facts.invalidate(definition.provides.map(\.name))
            }
            state.setupResults.append(result)
            emit(.setupFinished(result, step: index))
        case let .teardown(index, result):
            finished = index
            state.setupResults.append(result)
            if result.outcome.isInfrastructureFailure && options.haltOnInfrastructureFailure && state.haltedBy == nil {
                state.haltedBy = result.label
            }
            emit(.setupFinished(result, step: index))
        case .teardownSkipped(let index):
            finished = index
        case .restore(let result):
            state.setupResults.append(result)
            if result.outcome != .ok { state.restoreFailed = true }
            emit(.setupFinished(result))
        }
        if let finished {
            for dependent in state.dependents[finished] {
                state.remaining[dependent] -= 1
                if state.remaining[dependent] == 0 { state.ready.push(dependent) }
            }
        }
    }
}
