import Foundation
import Testing
import TestSupport

/// A 2×2 matrix whose kvm values need a file this host does not have, a matrix with an exclude, a drop-in with a
/// `testbed-variants:` header, and a plain test.
let variantSuite: [String: String] = [
    "testbed.yaml": """
    tests:
      mig/precopy:
        run: 'echo "machine=$TESTBED_VARIANT_MACHINE accel=$TESTBED_VARIANT_ACCEL flags=$FLAGS" > "$TESTBED_OUTPUT_DIR/seen"'
        variants:
          machine: [pc, q35]
          accel:
            tcg: {}
            kvm: {requires: ["file:/nonexistent/testbed-variant-kvm"], env: {FLAGS: fast}}
      trimmed:
        run: 'true'
        variants:
          a: [x, y]
          b: [1, 2]
          exclude: [{a: x, b: 2}]
      plain: 'true'
    """,
    "drop/boot.sh": """
    #!/bin/sh
    # testbed-variants: {smp: [1, 4]}
    [ "$TESTBED_VARIANT_SMP" = 1 ] || [ "$TESTBED_VARIANT_SMP" = 4 ]
    """,
]

let precopyIDs = ["/mig/precopy[machine=pc,accel=tcg]", "/mig/precopy[machine=pc,accel=kvm]",
                  "/mig/precopy[machine=q35,accel=tcg]", "/mig/precopy[machine=q35,accel=kvm]"]

@Suite("Variants end to end")
struct VariantCLITests {
    func tree() throws -> TemporaryTree {
        try TemporaryTree(variantSuite, executables: ["drop/boot.sh"])
    }

    /// The ids `check --json` selects with these options.
    func checkedIDs(_ options: [String], in tree: TemporaryTree) throws -> [String] {
        let result = try testbed(["check", "--json"] + options + ["."], in: tree.path)
        #expect(result.status == 0, "\(result.stderr)")
        let tests = try result.json()["tests"] as? [[String: Any]] ?? []
        return tests.compactMap { $0["id"] as? String }
    }

    @Test("check --json lists every variant with its test and variant; the kvm ones are unsupported, the tcg ones runnable")
    func checkJSON() throws {
        let tree = try tree()
        let result = try testbed(["check", "--json", "."], in: tree.path)
        #expect(result.status == 0, "\(result.stderr)")
        let tests = try result.json()["tests"] as? [[String: Any]] ?? []
        let byID = Dictionary(uniqueKeysWithValues: tests.map { ($0["id"] as? String ?? "", $0) })
        #expect(Set(byID.keys) == Set(precopyIDs + ["/trimmed[a=x,b=1]", "/trimmed[a=y,b=1]", "/trimmed[a=y,b=2]", "/plain",
                                                     "/drop/boot.sh[smp=1]", "/drop/boot.sh[smp=4]"]))
        for id in precopyIDs {
            let test = try #require(byID[id])
            #expect(test["test"] as? String == "/mig/precopy")
            let variant = try #require(test["variant"] as? [String: String])
            #expect(id.contains("machine=\(variant["machine"] ?? "?"),accel=\(variant["accel"] ?? "?")"))
            #expect(test["status"] as? String == (variant["accel"] == "kvm" ? "unsupported" : "runnable"))
        }
        let unmet = byID[precopyIDs[1]]?["unmet"] as? [[String: Any]] ?? []
        #expect(unmet.first?["requirement"] as? String == "file:/nonexistent/testbed-variant-kvm")
        #expect(byID["/plain"]?["test"] as? String == "/plain")
        #expect(byID["/plain"]?["variant"] == nil)
    }

    @Test("check groups the variants under their test, each with its status and reasons")
    func checkText() throws {
        let tree = try tree()
        let result = try testbed(["check", "."], in: tree.path)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let head = try #require(lines.firstIndex(of: "/mig/precopy (4 variants: 2 runnable, 2 unsupported)"), "\(result.stdout)")
        let group = lines[(head + 1)...].prefix { !$0.isEmpty }
        #expect(group.count == 6, "\(group)")
        #expect(group.first?.hasPrefix("  [machine=pc,accel=tcg]") == true)
        #expect(group.first?.hasSuffix(" runnable") == true)
        #expect(group.dropFirst().first?.hasPrefix("  [machine=pc,accel=kvm]") == true)
        #expect(group.dropFirst().first?.hasSuffix(" unsupported") == true)
        #expect(group.dropFirst(2).first?.contains("needs file:/nonexistent/testbed-variant-kvm") == true)
        #expect(lines.contains("/trimmed (3 variants: 3 runnable)"))
        #expect(lines.contains("/drop/boot.sh (2 variants: 2 runnable)"))
        // The plain test stays in its status section, counted there alone; the summary counts every test.
        let runnable = try #require(lines.firstIndex(of: "runnable (1)"))
        #expect(lines[runnable + 1] == "  /plain")
        #expect(lines.last { !$0.isEmpty } == "8 runnable, 0 need setup, 2 unsupported (10 tests)")
    }

    @Test("--id with the test's id selects all its variants, an exact bracketed id one, a glob of the test's id all")
    func selectByID() throws {
        let tree = try tree()
        #expect(try checkedIDs(["--id", "/mig/precopy"], in: tree) == precopyIDs)
        #expect(try checkedIDs(["--id", "/mig"], in: tree) == precopyIDs)
        #expect(try checkedIDs(["--id", "/mig/precopy[machine=q35,accel=kvm]"], in: tree) == [precopyIDs[3]])
        #expect(try checkedIDs(["--id", "*precopy"], in: tree) == precopyIDs)
        #expect(try checkedIDs(["-k", "q35"], in: tree) == [precopyIDs[2], precopyIDs[3]])
    }

    @Test("--variant: one axis repeated is either, axes together all; a test without the axis stays selected")
    func selectByVariant() throws {
        let tree = try tree()
        #expect(try checkedIDs(["--id", "/mig", "--variant", "accel=tcg"], in: tree) == [precopyIDs[0], precopyIDs[2]])
        #expect(try checkedIDs(["--id", "/mig", "--variant", "accel=tcg", "--variant", "machine=q35"], in: tree) == [precopyIDs[2]])
        #expect(try checkedIDs(["--id", "/mig", "--variant", "machine=pc", "--variant", "machine=q35", "--variant", "accel=kvm"],
                               in: tree) == [precopyIDs[1], precopyIDs[3]])
        let all = try checkedIDs(["--variant", "accel=kvm"], in: tree)
        #expect(all.contains("/plain") && all.contains("/trimmed[a=x,b=1]") && all.contains("/drop/boot.sh[smp=4]"))
        #expect(!all.contains(precopyIDs[0]))
        #expect(try checkedIDs(["--variant", "smp=4"], in: tree).filter { $0.hasPrefix("/drop") } == ["/drop/boot.sh[smp=4]"])
    }

    @Test("a --variant axis or value no selected test has is a bad command line, with the nearest", arguments: [
        (["--variant", "acel=tcg"], "--variant acel=tcg: no selected test has the axis \"acel\"; did you mean --variant accel=tcg?"),
        (["--variant", "accel=kvn"], "--variant accel=kvn: no selected test has the value \"kvn\" on the axis \"accel\"; "
            + "did you mean --variant accel=kvm?"),
        (["--id", "/plain", "--variant", "accel=tcg"], "no selected test has the axis \"accel\"; none of them has variants"),
        (["--variant", "accel"], "--variant accel has no `=`"),
        (["--variant", "accel=a b"], "is not AXIS=VALUE"),
    ])
    func badVariant(_ options: [String], message: String) throws {
        let tree = try tree()
        for command in ["check", "plan"] {
            let result = try testbed([command] + options + ["."], in: tree.path)
            #expect(result.status == 64)
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }

    @Test("an --id or -k with a variant's brackets that selects nothing says the combination is excluded, or suggests --variant",
          arguments: [
        (["--id", "/trimmed[a=x,b=2]"], "that combination of /trimmed's variants is excluded"),
        (["--id", "/trimmed[a=y]"], "to select variants by their values, write --id /trimmed --variant a=y"),
        (["-k", "[smp=4"], "to select variants by their values, write --variant smp=4"),
    ])
    func bracketHints(_ options: [String], message: String) throws {
        let tree = try tree()
        let result = try testbed(["check"] + options + ["."], in: tree.path)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("a --variant with an unknown axis suggests a pair some test has, not the nearest axis with a value it lacks")
    func variantGuessExists() throws {
        let tree = try tree()
        let result = try testbed(["check", "--variant", "smq=2", "."], in: tree.path)
        #expect(result.status == 64)
        // smp's values are 1 and 4: smp=2 would select nothing either.
        #expect(!result.stderr.contains("smp=2"), "\(result.stderr)")
        #expect(result.stderr.contains("did you mean --variant smp=1?") || result.stderr.contains("did you mean --variant smp=4?"),
                "\(result.stderr)")
    }

    @Test("run: the tcg variants pass with their variables, the kvm ones are unsupported; ids stable; directories inside")
    func run() throws {
        let tree = try tree()
        let first = try testbed(["run", "--id", "/mig", "."], in: tree.path)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let reported = try report(tree.path)
        #expect(reported.tests.compactMap { $0["id"] as? String } == precopyIDs)
        for id in precopyIDs {
            #expect(reported.outcome(id) == (id.contains("kvm") ? "unsupported" : "pass"))
        }
        let run = try FileManager.default.destinationOfSymbolicLink(atPath: tree["testbed-results/latest"])
        let runDirectory = tree["testbed-results/" + URL(fileURLWithPath: run).lastPathComponent]
        let names = try FileManager.default.contentsOfDirectory(atPath: runDirectory + "/tests").sorted()
        #expect(names == ["mig~precopy[machine=pc,accel=tcg]", "mig~precopy[machine=q35,accel=tcg]"])
        let seen = try String(contentsOfFile: runDirectory + "/tests/" + names[1] + "/seen", encoding: .utf8)
        #expect(seen == "machine=q35 accel=tcg flags=\n")

        let second = try testbed(["run", "--id", "/mig", "."], in: tree.path)
        #expect(second.status == 0)
        #expect(try report(tree.path).tests.compactMap { $0["id"] as? String } == precopyIDs)
    }

    @Test("a value's env reaches the test; the drop-in's variants run with their axis variable")
    func environment() throws {
        let tree = try TemporaryTree([
            "testbed.yaml": """
            tests:
              t:
                run: 'echo "$TESTBED_VARIANT_CPU_MODEL $MODE" > "$TESTBED_OUTPUT_DIR/seen"'
                variants:
                  cpu-model:
                    host: {env: {MODE: fast}}
                    max: ~
            """,
            "drop/boot.sh": variantSuite["drop/boot.sh"]!,
        ], executables: ["drop/boot.sh"])
        let result = try testbed(["run", "."], in: tree.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let tests = tree["testbed-results/latest/tests/"]
        #expect(try String(contentsOfFile: tests + "t[cpu-model=host]/seen", encoding: .utf8) == "host fast\n")
        #expect(try String(contentsOfFile: tests + "t[cpu-model=max]/seen", encoding: .utf8) == "max \n")
        let reported = try report(tree.path)
        #expect(reported.outcome("/drop/boot.sh[smp=1]") == "pass")
        #expect(reported.outcome("/drop/boot.sh[smp=4]") == "pass")
    }
}

@Suite("Variants in the lab's memory: history, why, flaky", .serialized)
struct VariantHistoryTests {
    @Test("each variant is its own test: history of the test lists each variant, why names one, flaky counts its own runs")
    func history() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
        tests:
          t:
            run: '[ "$TESTBED_VARIANT_MODE" = good ] || [ ! -e broken ]'
            flaky: 2/2
            variants:
              mode: [good, flip]
        """])
        let first = try testbed(["run", "."], in: tree.path)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        try tree.write("broken", "")
        // flip fails once in its last 2 runs: under its flaky bar (its own runs, not good's passes).
        let second = try testbed(["run", "."], in: tree.path)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        let third = try testbed(["run", "."], in: tree.path)
        #expect(third.status == 1, "\(third.stdout)\(third.stderr)")
        #expect(try report(tree.path).outcome("/t[mode=good]") == "pass")

        let history = try testbed(["history", "/t"], in: tree.path)
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.contains("history of /t[mode=flip] (newest first)"))
        #expect(history.stdout.contains("history of /t[mode=good] (newest first)"))
        #expect(history.stdout.components(separatedBy: "fail ratio:").count == 3)
        let json = try testbed(["history", "/t", "--json"], in: tree.path).json()
        #expect(json["test"] as? String == "/t")
        let variants = json["variants"] as? [[String: Any]] ?? []
        #expect(variants.compactMap { $0["test"] as? String } == ["/t[mode=flip]", "/t[mode=good]"])
        #expect(variants.compactMap { $0["total"] as? Int } == [3, 3])

        let one = try testbed(["history", "/t[mode=flip]", "--json"], in: tree.path).json()
        #expect(one["flips"] as? Int == 1)
        let why = try testbed(["why", "/t[mode=flip]"], in: tree.path)
        #expect(why.status == 0, "\(why.stderr)")
        #expect(why.stdout.hasPrefix("/t[mode=flip] last passed in run "), "\(why.stdout)")
        let base = try testbed(["why", "/t"], in: tree.path)
        #expect(base.status == 66)
        #expect(base.stderr.contains("/t is not a test id; tests under it: /t[mode=flip], /t[mode=good]"), "\(base.stderr)")
    }

    @Test("a TESTBED_VARIANT_* of the caller's reaches no test or setup")
    func callerVariableCleared() throws {
        let tree = try TemporaryTree(["testbed.yaml": """
        tests:
          plain: {run: 'echo "fruit=${TESTBED_VARIANT_FRUIT-unset}" > "$TESTBED_OUTPUT_DIR/seen"', setup: [s]}
          juice:
            run: 'echo "fruit=$TESTBED_VARIANT_FRUIT press=${TESTBED_VARIANT_PRESS-unset}" > "$TESTBED_OUTPUT_DIR/seen"'
            variants: {fruit: [kiwi]}
        setups:
          s: {run: '[ -z "${TESTBED_VARIANT_FRUIT+x}" ]'}
        """])
        let result = try testbed(["run", "."], in: tree.path,
                                 with: ["TESTBED_VARIANT_FRUIT": "spoof", "TESTBED_VARIANT_PRESS": "spoof"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try String(contentsOfFile: tree.path + "/testbed-results/latest/tests/plain/seen", encoding: .utf8) == "fruit=unset\n")
        #expect(try String(contentsOfFile: tree.path + "/testbed-results/latest/tests/juice[fruit=kiwi]/seen", encoding: .utf8)
            == "fruit=kiwi press=unset\n")
    }

    @Test("a drop-in named with brackets is refused, not taken for a variant")
    func bracketedDropIn() throws {
        let tree = try TemporaryTree(["z[q=1]": "#!/bin/sh\n# testbed-description: z\nexit 0\n"], executables: ["z[q=1]"])
        let result = try testbed(["check", "."], in: tree.path)
        #expect(result.status != 0)
        #expect(result.stderr.contains("z[q=1]"), "\(result.stderr)")
        #expect(result.stderr.contains("holds `[` or `]`, which Testbed keeps for variants' ids"), "\(result.stderr)")
    }
}
