import Foundation

/// How long a fuzz target keeps going: `TESTBED_FUZZ_SECONDS=600 swift test
/// --filter Fuzz` runs each for ten minutes; by default (CI) one round.
/// - Parameter round: One round of the fuzz target; run at least once.
public func fuzzRounds(_ round: () async -> Void) async {
    let seconds = Double(ProcessInfo.processInfo.environment["TESTBED_FUZZ_SECONDS"] ?? "") ?? 0
    let start = Date()
    var rounds = 0
    repeat {
        await round()
        rounds += 1
    } while Date().timeIntervalSince(start) < seconds
    if seconds > 0 { print("fuzz: \(rounds) rounds in \(Int(Date().timeIntervalSince(start))) s") }
}

/// The fuzz inputs of one round: `TESTBED_FUZZ_COUNT`, default 300.
public let fuzzCount = Int(ProcessInfo.processInfo.environment["TESTBED_FUZZ_COUNT"] ?? "") ?? 300
