import Declarations
import Foundation
import HostFacts
import Requirements

/// The top directory of a suite, and the parts of it a command line named.
///
/// A suite is one whole however a user points at it: from a path (a
/// directory, or the directory of a file) Testbed finds the nearest
/// `testbed.yaml` at or above it, then the top of the suite (see `find`), as
/// pytest finds its rootdir and git its top level. A `testbed.yaml` that says
/// `root: true` makes its directory a suite of its own. Test ids are always from the root; the path selects the tests it names.
public struct SuiteRoot: Sendable, Hashable {
    /// The root directory: absolute and standardized.
    public let path: String
    /// The root as shown to the user: relative to the working directory when
    /// below it (`.` for the working directory itself), absolute otherwise.
    public let shown: String
    /// The command-line paths that led here, as the user wrote them.
    public internal(set) var named: [String] = []
    /// What those paths select; several parts are OR'ed.
    public internal(set) var parts: [Part] = []

    /// What one command-line path selects in its suite.
    public enum Part: Sendable, Hashable {
        /// The root itself: every test.
        case whole
        /// A directory below the root: the tests whose id is this prefix or
        /// lies under it (`/image` selects `/image/boot`, not `/images`).
        case directory(idPrefix: String)
        /// A `testbed.yaml`: the tests declared in it. The directory is
        /// relative to the root (`""` for the root's own file).
        case declarations(directory: String)
        /// An executable: that one test, with or without a `testbed-` header.
        /// The path is relative to the root; the test's id is `/` + it.
        case executable(String)
    }

    /// A suite root, nothing named in it yet.
    /// - Parameters:
    ///   - path: The root directory, absolute and standardized.
    ///   - workingDirectory: The directory `shown` is relative to.
    public init(path: String, workingDirectory: String = FileManager.default.currentDirectoryPath) {
        self.path = path
        shown = Self.shown(path, from: workingDirectory)
    }

    /// Whether every test of the suite is selected.
    public var isWhole: Bool { parts.contains(.whole) }

    /// The directory that stands for `/` in test ids. From `directory`, the
    /// nearest directory at or above it that holds a `testbed.yaml`; then,
    /// inside a git work tree, the highest directory holding one up to the
    /// work tree's top (directories without one in between belong to the
    /// suite), and outside one, up while the parent holds one. A file that
    /// says `root: true` stops the walk; so does a work tree's top. Nil when
    /// no directory on the way holds one: then no suite lies around it.
    ///
    /// `directory` must be absolute and standardized.
    ///
    /// - Parameter directory: Where the walk starts: a directory the user named, absolute and standardized.
    /// - Returns: The suite root's absolute path, or nil when no directory on the way holds a `testbed.yaml`.
    public static func find(from directory: String) -> String? {
        var current = directory
        while !holdsDeclarations(current) {
            let parent = parentDirectory(of: current)
            guard parent != current, !isWorkTreeTop(current) else { return nil }
            current = parent
        }
        var root = current
        var stops = declaresRoot(declarationFile(in: root))
        let inWorkTree = isInWorkTree(current)
        while !stops, !isWorkTreeTop(current) {
            let parent = parentDirectory(of: current)
            guard parent != current else { break }
            if holdsDeclarations(parent) {
                root = parent
                stops = declaresRoot(declarationFile(in: root))
            } else if !inWorkTree {
                break
            }
            current = parent
        }
        return root
    }

    /// Whether the directory lies in a git work tree (it or a parent holds `.git`).
    static func isInWorkTree(_ directory: String) -> Bool {
        var current = directory
        while true {
            if isWorkTreeTop(current) { return true }
            let parent = parentDirectory(of: current)
            if parent == current { return false }
            current = parent
        }
    }

    /// Whether a directory below a suite's root starts a suite of its own,
    /// which the parent suite's walk leaves out: its `testbed.yaml` says
    /// `root: true`, or it is the top of another git work tree.
    ///
    /// - Parameter directory: An absolute path of a directory below a suite root.
    /// - Returns: True when it is a git work tree's top or its `testbed.yaml` says `root: true`.
    public static func startsSuiteOfItsOwn(_ directory: String) -> Bool {
        isWorkTreeTop(directory) || (holdsDeclarations(directory) && declaresRoot(declarationFile(in: directory)))
    }

    /// Whether the directory is the top of a git work tree (holds `.git`, a
    /// directory or, in a worktree or submodule, a file).
    static func isWorkTreeTop(_ directory: String) -> Bool {
        var info = stat()
        return stat((directory == "/" ? "" : directory) + "/.git", &info) == 0
    }

    /// A path as absolute and standardized (`.` and `..` resolved as text),
    /// relative paths taken from `workingDirectory`.
    ///
    /// - Parameters:
    ///   - path: A path as the user wrote it, absolute or relative.
    ///   - workingDirectory: The absolute directory a relative `path` starts from; the process's by default.
    /// - Returns: An absolute path without `.`, `..` or empty components (`..` at the root stays at `/`); links are not resolved.
    public static func absolute(_ path: String, from workingDirectory: String = FileManager.default.currentDirectoryPath) -> String {
        let full = path.hasPrefix("/") ? path : (workingDirectory.hasSuffix("/") ? workingDirectory + path : workingDirectory + "/" + path)
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// A path as short as it can be shown: relative to the working directory
    /// when below it, `.` for the working directory, absolute otherwise.
    ///
    /// - Parameters:
    ///   - path: An absolute, standardized path.
    ///   - workingDirectory: The absolute working directory it is shown from.
    /// - Returns: `.`, the part of `path` below `workingDirectory`, or `path` unchanged.
    public static func shown(_ path: String, from workingDirectory: String) -> String {
        if path == workingDirectory { return "." }
        let prefix = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        if path.hasPrefix(prefix) { return String(path.dropFirst(prefix.count)) }
        return path
    }

    /// `path` relative to the root (`""` for the root), or nil when it is not below it.
    func relative(_ path: String) -> String? {
        if path == self.path { return "" }
        let prefix = self.path == "/" ? "/" : self.path + "/"
        guard path.hasPrefix(prefix) else { return nil }
        return String(path.dropFirst(prefix.count))
    }

    static func parentDirectory(of directory: String) -> String {
        guard let slash = directory.lastIndex(of: "/"), directory != "/" else { return "/" }
        return slash == directory.startIndex ? "/" : String(directory[..<slash])
    }

    static func declarationFile(in directory: String) -> String {
        (directory == "/" ? "" : directory) + "/" + CatalogLoader.declarationFile
    }

    /// Whether the directory holds a `testbed.yaml` file (a directory of that name does not count).
    static func holdsDeclarations(_ directory: String) -> Bool {
        var info = stat()
        return stat(declarationFile(in: directory), &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// Whether a `testbed.yaml` says `root: true` at its top level. The file
    /// is parsed only when some line could be that key; a file that does not
    /// parse is not a root here (loading it reports why).
    static func declaresRoot(_ file: String) -> Bool {
        guard let data = try? readRegularFile(file, limit: declarationFileLimit), mayDeclareRoot(data) else { return false }
        let reader = YAMLReader(file: file)
        guard let text = String(data: data, encoding: .utf8), let document = try? reader.parse(text),
              let entries = try? reader.mapping(document, what: "a testbed.yaml file"),
              let entry = entries.first(where: { $0.key == rootKey }) else { return false }
        return (try? reader.bool(entry.value, what: rootKey)) == true
    }

    /// The top-level key that stops the walk.
    static let rootKey = "root"

    /// Whether a line starts (after spaces, `{`, `,` and a quote) with `root`
    /// and a colon: the cheap test before parsing (it runs for every
    /// sub-folder's testbed.yaml a suite walk meets; lines are skipped with memchr).
    static func mayDeclareRoot(_ data: Data) -> Bool {
        let root = Array(rootKey.utf8)
        func leads(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: ",")
                || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
        }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
            let count = raw.count
            var index = 0
            while index < count {
                var i = index
                while i < count, leads(base[i]) { i += 1 }
                if i + root.count <= count, root.indices.allSatisfy({ base[i + $0] == root[$0] }) {
                    var j = i + root.count
                    while j < count, base[j] == UInt8(ascii: " ") || base[j] == UInt8(ascii: "\"") || base[j] == UInt8(ascii: "'") {
                        j += 1
                    }
                    if j < count, base[j] == UInt8(ascii: ":") { return true }
                }
                guard i < count, let newline = memchr(base + i, 10, count - i) else { return false }
                index = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
            }
            return false
        }
    }
}
