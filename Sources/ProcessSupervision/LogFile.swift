import CShim
import Declarations
import Foundation
import Synchronization

/// A log file Testbed created for a step and holds open while the step runs
/// (closed when the value goes away). The step's stdout and stderr are this
/// very descriptor, and reasons are read back from it: whatever the step does
/// to the name (a link to `/dev/zero`, a FIFO), Testbed reads what the step
/// wrote, at most `LogTail.window` bytes.
public final class LogFile: Sendable {
    /// The open descriptor (write-only, appending) the step's stdout and stderr are.
    public let descriptor: Int32
    /// Relative to the run directory.
    public let relative: String
    /// Whether an `append` failed with ENOSPC (or EDQUOT): the disk was full
    /// while the step ran, whatever it is by the time the step ends.
    let noSpace = Atomic<Bool>(false)

    /// Takes ownership of `descriptor` (closed when the value goes away);
    /// `relative` is its path from the run directory.
    /// - Parameters:
    ///   - descriptor: An open descriptor of the log file, now owned by this value.
    ///   - relative: The log's path from the run directory (`tests/a/output.log`).
    public init(descriptor: Int32, relative: String) {
        self.descriptor = descriptor
        self.relative = relative
    }

    deinit { close(descriptor) }

    /// Appends text; a failure to write is not an error (a full disk is
    /// remembered: `sawFullDisk`).
    /// - Parameter text: The text, written as UTF-8 in full (short writes and EINTR retried).
    public func append(_ text: String) {
        var text = text
        let status = text.withUTF8 { testbed_write_all(descriptor, $0.baseAddress, $0.count) }
        if status == -ENOSPC || status == -EDQUOT { noSpace.store(true, ordering: .relaxed) }
    }

    /// Whether Testbed's own writes to this log found the disk full.
    public var sawFullDisk: Bool { noSpace.load(ordering: .relaxed) }

    /// The last `count` lines (see `LogTail.lines`).
    /// - Parameter count: The most lines wanted.
    /// - Returns: Up to `count` lines, oldest first, trailing blank lines dropped, each
    ///   made printable and cut at 300 characters (`printable`); empty when none can be read.
    public func tail(count: Int) -> [String] { LogTail.lines(descriptor: descriptor, count: count) }

    /// The last non-empty line without its indentation, for a short reason.
    /// - Returns: The line, or nil when the log holds none.
    public func lastLine() -> String? { LogTail.lastLine(of: tail(count: 1)) }
}

/// The end of a log file, read without loading the whole file: at most the
/// last `window` bytes, from a regular file only (a FIFO, a device or a link
/// a step planted gives no lines, never a hang or an endless read).
public enum LogTail {
    /// How much of a log's end is read, at most, in bytes (64 KiB).
    public static let window = 65536

    /// The last `count` lines of the log at `path`. A symbolic link at
    /// `path` itself, or anything but a regular file, gives none.
    /// - Parameters:
    ///   - path: The log file.
    ///   - count: The most lines wanted.
    /// - Returns: Up to `count` lines, oldest first, trailing blank lines dropped, each
    ///   made printable and cut at 300 characters (`printable`); empty when none can be read.
    public static func lines(_ path: String, count: Int) -> [String] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return lines(descriptor: fd, count: count)
    }

    /// The last `count` lines of the log `relative` (such as
    /// `setups/img/run.log`) below the run directory `directory`, the run
    /// directory and every name below it opened without following links
    /// (the directories above it are the user's): what a step left there after
    /// the run cannot make a report read outside the results, block or read
    /// without end.
    /// - Parameters:
    ///   - directory: The run directory.
    ///   - relative: The log's path below it; a `..` gives none.
    ///   - count: The most lines wanted.
    /// - Returns: Up to `count` lines, oldest first, trailing blank lines dropped, each
    ///   made printable and cut at 300 characters (`printable`); empty when none can be read.
    public static func lines(inRun directory: String, log relative: String, count: Int) -> [String] {
        let fd = openLog(inRun: directory, log: relative)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return lines(descriptor: fd, count: count)
    }

    /// Why the log `relative` cannot be read in the run directory ("not
    /// there", "not a regular file": a link on the way, a FIFO); nil when it
    /// is a regular file reached without a link (what `lines(inRun:log:count:)` reads).
    /// - Parameters:
    ///   - directory: The run directory.
    ///   - relative: The log's path below it.
    /// - Returns: `not there`, `not a regular file`, or nil.
    public static func absence(inRun directory: String, log relative: String) -> String? {
        let fd = openLog(inRun: directory, log: relative)
        guard fd >= 0 else { return errno == ENOENT ? "not there" : "not a regular file" }
        defer { close(fd) }
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? nil : "not a regular file"
    }

    /// The log `relative` below `directory`, opened read-only without
    /// following a link on the way, nor blocking on a FIFO; -1 when it cannot be.
    static func openLog(inRun directory: String, log relative: String) -> Int32 {
        var names = relative.split(separator: "/").map(String.init)
        guard let file = names.popLast(), !names.contains(".."), file != ".." else { return -1 }
        var parent = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard parent >= 0 else { return -1 }
        for name in names {
            let next = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(parent)
            guard next >= 0 else { return -1 }
            parent = next
        }
        let fd = openat(parent, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        close(parent)
        return fd
    }

    /// The last `count` lines of an open regular file, read with `pread`
    /// (the file offset is left alone): at most the last `window` bytes.
    /// - Parameters:
    ///   - fd: An open descriptor; anything but a regular file gives none.
    ///   - count: The most lines wanted.
    /// - Returns: Up to `count` lines, oldest first, trailing blank lines dropped, each
    ///   made printable and cut at 300 characters (`printable`); empty when none can be read.
    public static func lines(descriptor fd: Int32, count: Int) -> [String] {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return [] }
        let size = Int(info.st_size)
        let start = max(0, size - window)
        var data = [UInt8](repeating: 0, count: size - start)
        var filled = 0
        while filled < data.count {
            let got = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(start + filled)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            filled += got
        }
        let text = String(decoding: data[0..<filled], as: UTF8.self)
        var all = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if start > 0, !all.isEmpty { all.removeFirst() }
        while let last = all.last, last.trimmingCharacters(in: .whitespaces).isEmpty { all.removeLast() }
        return Array(all.suffix(count)).map { printable($0, limit: 300) }
    }

    /// Keeps text printable: every character `isUnprintable` names but a tab
    /// becomes `?` (C0 and C1 controls and DEL would garble a terminal, the
    /// bidirectional controls U+202A–U+202E, U+2066–U+2069, U+200E, U+200F
    /// and U+061C reorder what it shows, U+2028/U+2029 break lines), and more
    /// than `limit` characters end in `…`.
    /// - Parameters:
    ///   - line: One line of a log.
    ///   - limit: The most characters kept.
    /// - Returns: The printable line, its first `limit` characters and `…` when longer.
    public static func printable(_ line: String, limit: Int) -> String {
        var printable = String.UnicodeScalarView()
        for scalar in line.unicodeScalars {
            printable.append(isUnprintable(scalar) && scalar != "\t" ? "?" : scalar)
        }
        let text = String(printable)
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    /// The last non-empty line without its indentation, for a short reason.
    /// - Parameter path: The log file (`lines(_:count:)` reads it).
    /// - Returns: The line, or nil when there is none.
    public static func lastLine(_ path: String) -> String? {
        lastLine(of: lines(path, count: 1))
    }

    static func lastLine(of lines: [String]) -> String? {
        lines.first.flatMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
    }
}
