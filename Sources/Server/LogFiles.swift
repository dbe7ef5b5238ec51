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
        case S_IFREG:
            // The database reached under another name (a symbolic or hard link a test left in its output): never opened.
            // Opening and closing it here would drop the SQLite locks this process holds on it (POSIX locks are per
            // process and file), and a writer could then delete the WAL under a reader.
            return isBookkeeping(info) ? .none : .file(real)
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

    /// Whether the file `info` describes is the database or one of its companion files (same device and inode).
    func isBookkeeping(_ info: stat) -> Bool {
        for name in Self.databaseFiles {
            var other = stat()
            if stat(root + "/" + name, &other) == 0, other.st_dev == info.st_dev, other.st_ino == info.st_ino { return true }
        }
        return false
    }

    /// Whether `path` leads (through links) to the database or one of its companion files.
    ///
    /// - Parameter path: an absolute path inside the results directory.
    /// - Returns: true when it is the database under another name.
    public func isBookkeeping(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && isBookkeeping(info)
    }

    /// The database and its companions, at the results directory's top.
    static let databaseFiles = ["testbed.sqlite", "testbed.sqlite-wal", "testbed.sqlite-shm", "testbed.sqlite-journal"]

    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
