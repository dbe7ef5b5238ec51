@testable import Declarations
import Foundation
@testable import HostFacts
@testable import Requirements
import TestSupport
import Testing

/// The pid a script wrote into a file of its tree.
func writtenPID(_ path: String) throws -> pid_t {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
}

@Suite("Probe commands: real processes, their groups and their output")
struct CommandRunnerTests {
    /// A `--version` that prints its version, leaves a child holding stdout
    /// (and stderr) open for 30 s, and exits: what a daemon-spawning wrapper does.
    static let leavesChild = """
        #!/bin/sh
        echo "tool 1.2.3"
        sleep 30 &
        echo $! > "$(dirname "$0")/child.pid"
        exit 0

        """

    /// A `--version` that never answers, with a background child in its group.
    static let hangs = """
        #!/bin/sh
        sleep 30 &
        echo $! > "$(dirname "$0")/child.pid"
        echo $$ > "$(dirname "$0")/self.pid"
        echo "starting"
        while :; do sleep 1; done

        """

    @Test("a program that leaves a child holding stdout: the probe returns at its exit, with the output, and the child is killed")
    func leftoverChild() throws {
        let tree = try TemporaryTree(["tool": Self.leavesChild], executables: ["tool"])
        let start = ContinuousClock.now
        let output = try #require(CommandRunner(timeout: .seconds(10)).run(tree["tool"], ["--version"]))
        #expect(ContinuousClock.now - start < .seconds(5), "well under the 10 s timeout")
        #expect(!output.timedOut)
        #expect(output.status == 0)
        #expect(output.text == "tool 1.2.3\n")
        let child = try writtenPID(tree["child.pid"])
        #expect(eventually(within: 5) { isGone(child) }, "the sleep left in the program's group is killed")
    }

    @Test("the version fact of such a program is its version, not \"not installed\"")
    func leftoverChildVersion() throws {
        let tree = try TemporaryTree(["tool": Self.leavesChild], executables: ["tool"])
        let fact = HostProbe.versionFact(name: "tool", executable: tree["tool"], shownAs: "tool",
                                         runner: CommandRunner(timeout: .seconds(10)))
        #expect(fact.fact?.value == "1.2.3")
        #expect(eventually(within: 5) { (try? isGone(writtenPID(tree["child.pid"]))) == true })
    }

    @Test("a program that hangs: timed out, and its whole group is killed and reaped")
    func hang() throws {
        let tree = try TemporaryTree(["tool": Self.hangs], executables: ["tool"])
        let output = try #require(CommandRunner(timeout: .seconds(1)).run(tree["tool"], ["--version"]))
        #expect(output.timedOut)
        #expect(output.text == "starting\n")
        let leader = try writtenPID(tree["self.pid"])
        let child = try writtenPID(tree["child.pid"])
        // The program itself is reaped by the runner: no zombie of ours is left.
        #expect(kill(leader, 0) != 0 && errno == ESRCH, "the program is killed and reaped")
        #expect(eventually(within: 5) { isGone(child) }, "its background child is killed")
    }

    @Test("a program that hangs is reported as not answering, with the fact's binary named")
    func hangVersionFact() throws {
        let tree = try TemporaryTree(["tool": Self.hangs], executables: ["tool"])
        let fact = HostProbe.versionFact(name: "tool", executable: tree["tool"], shownAs: "bin/tool",
                                         runner: CommandRunner(timeout: .seconds(1)))
        #expect(fact == .absent(reason: "`bin/tool --version` did not answer in 1s; its process group was killed"))
    }

    @Test("exit status, signals, directory and arguments")
    func statusAndArguments() throws {
        let runner = CommandRunner()
        let tree = try TemporaryTree()
        let exited = try #require(runner.shell("echo \"$0 $1\" >&2; exit 3", in: tree.path))
        #expect(exited.status == 3)
        #expect(exited.text == "/bin/sh \n")
        let args = try #require(runner.run("/bin/sh", ["-c", "echo \"$1\"; pwd", "sh", "two words"], in: tree.path))
        #expect(args.text == "two words\n\(URL(fileURLWithPath: tree.path).resolvingSymlinksInPath().path)\n")
        let killed = try #require(runner.shell("kill -9 $$"))
        #expect(killed.status == 128 + SIGKILL)
        #expect(!killed.timedOut)
    }

    @Test("a program that cannot start gives nil: missing, not executable, no #! line, a missing directory")
    func cannotStart() throws {
        let tree = try TemporaryTree(["plain": "echo hi\n", "noshebang": "echo hi\n"], executables: ["noshebang"])
        let runner = CommandRunner()
        #expect(runner.run(tree["missing"], ["--version"]) == nil)
        #expect(runner.run(tree["plain"], ["--version"]) == nil)
        #expect(runner.run(tree["noshebang"], ["--version"]) == nil)
        #expect(runner.run("/bin/sh", ["-c", "true"], in: tree["missing"]) == nil)
    }

    /// While one thread writes a program, a process another thread is starting
    /// holds it open for writing until its exec: exec says ETXTBSY for a moment.
    @Test("programs written just now while other threads start probes all start", arguments: 0..<4)
    func justWritten(thread: Int) throws {
        var failed = 0
        for index in 0..<40 {
            let tree = try TemporaryTree(["tool": "#!/bin/sh\necho 'tool \(thread).\(index)'\n"], executables: ["tool"])
            if CommandRunner().run(tree["tool"], ["--version"])?.text != "tool \(thread).\(index)\n" { failed += 1 }
        }
        #expect(failed == 0)
    }

    @Test("output is read back up to the limit, and says when it was cut")
    func limit() throws {
        let runner = CommandRunner()
        // 200,000 bytes: 20,000 lines of 9 digits and a newline.
        let command = "seq 100000000 100019999"
        let short = try #require(runner.shell(command))
        #expect(short.text.utf8.count == 64 * 1024)
        #expect(short.truncated)
        let whole = try #require(runner.shell(command, limit: 16 << 20))
        #expect(whole.text.utf8.count == 200_000)
        #expect(whole.text.hasSuffix("100019999\n"))
        #expect(!whole.truncated)
    }

    @Test("the output goes through a pipe: nothing is written to the temporary directory")
    func outputThroughAPipe() throws {
        let output = try #require(CommandRunner().shell("readlink /proc/self/fd/1; readlink /proc/self/fd/2"))
        let lines = output.text.split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix("pipe:[") } && lines[0] == lines[1], "\(output.text)")
    }

    @Test("endless output is cut at the limit: the group is killed at once, not at the timeout")
    func endlessOutput() throws {
        let tree = try TemporaryTree()
        let start = ContinuousClock.now
        // `yes` in the background too: a writer that outlives the shell is killed with the group.
        let output = try #require(CommandRunner(timeout: .seconds(20)).shell("yes 1.2.3 & echo $! > \(tree["child.pid"]); yes 1.2.3"))
        #expect(ContinuousClock.now - start < .seconds(5), "well under the 20 s timeout")
        #expect(output.truncated && !output.timedOut)
        #expect(output.status == 137)
        #expect(output.text.utf8.count == CommandRunner.versionOutputLimit)
        #expect(output.text.hasPrefix("1.2.3\n1.2.3\n"))
        #expect(eventually(within: 5) { (try? isGone(writtenPID(tree["child.pid"]))) == true })
    }

    @Test("a probe that closes its output and goes on is still waited for, up to the timeout, without spinning")
    func closedOutput() throws {
        let start = ContinuousClock.now
        let cpu = Self.threadCPUSeconds()
        let output = try #require(CommandRunner(timeout: .seconds(1)).shell("echo 1.0; exec >&- 2>&-; sleep 5"))
        #expect(output.timedOut)
        #expect(output.text == "1.0\n")
        #expect(ContinuousClock.now - start < .seconds(4))
        #expect(Self.threadCPUSeconds() - cpu < 0.5, "the wait sleeps in poll; it does not spin on the closed pipe")
    }

    /// CPU time of the calling thread (the runner waits on it), in seconds.
    static func threadCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage) // RUSAGE_THREAD
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    @Test("the program runs in a process group of its own")
    func ownGroup() throws {
        // Field 5 of /proc/PID/stat is the process group (the command `sh` has no space).
        let output = try #require(CommandRunner().shell("echo $$ $(cut -d' ' -f5 /proc/$$/stat)"))
        let ids = output.text.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(ids.count == 2 && ids[0] == ids[1], "\(output.text)")
        #expect(ids.first != String(getpgrp()))
    }

    @Test("a helper is registered while it runs and forgotten once reaped")
    func registry() throws {
        let tree = try TemporaryTree(["tool": "#!/bin/sh\necho $$ > \"$0.tmp\" && mv \"$0.tmp\" \"$0.pid\"\nsleep 1\n"],
                                     executables: ["tool"])
        let path = tree["tool"]
        // A thread of its own: the probe blocks it, as it blocks its caller.
        final class Box: @unchecked Sendable { var output: CommandRunner.Output? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread {
            box.output = CommandRunner().run(path, [])
            done.signal()
        }.start()
        #expect(eventually(within: 10) { FileManager.default.fileExists(atPath: tree["tool.pid"]) })
        let pid = try writtenPID(tree["tool.pid"])
        #expect(HelperProcesses.isHelper(pid))
        done.wait()
        #expect(box.output?.status == 0)
        #expect(!HelperProcesses.isHelper(pid))
    }
}
