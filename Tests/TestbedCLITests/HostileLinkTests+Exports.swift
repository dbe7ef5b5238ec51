import Foundation
import Testing
import TestSupport

/// Export files that are too large, hold a NUL, are links, FIFOs or oversized, and command
/// lines past what a program can be given: the setup or test is refused with the line and the fix.
extension HostileLinkTests {
    @Test("a 1 MiB export: the setup failed naming the line and the fix, its tests are blocked, the others run")
    func hugeExport() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              big:
                run: printf 'SMALL=1\\nBIG=' > "$TESTBED_EXPORT"; head -c 1048576 /dev/zero | tr '\\0' x >> "$TESTBED_EXPORT"
            tests:
              needs-big:
                run: 'true'
                setup: [big]
              also-needs-big:
                run: 'true'
                setup: [big]
              free: 'true'
            """])
        let run = try testbedBounded(["run", "--json", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/needs-big": "blocked", "/also-needs-big": "blocked", "/free": "pass"])
        let big = try #require(report.setup("big").first)
        #expect(big["outcome"] as? String == "failed")
        #expect(big["reason"] as? String == "its export file setups/big/export, line 2: `BIG` is 1048581 bytes as BIG=VALUE, "
                + "over the 131072 bytes Linux passes in one environment variable (MAX_ARG_STRLEN, its NUL included); "
                + "write the value to a file and export its path")
        #expect(report.test("/needs-big")["reason"] as? String == "setup big failed")
    }

    @Test("exports that together would not fit a program's environment: the setup failed naming the line where they stop fitting")
    func exportsPastArgMax() throws {
        // 64 values of 100,000 bytes: each fits, together they pass any usual ARG_MAX (2 MiB).
        let lines = (1...64).map { "printf 'V\($0)=%s\\n' \"$x\" >> \"$TESTBED_EXPORT\"" }.joined(separator: "; ")
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              many:
                run: x=$(head -c 100000 /dev/zero | tr '\\0' x); \(lines)
            tests:
              needs-many:
                run: 'true'
                setup: [many]
            """])
        let argMax = sysconf(Int32(_SC_ARG_MAX))
        try #require(argMax < 64 * 100_000, "ARG_MAX \(argMax) takes all 64 values on this host")
        let run = try testbedBounded(["run", "--json", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/needs-many": "blocked"])
        let many = try #require(report.setup("many").first)
        #expect(many["outcome"] as? String == "failed")
        let reason = try #require(many["reason"] as? String)
        let limit = argMax - min(64 << 10, argMax / 4)
        // The line where the total first passes the limit; the rest of the environment is under 64 KiB here.
        let cost = 2 + 1 + 100_000 + 1 + 8
        let pattern = try Regex(#"^its export file setups/many/export, line (\d+): with `V(\d+)` the exports make the environment of "#
            + #"the steps after this setup (\d+) bytes, over the (\d+) bytes a program can be given on this host \(ARG_MAX, less room "#
            + #"for each step's own variables and command line\); write large values to files and export their paths$"#)
        let match = try #require(reason.firstMatch(of: pattern), "\(reason)")
        let line = try #require(match.output[1].substring.flatMap { Int($0) })
        #expect(match.output[2].substring.flatMap { Int($0) } == line)
        #expect(match.output[4].substring.flatMap { Int($0) } == limit)
        #expect(line * cost > limit - (64 << 10) && (line - 1) * cost <= limit, "line \(line)")
    }

    @Test("two setups whose exports each fit but not together: their test is blocked naming them, never error \"Argument list too long\"")
    func exportsPastArgMaxTogether() throws {
        let argMax = sysconf(Int32(_SC_ARG_MAX))
        let limit = argMax - min(64 << 10, argMax / 4)
        // Each setup exports a little over half of what fits: alone it passes, together they do not.
        let count = (limit / 2) / 100_012 + 1
        try #require(count * 100_012 < limit - (64 << 10), "ARG_MAX \(argMax) is too small for this test")
        func setup(_ prefix: String) -> String {
            let lines = (1...count).map { "printf '\(prefix)\($0)=%s\\n' \"$x\" >> \"$TESTBED_EXPORT\"" }.joined(separator: "; ")
            return "x=$(head -c 100000 /dev/zero | tr '\\0' x); \(lines)"
        }
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              left:
                run: \(setup("L"))
              right:
                run: \(setup("R"))
            tests:
              needs-both:
                run: 'true'
                setup: [left, right]
              needs-left:
                run: 'true'
                setup: [left]
            """])
        let run = try testbedBounded(["run", "--json", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let report = Reported(json: json)
        #expect(report.outcomes == ["/needs-both": "blocked", "/needs-left": "pass"])
        #expect(report.setup("left").first?["outcome"] as? String == "ok")
        #expect(report.setup("right").first?["outcome"] as? String == "ok")
        let test = try #require((json["tests"] as? [[String: Any]])?.first { $0["id"] as? String == "/needs-both" })
        let reason = try #require(test["reason"] as? String)
        let pattern = try Regex(#"^not started: the exports of setups (left, right|right, left) together make its environment \d+ bytes, "#
            + #"over the (\d+) bytes a program can be given on this host \(ARG_MAX, less room for its own variables\); "#
            + #"write large values to files and export their paths$"#)
        #expect(reason.firstMatch(of: pattern) != nil, "\(reason)")
        #expect(["left", "right"].contains(test["blocked_by"] as? String))
    }

    @Test("a run: line with one 200 KB word: error naming file:line and the fix, not a bare \"Argument list too long\"")
    func oversizedCommand() throws {
        let word = String(repeating: "x", count: 200_000)
        let tree = try TemporaryTree(["testbed.yaml": "tests:\n  small: 'true'\n  huge: echo \(word)\n"])
        let run = try testbedBounded(["run", "--json", "."], in: tree.path)
        #expect(run.status == 1, "\(run.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(Reported(json: json).outcomes == ["/small": "pass", "/huge": "error"])
        let test = try #require((json["tests"] as? [[String: Any]])?.first { $0["id"] as? String == "/huge" })
        #expect(test["reason"] as? String == "cannot start: its command at testbed.yaml:3 is 200005 bytes, over the 131072 bytes "
                + "Linux passes in one argument (MAX_ARG_STRLEN); move it into a script")
    }

    @Test("a NUL byte in an export file: the setup failed naming the line, nothing is truncated")
    func nulInExport() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              nul:
                run: printf 'A=1\\nB=x\\0y\\nC=3\\n' > "$TESTBED_EXPORT"
            tests:
              needs-nul:
                run: 'true'
                setup: [nul]
            """])
        let run = try testbedBounded(["run", "--json", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/needs-nul": "blocked"])
        let nul = try #require(report.setup("nul").first)
        #expect(nul["outcome"] as? String == "failed")
        #expect(nul["reason"] as? String == "its export file setups/nul/export, line 2: contains a NUL byte, which no environment "
                + "variable can hold; write binary data to a file and export its path")
    }

    @Test("an export file swapped for a link outside, a FIFO or a file over 16 MiB: the setup failed, nothing outside is read, no hang")
    func hostileExportFile() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
            setups:
              link:
                run: rm "$TESTBED_EXPORT"; ln -s "$OUTSIDE/secrets" "$TESTBED_EXPORT"
              fifo:
                run: rm "$TESTBED_EXPORT"; mkfifo "$TESTBED_EXPORT"
              huge:
                run: head -c 17000000 /dev/zero | tr '\\0' '\\n' > "$TESTBED_EXPORT"
              replaced:
                run: echo NEW=1 > "$TESTBED_EXPORT.new"; mv "$TESTBED_EXPORT.new" "$TESTBED_EXPORT"
            tests:
              a:
                run: 'true'
                setup: [link]
              b:
                run: 'true'
                setup: [fifo]
              c:
                run: 'true'
                setup: [huge]
              d:
                run: test "$NEW" = 1
                setup: [replaced]
            """, "outside/secrets": "SECRET=1\n"])
        let run = try testbedBounded(["run", "--json", "."], in: tree.path, environment: ["OUTSIDE": tree["outside"]])
        #expect(run.status == 2, "\(run.stderr)")
        let report = Reported(json: try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]))
        #expect(report.outcomes == ["/a": "blocked", "/b": "blocked", "/c": "blocked", "/d": "pass"])
        #expect(report.setup("link").first?["reason"] as? String == "its export file setups/link/export is a symbolic link, which "
                + "Testbed does not follow in the results; write KEY=VALUE lines to $TESTBED_EXPORT itself")
        #expect(report.setup("fifo").first?["reason"] as? String == "its export file setups/fifo/export is not a regular file "
                + "(a FIFO); write KEY=VALUE lines to $TESTBED_EXPORT")
        #expect(report.setup("huge").first?["reason"] as? String == "its export file setups/huge/export holds more than the 16 MiB "
                + "Testbed reads from it; write large values to files and export their paths")
        #expect(report.setup("replaced").first?["outcome"] as? String == "ok")
    }
}
