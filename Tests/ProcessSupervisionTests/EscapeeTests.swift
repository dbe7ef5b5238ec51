@testable import Declarations
import Foundation
@testable import HostFacts
@testable import ProcessSupervision
import TestSupport
import Testing

@Suite("Escapees and the guard's protocol")
struct EscapeeTests {
    @Test("the guard reads +PID STARTTIME and -PID lines; anything else is ignored")
    func guardLines() {
        var named = RunGuard.Named()
        for line in ["+123 456", "+124 9", "-124", "+1 5", "+0 5", "+x 5", "+125", "junk", "", "-999", "+126 7+127 8"] {
            named.apply(line)
        }
        #expect(named.escapees == [123: 456])
    }

    @Test("the guard keeps an escapee's process group while it has members (a pid hopper's), and forgets an empty one",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/perl")))
    func guardGroups() throws {
        let leader = Process()
        // Its own group, no fork: the pid named is the group's leader.
        leader.executableURL = URL(fileURLWithPath: "/usr/bin/perl")
        leader.arguments = ["-e", "setpgrp(0, 0); sleep 30"]
        try leader.run()
        defer { if leader.isRunning { kill(leader.processIdentifier, SIGKILL) } }
        let pid = leader.processIdentifier
        #expect(eventually(within: 5) { getpgid(pid) == pid }, "setsid made it a group leader")
        let start = try #require(ProcessSupervisor.startTime(of: pid))
        var named = RunGuard.Named()
        named.apply("+\(pid) \(start)")
        #expect(named.groups == [pid])
        named.apply("-\(pid)")
        #expect(named.groups == [pid], "its group still has a member")
        #expect(named.escapees.isEmpty)

        var ended = RunGuard.Named()
        ended.apply("+\(pid) \(start)")
        kill(pid, SIGKILL)
        leader.waitUntilExit()
        ended.apply("-\(pid)")
        #expect(ended.groups.isEmpty, "an empty group is forgotten")
    }

    @Test("the tag in an environment block")
    func tagInEnvironment() {
        let block = Array("A=1\0TESTBED_PROCESS_TAG=run/5\0B=2\0".utf8)
        #expect(ProcessSupervisor.tagValue(in: block) == "run/5")
        #expect(ProcessSupervisor.tagValue(in: Array("A=1\0".utf8)) == nil)
        #expect(ProcessSupervisor.tagValue(in: []) == nil)
    }

    @Test("a start time is stable for a process; a pid with no process has none")
    func startTimes() throws {
        let mine = try #require(ProcessSupervisor.startTime(of: getpid()))
        #expect(ProcessSupervisor.startTime(of: getpid()) == mine)
        #expect(ProcessSupervisor.startTime(of: 0) == nil)
    }

    @Test("killTrees kills a process and the descendants it forked, in other sessions too", .timeLimit(.minutes(1)))
    func killsTrees() throws {
        let scratch = try TemporaryTree()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "setsid sleep 300 & echo $! >> \"$0\"; sh -c 'sleep 300 & wait' & echo $! >> \"$0\"; wait",
                             scratch["pids"]]
        try process.run()
        #expect(eventually(within: 10) { pids(in: scratch["pids"]).count == 2 })
        let descendants = pids(in: scratch["pids"])
        // The inner shell's own sleep: a grandchild.
        #expect(eventually(within: 10) { ProcessSupervisor.children(of: descendants[1]).count == 1 })
        let grandchildren = ProcessSupervisor.children(of: descendants[1])
        let killed = ProcessSupervisor.killTrees([process.processIdentifier])
        process.waitUntilExit()
        #expect(Set(killed).isSuperset(of: descendants + [process.processIdentifier]))
        for pid in descendants + grandchildren {
            #expect(eventually(within: 5) { isGone(pid) }, "process \(pid) survived")
        }
    }
}

func pids(in file: String) -> [pid_t] {
    ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline).compactMap { pid_t($0) }
}
