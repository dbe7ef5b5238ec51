@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

@Suite("Durations, multipliers, digits, sockets and refused characters: the edges of the input grammars")
struct InputEdgeTests {
    @Test("durations in the documented grammar parse to whole milliseconds, rounded up", arguments: [
        ("90", 90_000), ("90s", 90_000), ("2m", 120_000), ("1h30m", 5_400_000), ("1h 30m", 5_400_000), ("500ms", 500),
        ("1.5m", 90_000), (".5s", 500), ("0", 0), ("0s", 0), ("0.0004", 1), ("1d2h3m4s5ms", 93_784_005), ("2 MIN", 120_000),
        ("1hr", 3_600_000), ("3secs", 3000), ("315360000", 315_360_000_000),
        ("10 minutes", 600_000), ("1 minute", 60_000), ("2 hours 30 seconds", 7_230_000), ("1 day", 86_400_000), ("1 second", 1000),
    ])
    func durations(text: String, milliseconds: Int64) {
        #expect(parseTimeout(text) == .milliseconds(milliseconds), "\(text)")
    }

    @Test("anything else is refused: hexadecimal, exponents, signs, repeated or unordered units, non-ASCII digits, over ten years", arguments: [
        "0x1", "0x1p0", "0X10", "1e3", "1e400", "+5", "-5s", "1d1d", "1h1h", "30s1m", "1ms1s", "1h30", "5x", "h", ".", "1..2s",
        "inf", "nan", "６０s", "٣s", "", " ", "1_000", "315360001", "3650d1s", "106751991167301d", "99999999999999999999",
        "10 minutez", "1 minute 1 hour", "5 parsecs",
    ])
    func refusedDurations(text: String) {
        #expect(parseTimeout(text) == nil, "\(text)")
    }

    @Test("-t: decimal numbers and inf; 0 or less means no timeouts", arguments: [
        ("2", 2.0), ("0.5", 0.5), ("-1", -1), ("0", 0), ("-0", 0), ("1e3", 1000), ("1E-3", 0.001), ("+2", 2), ("1e300", 1e300),
        ("inf", .infinity), ("-inf", -.infinity), ("-Infinity", -.infinity), (".5", 0.5), ("5.", 5), ("0.001", 0.001), ("-1e-400", 0),
    ])
    func multipliers(text: String, value: Double) throws {
        #expect(try parseTimeoutMultiplier(text) == value, "\(text)")
    }

    @Test("-t: hexadecimal and nan are not decimal numbers; a positive value under 0.001 is too small", arguments: [
        ("0x10", TimeoutMultiplierProblem.notANumber), ("0x1p0", .notANumber), ("nan", .notANumber), ("", .notANumber),
        ("1e", .notANumber), ("2x", .notANumber), ("1.2.3", .notANumber), ("١", .notANumber), ("--1", .notANumber),
        ("1e-320", .tooSmall), ("1e-400", .tooSmall), ("0.0009", .tooSmall), ("0.00000000001", .tooSmall),
    ])
    func refusedMultipliers(text: String, problem: TimeoutMultiplierProblem) {
        #expect(throws: problem) { try parseTimeoutMultiplier(text) }
    }

    @Test("a value with digits that are not ASCII is refused at its column, the fix written in ASCII", arguments: [
        ("kernel >= ６０", 11, "`６` in value `６０` is not an ASCII digit", "write versions and numbers with the digits 0-9: `kernel >= 60`"),
        ("qemu == 8.٢", 11, "`٢` in value `8.٢` is not an ASCII digit", "write versions and numbers with the digits 0-9: `qemu == 8.2`"),
        ("memory >= ４G", 11, "`４` in value `４G` is not an ASCII digit", "write versions and numbers with the digits 0-9: `memory >= 4G`"),
        ("kvm | kernel < 5²", 17, "`²` in value `5²` is not an ASCII digit", "write versions and numbers with the digits 0-9: `kernel < 5²`"),
        ("kernel-６.1+", 8, "`６` in version `６.1` is not an ASCII digit", "write versions with the digits 0-9: `kernel-6.1+`"),
    ])
    func foreignDigits(text: String, column: Int, problem: String, fix: String) {
        #expect(throws: RequirementError(text: text, column: column, problem: problem, fix: fix)) { try Requirement(parsing: text) }
    }

    @Test("ASCII versions and non-digit letters in values still parse")
    func asciiValues() throws {
        #expect(try Requirement(parsing: "kernel >= 60").alternatives == [.compare("kernel", .greaterOrEqual, "60")])
        #expect(try Requirement(parsing: "os == débian").alternatives == [.compare("os", .equal, "débian")])
    }

    @Test("a character libyaml refuses (DEL, C1 controls) is named at its real line and column, shown escaped", arguments: [
        ("tests:\n  ok: x\n  \"a\u{9B}b\": x\n", 3, 5, "\\u{9B}"),
        ("tests:\n  ok: x\n  é\u{7F}: x\n", 3, 4, "\\u{7F}"),
        ("\u{7F}: x\n", 1, 1, "\\u{7F}"),
        ("a:\r\n  b: c\r\n  d: \"\u{80}\"\r\n", 3, 7, "\\u{80}"),
    ])
    func refusedCharacters(text: String, line: Int, column: Int, shown: String) throws {
        let error = try #require(throws: DeclarationError.self) { try YAMLReader(file: "f.yaml").parse(text) }
        #expect(error.description == "f.yaml:\(line): YAML syntax error: control character `\(shown)` is not allowed (column \(column)); "
            + "fix the YAML at that line")
    }

    @Test("a Unix socket (which cannot even be opened) is refused as what it is, not as unreadable")
    func socketFile() throws {
        let tree = try TemporaryTree()
        try #require(makeUnixSocket(tree["s.yaml"]))
        #expect(throws: FileReadProblem.notRegular("a socket")) { try readRegularFile(tree["s.yaml"], limit: 100) }
        let error = try #require(throws: DeclarationError.self) { try readDeclarationFile(tree["s.yaml"], shownAs: "s.yaml") }
        #expect(error.description == "s.yaml: is a socket, not a regular file; name a YAML file")
    }
}
