import Foundation

/// Reads a YAML declaration file with the line of every value at hand, so each
/// error can name file and line.
public struct YAMLReader: Sendable {
    /// The file as the user named it.
    public let file: String

    /// A reader whose errors name `file`.
    /// - Parameter file: The file as the user named it; only shown, never opened.
    public init(file: String) {
        self.file = file
    }

    /// Parses the text of one YAML document; aliases are expanded.
    /// - Parameter text: The whole file's text.
    /// - Returns: The root node; nil for an empty document (nothing, `~` or `null`).
    /// - Throws: `DeclarationError` naming `file` and the line: a YAML syntax
    ///   error, a duplicate key, more than one document, an alias expansion or
    ///   nesting over the limits, a character YAML refuses.
    public func parse(_ text: String) throws(DeclarationError) -> YAMLNode? {
        do {
            let root = try YAMLEventParser.parse(text)
            if case .scalar(let text, _, true)? = root, text.isEmpty || text == "~" || text == "null" { return nil }
            return root
        } catch {
            throw DeclarationError(file: file, line: error.line, message: error.isSyntax
                                   ? error.message + "; fix the YAML at that line" : error.message)
        }
    }

    /// The 1-based line of a node.
    /// - Parameter node: A node this reader parsed.
    /// - Returns: The line the node starts on.
    public func line(_ node: YAMLNode) -> Int? { node.line }

    /// An error at a node of this file.
    /// - Parameters:
    ///   - node: The node at fault; nil for the whole file.
    ///   - message: What is wrong and how to fix it: lowercase, ending with the fix.
    /// - Returns: The error naming `file` and the node's line.
    public func error(_ node: YAMLNode?, _ message: String) -> DeclarationError {
        DeclarationError(file: file, line: node?.line, message: message)
    }

    /// An entry of a mapping: the key's text, the key node (for its line) and the value.
    public typealias Entry = (key: String, keyNode: YAMLNode, value: YAMLNode)

    /// The entries of a mapping in file order. A merge key (`<<: *defaults`)
    /// adds the merged mapping's entries that are not written here.
    /// - Parameters:
    ///   - node: The node that must be a mapping.
    ///   - what: What the mapping is, for messages (`test "qmp"`).
    /// - Returns: The entries, those written here first, then the merged ones.
    /// - Throws: `DeclarationError` when `node` is not a mapping, a key is not
    ///   a scalar, or `<<` merges something other than a mapping.
    public func mapping(_ node: YAMLNode, what: @autoclosure () -> String) throws(DeclarationError) -> [Entry] {
        guard case let .mapping(pairs, _) = node else {
            throw error(node, "\(what()) must be a mapping of `key: value` lines, not \(describe(node))")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(pairs.count)
        var merged: [Entry] = []
        for (key, value) in pairs {
            guard case let .scalar(text, _, plain) = key else {
                throw error(key, "a key in \(what()) must be plain text")
            }
            if text == "<<" && plain {
                let sources: [YAMLNode]
                if case .sequence(let items, _) = value { sources = items } else { sources = [value] }
                for source in sources {
                    guard case .mapping = source else {
                        throw error(value, "`<<` in \(what()) must merge a mapping, e.g. `<<: *defaults`")
                    }
                    merged += try mapping(source, what: what())
                }
                continue
            }
            entries.append((text, key, value))
        }
        if !merged.isEmpty {
            var seen = Set(entries.map(\.key))
            for entry in merged where seen.insert(entry.key).inserted { entries.append(entry) }
        }
        return entries
    }

    /// Rejects keys not in `allowed`, suggesting the nearest one.
    /// - Parameters:
    ///   - entries: The entries of a mapping (`mapping(_:what:)`).
    ///   - allowed: The known keys, compared exactly (case matters).
    ///   - what: What the mapping is, for messages (`test "qmp"`).
    /// - Throws: `DeclarationError` at the first unknown key's line, with a
    ///   did-you-mean (`closest(to:in:)`) or the list of known keys.
    public func checkKeys(_ entries: [Entry], allowed: [String], what: @autoclosure () -> String) throws(DeclarationError) {
        for entry in entries where !allowed.contains(where: { $0.utf8.count == entry.key.utf8.count && $0 == entry.key }) {
            var message = "unknown key \"\(entry.key)\" in \(what())"
            if let guess = closest(to: entry.key, in: allowed) {
                message += "; did you mean \"\(guess)\"?"
            } else {
                message += "; known keys are \(allowed.joined(separator: ", "))"
            }
            throw error(entry.keyNode, message)
        }
    }

    /// A scalar as the text it was written with (`8.10` stays `8.10`).
    /// - Parameters:
    ///   - node: The node that must be a scalar.
    ///   - what: What the value is, for messages (`the run of test "qmp"`).
    /// - Returns: The scalar's text.
    /// - Throws: `DeclarationError` when `node` is a mapping or a list.
    public func string(_ node: YAMLNode, what: @autoclosure () -> String) throws(DeclarationError) -> String {
        guard case let .scalar(text, _, _) = node else {
            throw error(node, "\(what()) must be a single value, not \(describe(node))")
        }
        return text
    }

    /// A list of strings; a single scalar counts as a list of one, an empty plain one as none.
    /// - Parameters:
    ///   - node: A scalar or a list of scalars.
    ///   - what: What the list is, for messages (`the tags of test "qmp"`).
    /// - Returns: The texts in file order.
    /// - Throws: `DeclarationError` when `node` is a mapping or an item is not a scalar.
    public func strings(_ node: YAMLNode, what: @autoclosure () -> String) throws(DeclarationError) -> [String] {
        switch node {
        case let .scalar(text, _, plain):
            return text.isEmpty && plain ? [] : [text]
        case let .sequence(items, _):
            var result: [String] = []
            result.reserveCapacity(items.count)
            for item in items {
                result.append(try string(item, what: "each item of \(what())"))
            }
            return result
        case .mapping:
            throw error(node, "\(what()) must be a list such as [a, b], not \(describe(node))")
        }
    }

    /// A boolean: true/false, yes/no, on/off, in any case.
    /// - Parameters:
    ///   - node: The node that must be one of those scalars.
    ///   - what: What the value is, for messages.
    /// - Returns: The value.
    /// - Throws: `DeclarationError` for any other value, a mapping or a list.
    public func bool(_ node: YAMLNode, what: @autoclosure () -> String) throws(DeclarationError) -> Bool {
        let text = try string(node, what: what()).lowercased()
        switch text {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, "\(what()) must be true or false, not \"\(text)\"")
        }
    }

    func describe(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let text, _, _): "the value \"\(text)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}

/// The largest declaration file read, in bytes (32 MiB, some 300,000 tests): a bigger
/// one is refused before it is read, so a stray file cannot exhaust memory.
public let declarationFileLimit = 32 << 20

/// The line (counting LF) of the first CR that is not followed by LF, if any.
func loneCarriageReturnLine(_ data: Data) -> Int? {
    data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Int? in
        guard bytes.contains(13) else { return nil }
        var line = 1
        for index in bytes.indices {
            switch bytes[index] {
            case 10: line += 1
            case 13 where index + 1 == bytes.count || bytes[index + 1] != 10: return line
            default: break
            }
        }
        return nil
    }
}

/// Why a file could not be read whole (`readRegularFile`).
public enum FileReadProblem: Error, Sendable, Equatable {
    /// open or fstat failed with this errno (ENOENT, EACCES…).
    case cannotOpen(Int32)
    /// The path is a directory.
    case directory
    /// A FIFO, socket or device: `a FIFO`.
    case notRegular(String)
    /// Larger than the limit: its size in bytes.
    case tooLarge(Int)
}

/// What a file that is neither a regular file nor a directory is, for a
/// message: `a FIFO`, `a socket`, `a character device`, `a block device`;
/// nil for a regular file or a directory.
/// - Parameter mode: A `st_mode` from stat or fstat.
/// - Returns: The kind with its article, `not a regular file` for an unknown
///   type, or nil.
public func fileKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG, S_IFDIR: nil
    case S_IFIFO: "a FIFO"
    case S_IFSOCK: "a socket"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    default: "not a regular file"
    }
}

/// A regular file's bytes, at most `limit`: opened with O_NONBLOCK and
/// checked with fstat before any read, so a FIFO or a device named (or
/// swapped in) where a file was expected is refused, never read blocking
/// or without end.
/// - Parameters:
///   - path: The file to read.
///   - limit: The most bytes accepted.
/// - Returns: The file's bytes, read to its end (a file that grows while it is
///   read is read on, up to the limit).
/// - Throws: `FileReadProblem`: `.cannotOpen(errno)`, `.directory`,
///   `.notRegular(kind)`, or `.tooLarge(bytes)` when over `limit`.
public func readRegularFile(_ path: String, limit: Int) throws(FileReadProblem) -> Data {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard fd >= 0 else {
        // A Unix socket cannot be opened at all (ENXIO): say what it is, not "cannot be read".
        let code = errno
        var info = stat()
        if stat(path, &info) == 0, let kind = fileKind(info.st_mode) { throw .notRegular(kind) }
        throw .cannotOpen(code)
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw .cannotOpen(errno) }
    if info.st_mode & S_IFMT == S_IFDIR { throw .directory }
    if let kind = fileKind(info.st_mode) { throw .notRegular(kind) }
    if Int(info.st_size) > limit { throw .tooLarge(Int(info.st_size)) }
    var data = Data(count: Int(info.st_size) + 1)
    var count = 0
    while true {
        if count == data.count {
            // It grew since fstat: read on, up to just past the limit.
            guard count <= limit else { throw .tooLarge(count) }
            data.count = min(limit + 1, max(count * 2, 4096))
        }
        let got = data.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
        if got < 0 && errno == EINTR { continue }
        if got < 0 { throw .cannotOpen(errno) }
        if got == 0 { break }
        count += got
    }
    if count > limit { throw .tooLarge(count) }
    data.count = count
    return data
}

/// Reads a declaration file as UTF-8 text, refusing directories, FIFOs and
/// devices, and files over `declarationFileLimit` (32 MiB).
/// - Parameters:
///   - path: The file to read.
///   - shownAs: The file as the user named it, for messages.
/// - Returns: The file's text.
/// - Throws: `DeclarationError` for the whole file naming `shownAs`: missing,
///   unreadable, a directory, a FIFO or device, too large, not UTF-8, out of
///   descriptors (`isTestbedLimit`); or at the line of a carriage return that
///   does not end a line.
public func readDeclarationFile(_ path: String, shownAs: String) throws(DeclarationError) -> String {
    let data: Data
    do {
        data = try readRegularFile(path, limit: declarationFileLimit)
    } catch {
        if case .cannotOpen(let code) = error, DeclarationError.isDescriptorShortage(code) {
            throw .outOfDescriptors(file: shownAs, errno: code)
        }
        let message = switch error {
        case .cannotOpen(ENOENT), .cannotOpen(ENOTDIR): "no such file; check the path"
        case .cannotOpen: "cannot be read; check its permissions"
        case .directory: "is a directory, not a file; name a YAML file"
        case .notRegular(let kind): "is \(kind), not a regular file; name a YAML file"
        case .tooLarge(let size): "is \(String(format: "%.1f MB", Double(size) / 1_000_000)); a declaration file may hold at most "
            + "\(declarationFileLimit / 1_048_576) MiB; split it into testbed.yaml files in subdirectories"
        }
        throw DeclarationError(file: shownAs, line: nil, message: message)
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw DeclarationError(file: shownAs, line: nil, message: "is not UTF-8 text; save it as UTF-8")
    }
    // YAML counts a lone CR as a line break, editors and grep do not: line
    // numbers would disagree. (Found by fuzzing the loader.)
    if let line = loneCarriageReturnLine(data) {
        throw DeclarationError(file: shownAs, line: line, message:
            "has a carriage return that does not end a line (not CRLF); remove it, or save the file with LF or CRLF line endings")
    }
    return text
}
