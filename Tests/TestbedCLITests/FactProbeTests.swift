import Foundation
import Testing
import TestSupport

/// A lab whose facts come as the field writes them: `ip -V`'s line, a Debian
/// version with an epoch, and a `--version` that leaves a child holding its
/// stdout (for 30 s: three times the probe timeout).
let fieldFactsTree: [String: String] = [
    "env/lab.yaml": """
    description: facts as the field writes them
    probes:
      iproute2: ../bin/ip -V
    binaries:
      tool: ../bin/tool
    facts:
      qemu-deb: "1:7.2+dfsg-7+deb12u18"
    """,
    "bin/ip": "#!/bin/sh\necho 'ip utility, iproute2-6.1.0, libbpf 1.1.2'\n",
    "bin/tool": """
    #!/bin/sh
    echo "tool 2.4.1 (built with libfoo 9.9)"
    sleep 30 &
    echo $! >> "$(dirname "$0")/children"
    exit 0

    """,
    "suite/testbed.yaml": """
    tests:
      iproute/new-enough:
        run: 'true'
        requires: ["iproute2 >= 6.1"]
      iproute/too-new:
        run: 'true'
        requires: ["iproute2 >= 6.2"]
      deb/epoch:
        run: 'test "$TESTBED_FACT_QEMU_DEB" = "1:7.2+dfsg-7+deb12u18"'
        requires: ["qemu-deb >= 7.2"]
      deb/next-epoch:
        run: 'true'
        requires: ["qemu-deb >= 2:1.0"]
      tool/version:
        run: 'test "$TESTBED_FACT_TOOL" = 2.4.1'
        requires: ["tool >= 2.4"]
      tool/too-new:
        run: 'true'
        requires: ["tool-3+"]
    """,
]

@Suite("facts as the field writes them, end to end", .serialized)
struct FactProbeTests {
    @Test("check: versions bound to their names, epochs, and a probe that leaves a child returns at once")
    func check() throws {
        let tree = try TemporaryTree(fieldFactsTree, executables: ["bin/ip", "bin/tool"])
        let start = Date()
        let result = try testbed(["check", "--json", "--environment", tree["env/lab.yaml"], tree["suite"]])
        #expect(Date().timeIntervalSince(start) < 5, "well under the 10 s probe timeout")
        #expect(result.status == 0, "\(result.stderr)")
        let tests = try #require(try result.json()["tests"] as? [[String: Any]])
        var status: [String: String] = [:]
        var reasons: [String: [String]] = [:]
        for test in tests {
            let id = test["id"] as? String ?? ""
            status[id] = test["status"] as? String
            reasons[id] = (test["unmet"] as? [[String: String]] ?? []).compactMap { $0["reason"] }
        }
        #expect(status["/iproute/new-enough"] == "runnable")
        #expect(status["/iproute/too-new"] == "unsupported")
        #expect(reasons["/iproute/too-new"] == ["needs iproute2 >= 6.2; this host has 6.1.0"])
        #expect(status["/deb/epoch"] == "runnable")
        #expect(reasons["/deb/next-epoch"]?.first?.hasPrefix("needs qemu-deb >= 2:1.0; the environment declares 1:7.2+dfsg-7+deb12u18 (") == true,
                "\(reasons["/deb/next-epoch"] ?? [])")
        #expect(status["/tool/version"] == "runnable")
        #expect(reasons["/tool/too-new"] == ["needs tool-3+; this host has 2.4.1"])
        let children = pids(in: tree["bin/children"])
        #expect(children.count == 1, "the tool was probed once")
        for child in children {
            #expect(eventually(within: 5) { isGone(child) }, "the child the probe left is killed")
        }
    }

    @Test("run: the probed facts reach the tests, and the probe's leftover child is gone")
    func run() throws {
        let tree = try TemporaryTree(fieldFactsTree, executables: ["bin/ip", "bin/tool"])
        let start = Date()
        let result = try testbed(["run", "--environment", tree["env/lab.yaml"], tree["suite"]])
        #expect(Date().timeIntervalSince(start) < 5, "well under the 10 s probe timeout")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("3 passed, 3 unsupported"), "\(result.stdout)")
        for child in pids(in: tree["bin/children"]) {
            #expect(eventually(within: 5) { isGone(child) }, "the child the probe left is killed")
        }
    }

    @Test("probe: the facts as listed")
    func probe() throws {
        let tree = try TemporaryTree(fieldFactsTree, executables: ["bin/ip", "bin/tool"])
        let result = try testbed(["probe", "--json", "--environment", tree["env/lab.yaml"]])
        #expect(result.status == 0, "\(result.stderr)")
        let facts = try #require(try result.json()["facts"] as? [[String: Any]])
        let values = Dictionary(facts.map { ($0["name"] as? String ?? "", $0["value"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(values["iproute2"] == "6.1.0")
        #expect(values["tool"] == "2.4.1")
        #expect(values["qemu-deb"] == "1:7.2+dfsg-7+deb12u18")
    }
}
