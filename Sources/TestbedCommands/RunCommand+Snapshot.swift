import ArgumentParser
import Catalog
import Declarations
import Execution
import Foundation
import HostFacts
import Results

/// `--label KEY=VALUE`, and the run's snapshot: started before the plan is
/// made, awaited just before the run starts, written to `snapshot.json`.
extension RunCommand {
    /// The characters of a label's key.
    static func isLabelKeyCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_" || character == "." || character == "-")
    }

    /// `--label` options as a map, checked: `KEY=VALUE`, the key of
    /// letters, digits and `_ . -`, given once; the value printable (it may be empty).
    ///
    /// - Parameter texts: the options' values, in order.
    /// - Returns: key → value.
    /// - Throws: `ValidationError` naming the option and the fix (a usage error: exit 64).
    static func parseLabels(_ texts: [String]) throws(ValidationError) -> [String: String] {
        var labels: [String: String] = [:]
        for text in texts {
            guard let equals = text.firstIndex(of: "=") else {
                throw ValidationError("--label \(shortened(text)) has no `=`; write KEY=VALUE, e.g. --label qemu=9.1.0-rc2")
            }
            let key = String(text[..<equals])
            let value = String(text[text.index(after: equals)...])
            guard !key.isEmpty, key.allSatisfy(isLabelKeyCharacter) else {
                throw ValidationError("--label \(shortened(text)): the key \(key.isEmpty ? "is empty" : "\(shortened(key)) is not a label key"); "
                    + "write a key of letters, digits, _ . and - before the `=`, e.g. --label build=abc123")
            }
            guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw ValidationError("--label \(key): the value has a control character; write it with printable characters only")
            }
            if let earlier = labels[key], earlier != value {
                throw ValidationError("--label \(key) is given twice (\(shortened(earlier)) and \(shortened(value))); give each key once")
            }
            labels[key] = value
        }
        return labels
    }

    /// Starts taking the snapshot of a run in `environment` (git on the
    /// first suite root; the results directory does not make it dirty).
    ///
    /// - Parameters:
    ///   - environment: the run's environment.
    ///   - suites: the suites named on the command line.
    ///   - results: the results directory, as given.
    /// - Returns: the collection going on.
    static func startSnapshot(of environment: Environment, suites: SuitePaths, results: String) -> SnapshotProbe.Pending {
        SnapshotProbe(environment: environment, suiteRoot: suites.suites.first?.path,
                      resultsDirectory: URL(fileURLWithPath: results).standardizedFileURL.path).start()
    }

    /// The run's provenance once the snapshot is taken, with `labels`; its
    /// warnings printed, and the snapshot written to `snapshot.json` in the run directory.
    ///
    /// - Parameters:
    ///   - pending: the collection `startSnapshot` began.
    ///   - labels: the run's labels.
    ///   - layout: the run's directories.
    /// - Returns: what the run records.
    static func finishSnapshot(_ pending: SnapshotProbe.Pending, labels: [String: String], layout: RunLayout) async -> RunProvenance {
        let collected = await pending.value()
        for warning in collected.warnings { writeText("testbed: warning: \(warning)\n", to: STDERR_FILENO) }
        var provenance = collected.provenance
        provenance.labels = labels
        if let snapshot = provenance.snapshot {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            if let data = try? encoder.encode(snapshot) {
                writeFile("snapshot.json", in: layout) { $0(String(decoding: data, as: UTF8.self) + "\n") }
            }
        }
        return provenance
    }
}
