import Foundation
import Testing
import TestSupport

/// `--ids-from FILE`: the ids a grid shard runs, one per line, selected exactly.
@Suite struct IDsFromTests {
    static let suite: [String: String] = [
        "testbed.yaml": """
        tests:
          net/tcp: 'true'
          net/tcp/ipv6: 'true'
          net/udp: 'true'
          disk/read: 'true'
          quick:
            run: 'true'
            tags: [quick]
        """,
    ]

    /// The ids `check --json` lists as selected.
    func selected(_ arguments: [String], in tree: TemporaryTree) throws -> [String] {
        let checked = try testbed(["check", "--json"] + arguments, in: tree.path)
        #expect(checked.status == 0, "\(checked.stderr)")
        let tests = try #require(JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [String: Any], "\(checked.stdout)")
        return ((tests["tests"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
    }

    @Test func runSelectsExactlyTheListedIdsSkippingBlankAndCommentLines() throws {
        let tree = try TemporaryTree(Self.suite.merging(["node1.ids": "# shard of node1\n/net/tcp\n\n  disk/read  \r\n"]) { $1 })
        let ran = try testbed(["run", "--ids-from", "node1.ids", "--json", "--results", tree["results"]], in: tree.path)
        #expect(ran.status == 0, "\(ran.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(ran.stdout.utf8)) as? [String: Any])
        let ids = ((json["tests"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
        // Not /net/tcp/ipv6: an id is not a prefix.
        #expect(ids == ["/disk/read", "/net/tcp"])
    }

    @Test func combinesWithIdAndTag() throws {
        let tree = try TemporaryTree(Self.suite.merging(["list": "/net/tcp\n/quick\n"]) { $1 })
        #expect(try selected(["--ids-from", "list", "--id", "/disk"], in: tree) == ["/disk/read", "/net/tcp", "/quick"])
        #expect(try selected(["--ids-from", "list", "--tag", "quick"], in: tree) == ["/quick"])
    }

    @Test func anIdNotInTheSuiteNamesTheFileAndLineWithTheNearestId() throws {
        let tree = try TemporaryTree(Self.suite.merging(["shard.ids": "/net/tcp\n# a comment\n/net/tpc\n/nothing/like/it\n"]) { $1 })
        let ran = try testbed(["run", "--ids-from", "shard.ids", "--results", tree["results"]], in: tree.path)
        #expect(ran.status == 64, "\(ran.stderr)")
        #expect(ran.stderr.contains("testbed: error: shard.ids:3: /net/tpc is not a test of the suite; did you mean /net/tcp?"),
                "\(ran.stderr)")
        #expect(ran.stderr.contains("shard.ids:4: /nothing/like/it is not a test of the suite; `testbed check --json` lists the ids"),
                "\(ran.stderr)")
        // Refused before anything ran: no run recorded.
        #expect(!FileManager.default.fileExists(atPath: tree["results/latest"]))
    }

    @Test func anIdOutsideThePathsGivenSaysSo() throws {
        let tree = try TemporaryTree(Self.suite.merging(["net/.keep": "", "shard.ids": "/disk/read\n"]) { $1 })
        let checked = try testbed(["check", "net", "--ids-from", "shard.ids"], in: tree.path)
        #expect(checked.status == 64, "\(checked.stderr)")
        #expect(checked.stderr.contains("shard.ids:1: /disk/read is a test of the suite but not among those under /net; name the suite root"),
                "\(checked.stderr)")
    }

    @Test func aMissingFileIsABadCommandLineWithTheNearestName() throws {
        let tree = try TemporaryTree(Self.suite.merging(["node1.ids": "/net/tcp\n"]) { $1 })
        let ran = try testbed(["run", "--ids-from", "node2.ids"], in: tree.path)
        #expect(ran.status == 64, "\(ran.stderr)")
        #expect(ran.stderr.contains("--ids-from node2.ids is not a file; did you mean node1.ids?"), "\(ran.stderr)")
        let bisect = try testbed(["run", "--ids-from", "node2.ids", "--exit-codes", "bisect"], in: tree.path)
        #expect(bisect.status == 125, "\(bisect.stderr)")
    }

    @Test func anEmptyListSelectsNothing() throws {
        let tree = try TemporaryTree(Self.suite.merging(["empty.ids": "# nothing for this node\n"]) { $1 })
        let ran = try testbed(["run", "--ids-from", "empty.ids", "--results", tree["results"]], in: tree.path)
        #expect(ran.status == 4, "\(ran.stderr)")
        #expect(ran.stderr.contains("--tag, --id, -k and --ids-from match none"), "\(ran.stderr)")
    }
}
