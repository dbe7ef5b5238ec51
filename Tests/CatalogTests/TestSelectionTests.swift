@testable import Catalog
@testable import Declarations
@testable import HostFacts
@testable import Requirements
import Testing

@Suite("Selection")
struct TestSelectionTests {
    @Test("tag expressions", arguments: [
        ("migration", ["migration", "quick"], true),
        ("migration", ["quick"], false),
        ("quick | smoke", ["smoke"], true),
        ("migration & !slow", ["migration", "slow"], false),
        ("migration & !slow", ["migration"], true),
        ("migration,quick", ["migration"], false),
        ("migration,quick", ["migration", "quick"], true),
        ("(kvm or tcg) and not flaky", ["tcg"], true),
        ("(kvm or tcg) and not flaky", ["tcg", "flaky"], false),
        ("!a | b & c", ["b", "c", "a"], true),
        ("!a | b & c", ["a", "b"], false),
    ])
    func tags(expression: String, tags: [String], matches: Bool) throws {
        #expect(try TagExpression(parsing: expression).matches(Set(tags)) == matches)
    }

    @Test("bad tag expressions", arguments: ["", "a &", "(a | b", "a b", "| a", ")"])
    func badTags(expression: String) {
        #expect(throws: TagExpression.ParseError.self) { try TagExpression(parsing: expression) }
    }

    @Test("parentheses nest at most 100 levels; deeper is an error naming the limit, quoting the expression cut short")
    func nesting() throws {
        let deepest = String(repeating: "(", count: 100) + "a" + String(repeating: ")", count: 100)
        #expect(try TagExpression(parsing: deepest) == .tag("a"))
        let deeper = String(repeating: "(", count: 30_000) + "a" + String(repeating: ")", count: 30_000)
        let error = try #require(throws: TagExpression.ParseError.self) { try TagExpression(parsing: deeper) }
        #expect(error.description == "invalid tag expression \"" + String(repeating: "(", count: 60)
            + "… (60001 characters)\": parentheses nest more than 100 levels deep (remove the extra ones); "
            + "write e.g. `migration & !slow` or `quick | smoke`")
    }

    @Test("a run of `!` is folded, however long: 100,000 of them is the tag, 100,001 its negation")
    func negations() throws {
        #expect(try TagExpression(parsing: String(repeating: "!", count: 100_000) + "a") == .tag("a"))
        #expect(try TagExpression(parsing: String(repeating: "!", count: 100_001) + "a") == .not(.tag("a")))
        #expect(try TagExpression(parsing: "!(!a)") == .tag("a"))
        #expect(try TagExpression(parsing: "not not not a").matches(["a"]) == false)
    }

    @Test("a chain of 100,000 `&` is one node: matching and printing it stay flat")
    func longChains() throws {
        let chain = try TagExpression(parsing: Array(repeating: "a", count: 100_000).joined(separator: " & ") + " | b")
        guard case .or(let operands) = chain, case .and(let all) = operands[0] else {
            Issue.record("\(chain)")
            return
        }
        #expect(all.count == 100_000)
        #expect(chain.matches(["a"]) && chain.matches(["b"]) && !chain.matches(["c"]))
        #expect(chain.description.count == 100_000 * 4 - 3 + 2 + 4 + 2) // "((a & … & a) | b)"
        #expect(try TagExpression(parsing: "a,b,c").description == "(a & b & c)")
    }

    @Test("control characters in a bad expression are shown escaped")
    func escapedInErrors() {
        #expect(throws: TagExpression.ParseError.self) { try TagExpression(parsing: "x)\u{1B}[2J") }
        do {
            _ = try TagExpression(parsing: "x)\u{1B}[2J\n")
        } catch {
            #expect(error.description.hasPrefix("invalid tag expression \"x)\\u{1B}[2J\\n\": unexpected `)`;"))
        }
    }

    @Test("id prefixes stop at a slash; globs cross them", arguments: [
        ("/migration", "/migration/precopy/tcp", true),
        ("migration", "/migration/precopy/tcp", true),
        ("/migration", "/migrations/x", false),
        ("/migration/", "/migration/x", true),
        ("/migration/precopy/tcp", "/migration/precopy/tcp", true),
        ("/migration/*/tcp", "/migration/precopy/tcp", true),
        ("/migration/*/tcp", "/migration/precopy/unix", false),
        ("*tcp", "/migration/precopy/tcp", true),
        ("/m*", "/migration/precopy/tcp", true),
        ("/basic/t?", "/basic/t1", true),
        // Variants: the test's id selects them all, an exact id one, a glob of the test's id too.
        ("/m/precopy", "/m/precopy[machine=pc,accel=tcg]", true),
        ("/m", "/m/precopy[machine=pc,accel=tcg]", true),
        ("/m/pre", "/m/precopy[machine=pc,accel=tcg]", false),
        ("/m/precopy[machine=pc,accel=tcg]", "/m/precopy[machine=pc,accel=tcg]", true),
        ("m/precopy[machine=pc,accel=tcg]", "/m/precopy[machine=pc,accel=tcg]", true),
        ("/m/precopy[machine=pc,accel=tcg]", "/m/precopy[machine=q35,accel=tcg]", false),
        ("/m/precopy[machine=pc]", "/m/precopy[machine=pc,accel=tcg]", false),
        ("*precopy", "/m/precopy[machine=pc,accel=tcg]", true),
        ("*precopy", "/m/precopy", true),
        ("/m/*", "/m/precopy[machine=pc,accel=tcg]", true),
        ("*tcg*", "/m/precopy[machine=pc,accel=tcg]", true),
    ])
    func ids(pattern: String, id: String, matches: Bool) {
        #expect(TestSelection.idMatches(pattern: pattern, id: id) == matches)
    }

    @Test("--id reads a catalog test's variant from its declaration, not from brackets in its id")
    func declaredVariant() {
        let location = DeclarationLocation(file: "f", line: 1)
        let variant = TestVariant(baseID: "/z", values: [.init(axis: "q", value: "1")])
        let declared = TestDefinition(id: variant.id, command: .shell("true"), directory: "/", location: location, variant: variant)
        // Made by hand: the catalog refuses such an id, but selection must not take it for a variant anyway.
        let literal = TestDefinition(id: "/z[q=1]", command: .shell("true"), directory: "/", location: location)
        for pattern in ["/z", "z", "*z"] {
            #expect(TestSelection(ids: [pattern]).matches(declared), "\(pattern)")
            #expect(!TestSelection(ids: [pattern]).matches(literal), "\(pattern)")
        }
        #expect(TestSelection(ids: ["/z[q=1]"]).matches(literal))
    }

    @Test("--variant: the same axis repeated is either, different axes all; a test without the axis is not filtered")
    func variants() {
        func test(_ values: [(String, String)]) -> TestDefinition {
            let variant = values.isEmpty ? nil : TestVariant(baseID: "/t", values: values.map { .init(axis: $0.0, value: $0.1) })
            return TestDefinition(id: variant?.id ?? "/t", command: .shell("true"), directory: "/",
                                  location: DeclarationLocation(file: "f", line: 1), variant: variant)
        }
        let pcTCG = test([("machine", "pc"), ("accel", "tcg")])
        let q35KVM = test([("machine", "q35"), ("accel", "kvm")])
        let smpOnly = test([("smp", "2")])
        let plain = test([])
        let machines = TestSelection(variants: ["machine": ["pc", "q35"]])
        #expect(machines.matches(pcTCG) && machines.matches(q35KVM))
        let both = TestSelection(variants: ["machine": ["pc"], "accel": ["tcg"]])
        #expect(both.matches(pcTCG))
        #expect(!both.matches(q35KVM))
        #expect(both.matches(smpOnly))
        #expect(both.matches(plain))
        let mixed = TestSelection(variants: ["machine": ["q35"], "accel": ["tcg"]])
        #expect(!mixed.matches(pcTCG) && !mixed.matches(q35KVM))
        let withID = TestSelection(ids: ["/t"], variants: ["accel": ["kvm"]])
        #expect(withID.matches(q35KVM) && !withID.matches(pcTCG))
    }
}

@Suite("Selection: exact ids (--ids-from)")
struct ExactIDSelectionTests {
    static func test(_ id: String, tags: [String] = [], byDefault: Bool = true) -> TestDefinition {
        TestDefinition(id: id, command: .shell("true"), tags: tags, directory: "/", location: DeclarationLocation(file: "f", line: 1),
                       selectedByDefault: byDefault)
    }

    @Test("an exact id selects that test alone: no prefix, no variant, no glob", arguments: [
        ("/a", true), ("/a/b", false), ("/a[x=1]", false), ("/ab", false),
    ])
    func exactOnly(id: String, selected: Bool) {
        #expect(TestSelection(exactIDs: ["/a"]).matches(Self.test(id)) == selected)
        // An id with glob characters in it is matched as it stands too.
        #expect(TestSelection(exactIDs: ["/*"]).matches(Self.test(id)) == false)
    }

    @Test("a variant's id, brackets and all, selects that variant")
    func variantID() {
        let selection = TestSelection(exactIDs: ["/m/precopy[accel=kvm]"])
        #expect(selection.matches(Self.test("/m/precopy[accel=kvm]")))
        #expect(!selection.matches(Self.test("/m/precopy[accel=tcg]")))
    }

    @Test("an empty list selects nothing; no list selects everything")
    func emptyList() {
        #expect(!TestSelection(exactIDs: []).matches(Self.test("/a")))
        #expect(TestSelection().matches(Self.test("/a")))
        #expect(TestSelection(exactIDs: []).selectsByID && !TestSelection().selectsByID)
    }

    @Test("exact ids and --id patterns: either selects; tags must match as well")
    func combined() throws {
        let selection = TestSelection(ids: ["/net"], exactIDs: ["/a"])
        #expect(selection.matches(Self.test("/a")) && selection.matches(Self.test("/net/tcp")))
        #expect(!selection.matches(Self.test("/b")))
        let tagged = TestSelection(tags: [try TagExpression(parsing: "quick")], exactIDs: ["/a", "/b"])
        #expect(tagged.matches(Self.test("/a", tags: ["quick"])) && !tagged.matches(Self.test("/b", tags: ["slow"])))
    }

    @Test("a test not selected by default is selected when listed")
    func nodefault() {
        #expect(TestSelection(exactIDs: ["/x86/manual"]).matches(Self.test("/x86/manual", byDefault: false)))
        #expect(!TestSelection(exactIDs: ["/x86/other"]).matches(Self.test("/x86/manual", byDefault: false)))
    }
}
