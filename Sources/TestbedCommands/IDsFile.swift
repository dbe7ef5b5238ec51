import Catalog
import Declarations
import Foundation

/// `--ids-from FILE`: test ids to select exactly, one per line, as a grid run writes them for each shard
/// (`<RESULTS>/grid/<GRID>/<NODE>.ids`) and as a user may write them by hand.
///
/// Blank lines and lines whose first non-blank character is `#` are ignored; spaces and tabs around an id are
/// trimmed (a CRLF file reads as well); an id without a leading `/` gets one, as `--id` does. Each id must be a
/// test the paths select: one that is not names its file and line (`ids.txt:3`) with the nearest id.
struct IDsFile {
    /// The file as named on the command line (shown in messages).
    let path: String
    /// Each id, with the line (from 1) it is on, in file order.
    let entries: [(id: String, line: Int)]

    /// The ids, as a set for the selection.
    var ids: Set<String> { Set(entries.map(\.id)) }

    /// Reads the file.
    ///
    /// - Parameter path: the path as given.
    /// - Throws: `IDsFile.Problem` when it cannot be read or is not UTF-8 text.
    init(contentsOf path: String) throws(Problem) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Problem("--ids-from \(path.escapingControls) cannot be read (\(Self.reason(error))); name a readable file of test ids, one per line")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Problem("--ids-from \(path.escapingControls) is not UTF-8 text; write one test id per line")
        }
        self.init(path: path, text: text)
    }

    /// Parses a file's text.
    ///
    /// - Parameters:
    ///   - path: the file's name, for messages.
    ///   - text: its contents.
    init(path: String, text: String) {
        self.path = path
        var entries: [(id: String, line: Int)] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r"))
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            entries.append((line.hasPrefix("/") ? line : "/" + line, index + 1))
        }
        self.entries = entries
    }

    /// The lines whose id is not a test the paths select, each as `FILE:LINE: ID is not …; did you mean …?`
    /// (at most 10, then how many more).
    ///
    /// - Parameters:
    ///   - known: the ids of the tests the paths select (`SuiteCatalog.tests`).
    ///   - elsewhere: the ids of the suite's tests the paths left out (`SuiteCatalog.unselectedIDs`).
    ///   - narrowing: what the paths select (`those under /net`), when they name part of a suite.
    /// - Returns: the lines; empty when every id is known.
    func unknownLines(known: [String], elsewhere: [String], narrowing: String?) -> [String] {
        let knownSet = Set(known)
        let unknown = entries.filter { !knownSet.contains($0.id) }
        guard !unknown.isEmpty else { return [] }
        let outside = Set(elsewhere)
        var candidates: [String]?
        var lines: [String] = []
        for entry in unknown.prefix(10) {
            var line = "\(path.escapingControls):\(entry.line): \(entry.id.escapingControls)"
            if outside.contains(entry.id) {
                line += " is a test of the suite but not among \(narrowing ?? "the tests the paths select")"
                    + "; name the suite root, or remove the line"
            } else {
                line += " is not a test of the suite"
                if candidates == nil { candidates = known.sorted() }
                if let guess = closest(to: entry.id, in: candidates ?? []) {
                    line += "; did you mean \(guess.escapingControls)?"
                } else {
                    line += "; `testbed check --json` lists the ids"
                }
            }
            lines.append(line)
        }
        if unknown.count > 10 { lines.append("… and \(unknown.count - 10) more ids of \(path.escapingControls) that are not tests of the suite") }
        return lines
    }

    /// An `--ids-from` file that cannot be read, as a message.
    struct Problem: Error, CustomStringConvertible {
        /// What went wrong and what to do.
        let description: String

        init(_ description: String) { self.description = description }
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return nsError.localizedDescription
    }
}
