import Foundation
import Testing
import TestSupport

/// Live processes of runs under `directory`: every process of a run carries
/// `TESTBED_RUN_DIR` in its environment, below the suite's own tree.
func processes(ofRunsUnder directory: String) -> [pid_t] {
    processes(withEnvironmentEntry: "TESTBED_RUN_DIR=\(directory)/", prefix: true)
}

/// A listener a setup leaves running: it writes its port and pid, then
/// answers `ping` with `pong:ping` until it is killed.
let listener = """
import os, socket, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
with open(sys.argv[2], "w") as f:
    f.write(str(os.getpid()))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    connection, _ = server.accept()
    connection.sendall(b"pong:" + connection.recv(64))
    connection.close()
"""

/// Connects to the listener of `$PORT`.
let client = """
import os, socket
connection = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=10)
connection.sendall(b"ping")
answer = connection.recv(64)
print("answer:", answer)
assert answer == b"pong:ping", answer
"""

/// A setup that starts the listener in the background and exports its port.
func listenerSetup(_ name: String, teardown: Bool = true, scope: String = "run", extra: String = "") -> String {
    """
      \(name):
        run: python3 listener.py "$TESTBED_RUN_DIR/\(name).port" "$TESTBED_RUN_DIR/\(name).pid" & while [ ! -s "$TESTBED_RUN_DIR/\(name).port" ]; do sleep \
    0.02; done; echo "PORT=$(cat "$TESTBED_RUN_DIR/\(name).port")" >> "$TESTBED_EXPORT"
        scope: \(scope)
    \(teardown ? "    teardown: kill \"$(cat \"$TESTBED_RUN_DIR/\(name).pid\")\" && echo stopped the listener\n" : "")\(extra)
    """
}

@Suite("what a setup starts lives until its teardown", .serialized)
struct SetupServiceTests {
    /// A suite whose one test connects to a setup's listener, then runs for ten minutes.
    func serviceInUse() throws -> TemporaryTree {
        try TemporaryTree([
            "listener.py": listener, "client.py": client,
            "testbed.yaml": """
            setups:
            \(listenerSetup("server"))
            tests:
              long:
                run: python3 client.py && touch "$TESTBED_RUN_DIR/connected" && sleep 600
                setup: [server]
            """,
        ])
    }

    /// Whether the test of `serviceInUse` has connected to the listener.
    func connected(_ tree: TemporaryTree) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: tree["testbed-results"])) ?? [])
            .contains { FileManager.default.fileExists(atPath: tree["testbed-results/\($0)/connected"]) }
    }

    @Test("a listener a setup backgrounds serves the tests; the teardown stops it and passes; nothing of the run is left")
    func listenerLivesUntilTeardown() throws {
        let tree = try TemporaryTree([
            "listener.py": listener, "client.py": client,
            "testbed.yaml": """
            setups:
            \(listenerSetup("server"))
            \(listenerSetup("per-test", scope: "test"))
            \(listenerSetup("no-teardown", teardown: false))
            tests:
              first:
                run: python3 client.py
                setup: [server]
              second:
                run: python3 client.py
                setup: [server]
              own:
                run: python3 client.py
                setup: [per-test]
              lives-to-the-end:
                run: python3 client.py && kill -0 "$(cat "$TESTBED_RUN_DIR/no-teardown.pid")"
                setup: [no-teardown]
            """,
        ])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let r = try report(tree.path)
        for id in ["/first", "/second", "/own", "/lives-to-the-end"] {
            #expect(r.outcome(id) == "pass", "\(id): \(r.test(id))")
        }
        for name in ["server", "per-test"] {
            #expect(r.setup(name, phase: "teardown").map { $0["outcome"] as? String } == ["ok"], "\(r.setups)")
        }
        let directory = try #require(r.run["directory"] as? String)
        for name in ["server", "per-test", "no-teardown"] {
            let pid = try #require(pids(in: directory + "/\(name).pid").first)
            #expect(isGone(pid), "the \(name) listener outlived the run")
        }
        #expect(processes(ofRunsUnder: tree.path).isEmpty)
    }

    @Test("a setup daemonizes a QEMU, a test speaks QMP to it, the teardown stops it",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64")))
    func daemonizedQEMU() throws {
        let tree = try TemporaryTree([
            "qmp.py": """
            import json, os, socket
            qmp = socket.socket(socket.AF_UNIX)
            qmp.settimeout(10)
            qmp.connect(os.environ["QMP"])
            stream = qmp.makefile("rw")
            def answer():
                while True:
                    message = json.loads(stream.readline())
                    if "event" not in message:
                        return message
            assert "QMP" in answer()
            stream.write(json.dumps({"execute": "qmp_capabilities"}) + "\\n"); stream.flush()
            assert "return" in answer()
            stream.write(json.dumps({"execute": "query-status"}) + "\\n"); stream.flush()
            status = answer()
            print(status)
            assert "status" in status["return"], status
            """,
            "testbed.yaml": """
            setups:
              guest:
                run: qemu-system-x86_64 -machine none -display none -nodefaults -daemonize -pidfile "$PWD/guest.pid" -qmp \
            "unix:$PWD/qmp.sock,server=on,wait=off" && cp guest.pid started.pid && echo "QMP=$PWD/qmp.sock" >> "$TESTBED_EXPORT"
                teardown: kill "$(cat guest.pid)" && echo stopped the guest
            tests:
              status:
                run: python3 qmp.py
                setup: [guest]
            """,
        ])
        let run = try testbed(["run", "."], in: tree.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let r = try report(tree.path)
        #expect(r.outcome("/status") == "pass", "\(r.test("/status"))")
        #expect(r.setup("guest", phase: "teardown").first?["outcome"] as? String == "ok", "\(r.setups)")
        let guest = try #require(pids(in: tree["started.pid"]).first)
        #expect(isGone(guest), "the guest outlived the run")
        #expect(processes(ofRunsUnder: tree.path).isEmpty)
    }

    @Test("a setup that times out, or halts the run, leaves nothing running; its teardown still runs", arguments: [
        (["run", "."], "timeout", 2),
        (["run", ".", "--halt-on-infra", "-j", "1"], "failed", 2),
    ])
    func failedSetupsLeaveNothing(arguments: [String], outcome: String, status: Int32) throws {
        let tree = try TemporaryTree([
            "listener.py": listener, "client.py": client,
            "testbed.yaml": """
            setups:
            \(listenerSetup("server"))
              slow:
                run: sleep 600 & echo $! > "$TESTBED_RUN_DIR/slow.pid"; \(outcome == "timeout" ? "sleep 30" : "exit 1")
                teardown: 'true'
                timeout: 500ms
                after: [server]
            tests:
              uses-both:
                run: python3 client.py
                setup: [server, slow]
            """,
        ])
        let run = try testbed(arguments + ["--kill-grace", "1s"], in: tree.path)
        #expect(run.status == status, "\(run.stdout)\(run.stderr)")
        let r = try report(tree.path)
        #expect(r.outcome("/uses-both") == "blocked")
        #expect(r.setup("slow").first?["outcome"] as? String == outcome)
        #expect(r.setup("server", phase: "teardown").first?["outcome"] as? String == "ok", "\(r.setups)")
        let directory = try #require(r.run["directory"] as? String)
        for file in ["server.pid", "slow.pid"] {
            let pid = try #require(pids(in: directory + "/" + file).first)
            #expect(isGone(pid), "\(file) outlived the run")
        }
        #expect(processes(ofRunsUnder: tree.path).isEmpty)
    }

    @Test("Ctrl-C while a test uses a service: the teardown runs, the service is gone, exit 130", arguments: [SIGINT, SIGTERM])
    func interruptStopsServices(signal: Int32) throws {
        let tree = try serviceInUse()
        let (process, _) = try startTestbed(["run", ".", "--kill-grace", "1s"], in: tree.path)
        #expect(eventually { connected(tree) })
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let r = try report(tree.path)
        #expect(r.setup("server", phase: "teardown").first?["outcome"] as? String == "ok", "\(r.setups)")
        #expect(r.outcome("/long") == "interrupted")
        #expect(processes(ofRunsUnder: tree.path).isEmpty)
    }

    @Test("kill -9 of testbed: the guard stops what setups left running")
    func guardStopsServices() throws {
        let tree = try serviceInUse()
        let (process, _) = try startTestbed(["run", "."], in: tree.path)
        #expect(eventually { connected(tree) })
        #expect(!processes(ofRunsUnder: tree.path).isEmpty)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(eventually(within: 30) { processes(ofRunsUnder: tree.path).isEmpty })
    }
}
