@testable import Catalog
@testable import Declarations
@testable import HostFacts
@testable import Requirements
import Testing

@Suite("Drop-in headers at the edge of the 8 KiB window")
struct DropInHeaderWindowTests {
    /// A head whose line `line` starts `before` bytes before the window's end, followed by `after`.
    func head(_ line: String, before: Int, after: String = "\nexit 0\n") -> [UInt8] {
        let start = "#!/bin/sh\n"
        let filler = "#" + String(repeating: "x", count: DropInHeader.scanLimit - before - start.utf8.count - 2) + "\n"
        return Array((start + filler + line + after).utf8)
    }

    @Test("a header line the window cuts is not read: it is reported with its line and key")
    func cutLine() {
        let header = DropInHeader(bytes: head("# testbed-requires: kernel >= 60", before: 31))
        #expect(header.lines.isEmpty)
        #expect(header.cutLine == 3)
        #expect(header.cutKey == "testbed-requires")
    }

    @Test("cut inside `testbed-`: the bytes past the window tell it is a header line")
    func cutInsideTheKey() {
        let header = DropInHeader(bytes: head("// testbed-tags: x", before: 5))
        #expect(header.cutLine == 3 && header.cutKey == "testbed-tags")
    }

    @Test("a line that ends at the window's last byte, or with CR LF split by it, is whole")
    func endsAtTheEdge() {
        let whole = DropInHeader(bytes: head("# testbed-tags: x", before: 18))
        #expect(whole.cutLine == nil && whole.lines.map(\.value) == ["x"])
        let crlf = DropInHeader(bytes: head("# testbed-tags: y\r", before: 18))
        #expect(crlf.cutLine == nil && crlf.lines.map(\.value) == ["y"])
    }

    @Test("a comment or a file that simply ends there is not a cut header line")
    func notHeaders() {
        #expect(DropInHeader(bytes: head("# a long comment past the window", before: 10)).cutLine == nil)
        #expect(DropInHeader(bytes: head("# testbed-tags: z", before: 17, after: "")).cutLine == nil, "the file ends: nothing is cut")
        #expect(DropInHeader(bytes: head("echo testbed-tags: z", before: 10)).cutLine == nil, "no comment leader")
    }
}
