import Foundation

/// The read-only view of the results directory under `/logs/`: a file or directory inside it, never one outside.
public struct LogFiles: Sendable {
    /// The results directory, resolved (`realpath`).
    public let root: String

    /// The view of `directory`.
    ///
    /// - Parameter directory: the results directory.
    public init(directory: String) {
        root = Self.resolved(directory) ?? URL(fileURLWithPath: directory).standardizedFileURL.path
    }

    /// What a request path names inside the results directory.
    public enum Entry: Equatable, Sendable {
        /// A regular file at this absolute path.
        case file(String)
        /// A directory at this absolute path.
        case directory(String)
        /// Nothing readable there, or a path leading outside the results directory.
        case none
    }

    /// The entry `relative` names: refused (`none`) when it is absolute, holds `..`, `.`, an empty
    /// component or a NUL, names a hidden entry (`isHidden`), or resolves (through symbolic links) to a
    /// place outside the results directory.
    ///
    /// - Parameter relative: the path below `/logs/`, percent-decoded.
    /// - Returns: the entry.
    public func entry(_ relative: String) -> Entry {
        if relative.hasPrefix("/") || relative.contains("\0") || relative.contains("\\") { return .none }
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        let trimmed = parts.last == "" ? parts.dropLast() : parts[...]
        if trimmed.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) { return .none }
        for (index, part) in trimmed.enumerated() where Self.isHidden(String(part), atRoot: index == 0) { return .none }
        let joined = trimmed.isEmpty ? root : root + "/" + trimmed.joined(separator: "/")
        guard let real = Self.resolved(joined), real == root || real.hasPrefix(root == "/" ? "/" : root + "/") else { return .none }
        var info = stat()
        guard stat(real, &info) == 0 else { return .none }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(real)
        case S_IFDIR: return .directory(real)
        default: return .none
        }
    }

    /// Whether `name` is kept out of `/logs/`: Testbed's own bookkeeping, not a log. Every dot entry (the
    /// results directory's `.lock`, a run directory's `.running`) and, at the results directory's top, the
    /// database and its WAL, shared-memory and journal files (`testbed.sqlite*`).
    ///
    /// - Parameters:
    ///   - name: one path component.
    ///   - atRoot: whether it is directly in the results directory.
    /// - Returns: true when hidden.
    public static func isHidden(_ name: String, atRoot: Bool) -> Bool {
        name.hasPrefix(".") || (atRoot && name.hasPrefix("testbed.sqlite"))
    }

    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
