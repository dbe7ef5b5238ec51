@testable import Catalog
@testable import Declarations
@testable import HostFacts
@testable import Requirements
import Testing

@Suite("drop-in header keys in another case or with _")
struct DropInHeaderCaseTests {
    func lines(_ text: String) -> [DropInHeader.Line] { DropInHeader(bytes: Array(text.utf8)).lines }

    @Test("testbed in any case with - or _ before a known or near key is a header line, not canonical; the key normalized")
    func variants() {
        for (text, written, key) in [("# Testbed-Requires: kernel >= 99", "Testbed-Requires", "requires"),
                                     ("# TESTBED-REQUIRES: kvm", "TESTBED-REQUIRES", "requires"),
                                     ("; testbed_requires: kvm", "testbed_requires", "requires"),
                                     ("// testbed-skip_code: 77", "testbed-skip_code", "skip-code"),
                                     ("-- TestBed_Tag: x", "TestBed_Tag", "tag")] {
            let found = lines("#!/bin/sh\n\(text)\n")
            #expect(found.count == 1, "\(text)")
            #expect(found.first?.written == written && found.first?.key == key && found.first?.isCanonical == false, "\(found)")
            #expect(found.first?.line == 2)
        }
        #expect(lines("# testbed-requires: kvm\n").first?.isCanonical == true)
    }

    @Test("a variable named in a comment (TESTBED_OUTPUT_DIR:) is no header line; testbed- as written always is")
    func notHeaders() {
        #expect(lines("# TESTBED_OUTPUT_DIR: where logs go\n# Testbed_Run_Id: the run\n").isEmpty)
        #expect(lines("# testbed-output-dir: x\n").map(\.key) == ["output-dir"])
        #expect(lines("echo TESTBED-REQUIRES: x\n").isEmpty, "no comment leader")
    }

    @Test("a cut header line in another case is found too")
    func cut() {
        let filler = "#" + String(repeating: "x", count: DropInHeader.scanLimit - 40) + "\n"
        let text = filler + "# TESTBED-REQUIRES: kernel >= 6" + String(repeating: "0", count: 100) + "\n"
        let header = DropInHeader(bytes: Array(text.utf8))
        #expect(header.cutLine == 2 && header.cutKey == "TESTBED-REQUIRES", "\(header)")
    }
}
