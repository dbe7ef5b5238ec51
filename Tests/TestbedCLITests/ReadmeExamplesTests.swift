import Foundation
import Testing
import TestSupport

/// One example of README.md: a `$ testbed …` line in a fenced block and the lines
/// after it, up to the next `$ ` line or the end of the block.
struct ReadmeExample {
    let command: String
    let output: [String]
}

/// Every `$ ` example of README.md, in order.
func readmeExamples() throws -> [ReadmeExample] {
    let text = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    var examples: [ReadmeExample] = []
    var inBlock = false
    var command: String?
    var output: [String] = []
    func close() {
        if let command { examples.append(ReadmeExample(command: command, output: output)) }
        command = nil
        output = []
    }
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        if line.hasPrefix("```") {
            if inBlock { close() }
            inBlock.toggle()
        } else if inBlock, line.hasPrefix("$ ") {
            close()
            command = String(line.dropFirst(2))
        } else if inBlock, command != nil {
            output.append(line)
        }
    }
    return examples
}

/// The lines as the README shows them and the binary prints them, made comparable:
/// stderr's warnings and the `...` that elides them left out (only stdout is
/// compared), the kernel release in a `needs kernel` reason replaced, trailing blanks
/// and blank lines at the end dropped.
func comparable(_ lines: [String]) -> [String] {
    var kept = lines.filter { !$0.hasPrefix("testbed: warning:") && $0 != "..." }
        .map { line in
            var line = line.replacing(/(needs kernel [^;]*; this host has )\S+/) { $0.1 + "KERNEL" }
            while line.last == " " { line.removeLast() }
            return line
        }
    while kept.last == "" { kept.removeLast() }
    return kept
}

/// The README's example for `command`, and what the built binary prints for it
/// today, run from the repository's root.
func readmeAndBinary(_ command: String) throws -> (readme: [String], binary: [String]) {
    let example = try #require(try readmeExamples().first { $0.command == command },
                               "README.md has no block with `$ \(command)`; keep it, or change this test's list")
    let words = command.split(separator: " ").map(String.init)
    try #require(words.first == "testbed")
    let result = try testbed(Array(words.dropFirst()))
    #expect(result.status == 0, "\(command): \(result.stderr)")
    return (comparable(example.output), comparable(result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)))
}

/// Whether this host is the one the README's `examples` blocks were taken on: root,
/// QEMU and qemu-img installed, a usable /dev/kvm, in a Docker container, no nested
/// virtualization flags. Elsewhere those blocks differ by design.
func isReadmeHost() throws -> Bool {
    let probe = try testbed(["probe", "--json"]).json()
    let facts = (probe["facts"] as? [[String: Any]]) ?? []
    let names = Set(facts.compactMap { $0["name"] as? String })
    let virtualized = facts.first { $0["name"] as? String == "virtualized" }?["value"] as? String
    return names.isSuperset(of: ["root", "qemu", "qemu-img", "kvm"]) && virtualized == "container:docker"
        && !names.contains("cpu-flag:vmx") && !names.contains("cpu-flag:svm")
}

@Suite("README.md's examples are what the binary prints")
struct ReadmeExamplesTests {
    @Test("an example whose output is the same on every host matches the binary's output line for line",
          arguments: [
              "testbed plan walkthrough",
              "testbed check --environment environments/lab-r420-win7.yaml examples --tag lab",
          ])
    func hostIndependent(command: String) throws {
        let (readme, binary) = try readmeAndBinary(command)
        #expect(readme == binary, "README.md's `\(command)` block is stale; the binary prints:\n\(binary.joined(separator: "\n"))")
    }

    @Test("the examples suite's check and plan match the binary's output on a host like the README's",
          arguments: ["testbed check examples", "testbed plan examples"])
    func examplesSuite(command: String) throws {
        // Which tests need setups, and the reasons of the unsupported ones, depend on
        // the host: elsewhere the block is still found (readmeAndBinary requires it).
        let (readme, binary) = try readmeAndBinary(command)
        guard try isReadmeHost() else { return }
        #expect(readme == binary, "README.md's `\(command)` block is stale; the binary prints:\n\(binary.joined(separator: "\n"))")
    }

    @Test("the walkthrough's run prints the README's summary, its progress lines in some order, and exits as the README says")
    func walkthroughRun() throws {
        let example = try #require(try readmeExamples().first { $0.command == "testbed run walkthrough" })
        let exitCode = try #require(try readmeExamples().first { $0.command == "echo $?" }?.output.first.flatMap { Int32($0) })
        // A copy, so the run writes no results into the repository.
        let tree = try TemporaryTree()
        try FileManager.default.copyItem(atPath: packageRoot.appendingPathComponent("walkthrough").path, toPath: tree["walkthrough"])
        let result = try testbed(["run", "walkthrough"], in: tree.path)
        #expect(result.status == exitCode, "\(result.stderr)")
        // Run ids, durations, -j and the absolute path bash names its script by differ from run to run and host to host.
        func runComparable(_ lines: [String]) -> [String] {
            comparable(lines).map { line in
                line.replacing(/\d{8}-\d{6}-[0-9a-f]{4}/, with: "RUN")
                    .replacing(/\(\d+\.\d+ s\)/, with: "(D s)")
                    .replacing(/, \d+\.\d s$/, with: ", D s")
                    .replacing(/-j \d+$/, with: "-j N")
                    .replacing(/\| \S*\/walkthrough\/setup\//, with: "| walkthrough/setup/")
            }
        }
        let shown = runComparable(example.output)
        let summaryStart = try #require(shown.firstIndex { $0.hasPrefix("run RUN on ") }, "README.md's run block has no summary")
        let printed = runComparable(result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        let printedSummary = Array(printed.drop { !$0.hasPrefix("run RUN on ") })
        #expect(Array(shown[summaryStart...]) == printedSummary,
                "README.md's `testbed run walkthrough` summary is stale; the binary prints:\n\(result.stdout)")
        // Progress lines (stderr, one per finished step off a terminal) come in the order steps finish.
        let shownProgress = shown[..<summaryStart].filter { !$0.isEmpty }.sorted()
        let printedProgress = runComparable(result.stderr.split(separator: "\n").map(String.init)).filter { !$0.isEmpty }.sorted()
        #expect(shownProgress == printedProgress, "README.md's `testbed run walkthrough` progress lines are stale; the binary prints:\n\(result.stderr)")
    }

    @Test("the comparison keeps a changed line, and forgives only warnings, the kernel release and trailing blanks")
    func comparisonIsStrict() {
        let shown = ["testbed: warning: x", "...", "  /kernel/future-syscall", "      needs kernel >= 99.0; this host has 6.1.0-13-amd64", ""]
        let printed = ["  /kernel/future-syscall  ", "      needs kernel >= 99.0; this host has 6.18.44-fc-v669"]
        #expect(comparable(shown) == comparable(printed))
        #expect(comparable(["7 runnable, 4 need setup"]) != comparable(["7 runnable, 5 need setup"]))
        #expect(comparable(["1  test  /a"]) != comparable(["1  test  /a", "2  test  /b"]))
    }

    @Test("the README sends readers to docs/, whose pages all exist")
    func docsLinks() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(!readme.contains("DESIGN.md"))
        for page in ["README", "first-suite", "requirements", "facts", "environments", "suites", "outcomes", "results"] {
            #expect(FileManager.default.fileExists(atPath: packageRoot.appendingPathComponent("docs/\(page).md").path), "docs/\(page).md")
        }
        for link in readme.matches(of: /\]\((docs\/[^)#]+)/) {
            #expect(FileManager.default.fileExists(atPath: packageRoot.appendingPathComponent(String(link.1)).path), "\(link.1)")
        }
    }
}
