@testable import Catalog
@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

@Suite("suite walk: links to directories outside the suite")
struct SuiteWalkLinkTests {
    @Test("a link outside is not walked and warned about once; one inside is walked once; a named path through the link is followed")
    func links() async throws {
        let outside = try TemporaryTree(["ext/x.sh": "#!/bin/sh\n# testbed-tags: x\n"], executables: ["ext/x.sh"])
        let suite = try TemporaryTree(["testbed.yaml": "tests:\n  a: 'true'\n", "in/t.sh": "#!/bin/sh\n# testbed-tags: y\n"],
                                      executables: ["in/t.sh"])
        try FileManager.default.createSymbolicLink(atPath: suite["out"], withDestinationPath: outside["ext"])
        try FileManager.default.createSymbolicLink(atPath: suite["z-in"], withDestinationPath: "in")
        let whole = try await CatalogLoader().load(SuitePaths(["."], workingDirectory: suite.path))
        #expect(whole.tests.map(\.id) == ["/a", "/in/t.sh"])
        let real = try #require(WalkScope.realPath(outside["ext"]))
        #expect(whole.warnings == ["out is a link to \(real), outside the suite; not walked "
            + "(name its target on the command line to run tests there)"])
        let named = try await CatalogLoader().load(SuitePaths(["out"], workingDirectory: suite.path))
        #expect(named.tests.map(\.id) == ["/out/x.sh"])
        #expect(named.warnings.isEmpty)
    }
}
