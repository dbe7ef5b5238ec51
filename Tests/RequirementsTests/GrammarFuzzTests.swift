@testable import Declarations
import Foundation
@testable import HostFacts
import PropertyBased
@testable import Requirements
import TestSupport
import Testing

/// Pieces that requirements are made of, and pieces that break them.
let requirementPieces = [
    "kernel", "qemu", "root", "kvm", "cmd:", "cpu-flag:", "image:alpine", "mem", "DELL_R420", "x86_64",
    ">=", "<=", "==", "!=", ">", "<", "=", "!", "|", "+", "-", "~", ".", ":", "/", "@", "_", " ", "\t", "\n",
    "8.2", "5.10", "1.0~rc1", "7sp1", "128M", "1G", "0", "999999999999999999999999999", "since", "(", ")",
    "\"", "'", ",", "*", "é", "\u{0}", "\u{1B}", "🙂", "e\u{301}",
]

/// Pieces of version strings: numbers, words, pre-release markers, separators.
let versionPieces = ["0", "1", "2", "10", "01", "007", ".", "-", "_", "+", "~", ":", "rc", "alpha", "beta", "pre",
                     "RC", "a", "b", "sp", "amd64", "é", "99999999999999999999"]

let requirementText = Gen.element(of: requirementPieces).array(of: 0...12).map { $0.compactMap { $0 }.joined() }
/// Debian epochs (and texts that only look like one) that start a version half the time.
let epochPieces = ["", "", "", "", "0:", "1:", "2:", "10:", "01:", "1::", ":", "1", "99999999999999999999:"]

let versionText = zip(Gen.element(of: epochPieces), Gen.element(of: versionPieces).array(of: 0...7))
    .map { epoch, pieces in (epoch ?? "") + pieces.compactMap { $0 }.joined() }

/// A host where even-length names are present with a version value, odd ones absent.
func fuzzHost(_ name: String) -> FactLookup {
    name.count % 2 == 0 ? .present(Fact(name: name, value: "8.2.0", source: "fuzz")) : .absent(reason: "\(name) is absent")
}

@Suite("fuzzing the grammar (TESTBED_FUZZ_SECONDS=600 runs each target ten minutes)")
struct GrammarFuzzTests {
    @Test("the requirement parser: a requirement or an error that points inside the text; never a crash")
    func requirementParser() async {
        await fuzzRounds {
            await propertyCheck(count: fuzzCount, input: requirementText) { text in
                Self.checkRequirement(text)
            }
        }
    }

    static func checkRequirement(_ text: String) {
        do {
            let requirement = try Requirement(parsing: text)
            #expect(!requirement.alternatives.isEmpty)
            // Its own text parses to the same requirement.
            #expect((try? Requirement(parsing: requirement.text)) == requirement, "\(text.debugDescription)")
            switch requirement.check(fuzzHost) {
            case .met: break
            case .unmet(let observed): #expect(observed.count == requirement.alternatives.count)
            }
        } catch {
            #expect(error.column >= 1 && error.column <= text.count + 1, "column \(error.column) of \(text.debugDescription)")
            #expect(error.description.hasPrefix("invalid requirement \""))
            #expect(!error.fix.isEmpty)
        }
    }

    @Test("the version order is total: antisymmetric, transitive, consistent with == and hashing")
    func versionOrder() async {
        await fuzzRounds {
            await propertyCheck(count: fuzzCount, input: versionText, versionText, versionText) { a, b, c in
                Self.checkOrder(Version(a), Version(b), Version(c))
            }
        }
    }

    static func checkOrder(_ a: Version, _ b: Version, _ c: Version) {
        // Exactly one of <, ==, >.
        let relations = [a < b, a == b, b < a].filter { $0 }.count
        #expect(relations == 1, "\(a.text.debugDescription) vs \(b.text.debugDescription)")
        #expect(Version.compare(a, b) == -Version.compare(b, a))
        if a == b { #expect(a.hashValue == b.hashValue) }
        if a < b && b < c { #expect(a < c, "\(a) < \(b) < \(c)") }
        if a == b && b == c { #expect(a == c) }
        if a <= b && b <= c { #expect(a <= c) }
        let sorted = [a, b, c].sorted()
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0 <= $1 })
    }

    /// Inputs the fuzzers found or that once broke something: kept as regression tests.
    @Test("found inputs stay fixed", arguments: [
        "", " ", "|", "||", "!", "!!", "! |", "qemu >=", ">= 8", "qemu >= 8 | ", "qemu >= >= 8", "kernel-5.10+",
        "kernel-+", "-5+", "qemu ~ 8", "qemu == 8.2 | kvm", "cmd:", "cmd: x", "é", "qemu>=é", "\u{0}", "a\u{0}b",
        "kernel\n>= 5", "e\u{301} >= 1", "mem >= 1G", "mem >= 99999999999999999999999G", "x<y<z", "!root | kvm",
    ])
    func foundRequirements(_ text: String) {
        Self.checkRequirement(text)
    }

    @Test("found versions stay ordered", arguments: [
        ("1.0~rc1", "1.0", "1.0.0-13"), ("7", "7sp1", "7sp2"), ("1.0", "1.0.0", "1"), ("", "~", "0"),
        ("01", "1", "1.0"), ("1rc", "1", "1a"), ("1-", "1.", "1_"), ("99999999999999999999", "100000000000000000000", "9"),
        ("~~", "~", "~1"), ("1~", "1", "1~~"), ("é", "a", "1"),
        ("7.2", "1:7.2", "1:7.2+dfsg-7"), ("0:9", "9", "1:0"), ("1:", "1", "1:1"), ("2:1", "10:0", "010:0"),
        ("1::", "1:0", "1:~"), ("9:", "10", "1:1"),
    ])
    func foundVersions(_ a: String, _ b: String, _ c: String) {
        Self.checkOrder(Version(a), Version(b), Version(c))
        Self.checkOrder(Version(c), Version(a), Version(b))
    }
}
