@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
import Requirements
import TestSupport
import Testing

/// Testbed out of file descriptors while it reads a suite is Testbed's
/// limit, not the suite's (review finding 6: `.: is a directory that cannot be
/// read (Too many open files) … chmod a+rx`). The built binary refuses to
/// start before it can happen (`HostileLimitTests`); these check what is said
/// if it does all the same (the whole system out of them, `ENFILE`).
@Suite("loading out of descriptors")
struct DescriptorShortageTests {
    @Test("EMFILE and ENFILE are Testbed's shortage; EACCES, ENOENT are not")
    func shortage() {
        #expect(DeclarationError.isDescriptorShortage(EMFILE))
        #expect(DeclarationError.isDescriptorShortage(ENFILE))
        #expect(!DeclarationError.isDescriptorShortage(EACCES))
        #expect(!DeclarationError.isDescriptorShortage(ENOENT))
    }

    @Test("the error names the file, says it is testbed's limit and gives the fix, not chmod")
    func message() {
        let error = DeclarationError.outOfDescriptors(file: "suite/t.sh", errno: EMFILE)
        #expect(error.isTestbedLimit)
        #expect(error.description == "suite/t.sh: cannot be read: testbed ran out of file descriptors (Too many open files); "
                + "this is testbed's limit, not the file's: raise it (ulimit -n 1024, or fs.file-max for the whole system) "
                + "and run again")
        #expect(!DeclarationError(file: "suite/t.sh", line: nil, message: "cannot be read; check its permissions").isTestbedLimit)
    }

    @Test("a suite directory that cannot be read for want of descriptors becomes that error when loaded, not chmod a+rx")
    func unreadableDirectory() {
        let file = SuiteFile(path: "/s/sub", relative: "sub", isDeclaration: false, unreadable: "",
                                           outOfDescriptors: EMFILE)
        var state = LoadState()
        CatalogLoader().load(.suiteFile(file, root: "s", suite: 0), state: &state)
        #expect(state.errors == [DeclarationError.outOfDescriptors(file: "s/sub", errno: EMFILE)])
        #expect(state.errors.first?.isTestbedLimit == true)
    }
}
