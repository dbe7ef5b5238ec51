import Foundation

/// A directory tree made for one test, removed when the value goes away:
/// fixture `/proc` and `/sys` layouts, suites, environment files.
public final class TemporaryTree: @unchecked Sendable {
    /// The tree's absolute path, under the temporary directory.
    public let path: String

    /// Makes the tree with these files.
    /// - Parameters:
    ///   - files: File contents by path below the tree.
    ///   - executables: The paths of `files` made executable (0755).
    /// - Throws: What creating a directory or writing a file throws.
    public init(_ files: [String: String] = [:], executables: Set<String> = []) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("testbed-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
        for (name, content) in files {
            try write(name, content, executable: executables.contains(name))
        }
    }

    /// Writes a file below the tree, making directories as needed.
    /// - Parameters:
    ///   - name: The file's path below the tree.
    ///   - content: Its text, written as UTF-8.
    ///   - executable: Whether to make it executable (0755).
    /// - Throws: What creating the directories or writing the file throws.
    public func write(_ name: String, _ content: String, executable: Bool = false) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(content.utf8).write(to: url)
        if executable {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
    }

    /// Makes an empty directory below the tree (and its parents).
    /// - Parameter name: The directory's path below the tree.
    /// - Throws: What creating it throws.
    public func directory(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: self[name], withIntermediateDirectories: true)
    }

    /// The absolute path of a file in the tree.
    public subscript(name: String) -> String { path + "/" + name }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
