import Foundation
import Testing
import TestSupport

/// A tiny meson project, configured by the real `meson setup`, whose build directory the built binary runs.
@Suite("meson build directories, end to end")
struct MesonFormatTests {
    /// Where meson is, or nil when it is not installed (CI installs Debian's `meson` and `ninja-build`).
    static let meson: String? = ["/usr/bin/meson", "/usr/local/bin/meson"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static let project = """
    project('tiny', 'c')
    tapper = executable('tapper', 'tapper.c')
    test('tap count', tapper, protocol: 'tap', suite: 'fast')
    test('exit/ok', find_program('sh'), args: ['-c', 'test "$GREETING" = "it\\'s here"'], is_parallel: false,
         env: {'GREETING': 'it\\'s here'})
    test('exit fails', find_program('sh'), args: ['-c', 'echo "broken"; exit 3'], timeout: 5)
    test('exit skips', find_program('sh'), args: ['-c', 'exit 77'])
    test('in workdir', find_program('sh'), args: ['-c', 'test -f meson.build'], workdir: meson.current_source_dir())
    """

    static let tapper = """
    #include <stdio.h>
    int main(void) {
        printf("1..2\\nok 1 - adds\\nok 2 - subtracts\\n");
        return 0;
    }
    """

    @Test("meson setup, then testbed run BUILDDIR: outcomes, tags, env, workdir and the ninja setup",
          .enabled(if: meson != nil, "meson is not installed: install Debian's meson and ninja-build (.ci/run does)"))
    func run() throws {
        let meson = try #require(Self.meson)
        let tree = try TemporaryTree(["meson.build": Self.project, "tapper.c": Self.tapper])
        let setup = try runProgram(meson, ["setup", "build"], in: tree.path)
        try #require(setup.status == 0, "\(setup.stdout)\(setup.stderr)")

        let checked = try testbed(["check", "--json", "build"], in: tree.path)
        let tests = try #require(try checked.json()["tests"] as? [[String: Any]])
        #expect(tests.compactMap { $0["id"] as? String } == ["/tap count", "/exit/ok", "/exit fails", "/exit skips", "/in workdir"],
                "\(checked.stdout)\(checked.stderr)")
        #expect(tests.first?["setups"] as? [String] == ["ninja"], "\(tests.first ?? [:])")

        let selected = try testbed(["check", "--json", "--tag", "fast", "build"], in: tree.path)
        let fast = try #require(try selected.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(fast == ["/tap count"], "\(selected.stdout)\(selected.stderr)")

        let ran = try testbed(["run", "build"], in: tree.path)
        #expect(ran.status == 1, "\(ran.stdout)\(ran.stderr)")
        let reported = try report(tree["build"])
        #expect(reported.outcome("/tap count") == "pass", "\(reported.test("/tap count"))")
        #expect(reported.outcome("/exit/ok") == "pass", "\(reported.test("/exit/ok"))")
        #expect(reported.outcome("/exit fails") == "fail")
        #expect((reported.test("/exit fails")["reason"] as? String ?? "").contains("exit 3"), "\(reported.test("/exit fails"))")
        #expect(reported.outcome("/exit skips") == "skip")
        #expect(reported.outcome("/in workdir") == "pass", "\(reported.test("/in workdir"))")
        #expect(reported.setup("ninja").first?["outcome"] as? String == "ok", "\(reported.setups)")
        #expect(FileManager.default.isExecutableFile(atPath: tree["build/tapper"]))

        // Built already: the second run's ninja setup is satisfied by its check.
        _ = try testbed(["run", "build"], in: tree.path)
        let again = try report(tree["build"])
        #expect(again.setup("ninja").first?["outcome"] as? String == "satisfied", "\(again.setups)")

        // A testbed.yaml in the build directory wins; --format meson reads meson's list anyway.
        try tree.write("build/testbed.yaml", "tests:\n  own: 'true'\n")
        let own = try testbed(["check", "--json", "build"], in: tree.path)
        #expect(try #require(try own.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String } == ["/own"])
        let forced = try testbed(["check", "--json", "--format", "meson", "build"], in: tree.path)
        let forcedIDs = try #require(try forced.json()["tests"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(forcedIDs.first == "/tap count", "\(forced.stdout)\(forced.stderr)")
    }
}
