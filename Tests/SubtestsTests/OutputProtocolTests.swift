import Subtests
import Testing

@Suite("output protocols")
struct OutputProtocolTests {
    @Test("each protocol is written as the field writes it", arguments: [
        ("exitcode", OutputProtocol.exitcode), ("tap", .tap), ("ktap", .ktap), ("kvm-unit-tests", .kvmUnitTests), ("gtest", .gtest),
    ])
    func names(text: String, expected: OutputProtocol) {
        #expect(OutputProtocol(rawValue: text) == expected)
    }

    @Test("the list for messages names them all")
    func list() {
        #expect(OutputProtocol.names == "exitcode, tap, ktap, kvm-unit-tests, gtest")
    }
}
