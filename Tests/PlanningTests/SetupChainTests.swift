@testable import Catalog
@testable import Declarations
@testable import HostFacts
@testable import Planning
@testable import Requirements
import TestSupport
import Testing

@Suite("Setup chains: bounded depth, no recursion on their length")
struct SetupChainTests {
    /// `count` setups, each after the one before (or requiring what it provides).
    func chain(_ count: Int, byProvides: Bool = false) -> [SetupDefinition] {
        (0..<count).map { i in
            byProvides
                ? setup("s\(i)", requires: i == 0 ? [] : ["f\(i - 1)"], provides: ["f\(i)"])
                : setup("s\(i)", after: i == 0 ? [] : ["s\(i - 1)"])
        }
    }

    @Test("256 setups in a row plan, each after the one it waits for")
    func longestChain() throws {
        let result = try plan([test("/t", setups: ["s255"])], chain(256))
        #expect(result.tests[0].status == .needsSetup((0..<256).map { "s\($0)" }))
    }

    @Test("a chain of 257 or of 30,000, by after or by provides: refused naming the test and the first setup past the limit",
          arguments: [(257, false), (30_000, false), (30_000, true)])
    func tooLong(count: Int, byProvides: Bool) {
        let needs = byProvides ? test("/t", requires: ["f\(count - 1)"]) : test("/t", setups: ["s\(count - 1)"])
        #expect(throws: PlanError.chainTooLong(test: "/t", setup: "s\(count - 257)", limit: 256, here)) {
            try plan([needs], chain(count, byProvides: byProvides))
        }
    }

    @Test("a ring of 30,000 setups is a cycle, found without recursion")
    func ring() {
        var setups = chain(30_000)
        setups[0] = setup("s0", after: ["s29999"])
        do {
            _ = try plan([test("/t", setups: ["s5"])], setups)
            Issue.record("a ring must be refused")
        } catch {
            guard case let .cycle(path, _)? = error as? PlanError else {
                Issue.record("\(error)")
                return
            }
            #expect(path.count == 30_001 && path.first == "s0" && path.last == "s0" && path[1] == "s29999")
        }
    }
}
