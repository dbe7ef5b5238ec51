#if canImport(Glibc)
import Glibc
#endif

/// What one look at the kernel's log found: the records that arrived since
/// the last look, in order, and why it could not look further, if it could not.
public struct KernelLogBatch: Sendable {
    /// The records, in order.
    public var records: [KernelLogRecord] = []
    /// Why the source stopped giving records (a read error); nil when it just has no more now.
    public var failure: String?

    /// A batch.
    /// - Parameters:
    ///   - records: The records, in order.
    ///   - failure: Why the source stopped, if it did.
    public init(records: [KernelLogRecord] = [], failure: String? = nil) {
        self.records = records
        self.failure = failure
    }
}

/// Where the kernel's log comes from: the real `/dev/kmsg` (`DeviceKernelLog`)
/// or, in tests, a regular file in the same text format (`FileKernelLog`).
/// Each gives only what arrives after it was opened. Used by one
/// `KernelLogReader`, under its lock: never by two threads at once.
public protocol KernelLogSource: AnyObject, Sendable {
    /// The path it reads (for messages).
    var path: String { get }
    /// Every record available now (at most `limit`), without waiting.
    /// - Parameter limit: The most records to return (the rest stay for the next call).
    /// - Returns: The records, and a failure if the source broke.
    func readAvailable(limit: Int) -> KernelLogBatch
}

/// Opens the kernel log at `path`: a character device (`/dev/kmsg`) is read
/// record by record; a regular file is a fixture (`FileKernelLog`).
public enum KernelLog {
    /// The source for `path`, reading from now on.
    /// - Parameter path: `/dev/kmsg`, or a fixture file (below `--host-root`).
    /// - Returns: The source.
    /// - Throws: `KernelHealthError.unreadable` when it is missing, cannot be opened (no root, `dmesg_restrict`), or is neither.
    public static func open(_ path: String) throws(KernelHealthError) -> any KernelLogSource {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, why: String(cString: strerror(errno))) }
        switch info.st_mode & S_IFMT {
        case S_IFCHR: return try DeviceKernelLog(path: path)
        case S_IFREG: return try FileKernelLog(path: path)
        default: throw .unreadable(path: path, why: "neither a character device nor a regular file")
        }
    }
}

/// `/dev/kmsg`: opened `O_RDONLY | O_NONBLOCK`, placed at its end (only
/// records written from now on), each `read(2)` of an 8 KiB buffer one
/// record; `EAGAIN`: none now; `EPIPE`: the records at our place were
/// overwritten (the reader sees the gap in sequence numbers) and the next
/// read goes on with the oldest left.
public final class DeviceKernelLog: KernelLogSource, @unchecked Sendable {
    /// The device's path.
    public let path: String
    let descriptor: Int32
    var buffer = [UInt8](repeating: 0, count: 8192)

    /// Opens the device at its end.
    /// - Parameter path: `/dev/kmsg`.
    /// - Throws: `KernelHealthError.unreadable` when it cannot be opened (EPERM without CAP_SYSLOG under `dmesg_restrict`).
    public init(path: String) throws(KernelHealthError) {
        self.path = path
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, why: String(cString: strerror(errno))) }
        guard lseek(fd, 0, SEEK_END) >= 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(path: path, why: why)
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Reads records until none is left now (or `limit`).
    /// - Parameter limit: The most records to return.
    /// - Returns: The records, and a failure if a read failed other than with `EAGAIN` or `EPIPE`.
    public func readAvailable(limit: Int) -> KernelLogBatch {
        var batch = KernelLogBatch()
        while batch.records.count < limit {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                let text = String(decoding: buffer[..<count], as: UTF8.self)
                if let record = KernelLogRecord(parsing: Substring(text)) { batch.records.append(record) }
                continue
            }
            if count == 0 { break }
            let error = errno
            if error == EINTR || error == EPIPE { continue }
            if error != EAGAIN { batch.failure = String(cString: strerror(error)) }
            break
        }
        return batch
    }
}

/// A regular file standing for `/dev/kmsg` in tests (`--host-root`): read
/// from its size when opened. Each line is a record in `/dev/kmsg`'s read
/// format (`4,812,43559333,-;message`, continuation lines starting with a
/// space), or in its write format (`<4>message`, what `echo '<4>…' > /dev/kmsg`
/// writes): then the file gives it the next sequence number and the time
/// since boot now. A file made shorter (truncated) is read again from its start.
public final class FileKernelLog: KernelLogSource, @unchecked Sendable {
    /// The file's path.
    public let path: String
    var offset: off_t
    var nextSequence: UInt64 = 1

    /// Opens the fixture at its end.
    /// - Parameter path: The file.
    /// - Throws: `KernelHealthError.unreadable` when it cannot be read.
    public init(path: String) throws(KernelHealthError) {
        self.path = path
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, why: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, why: String(cString: strerror(errno))) }
        offset = info.st_size
    }

    /// The complete lines added since the last call, as records.
    /// - Parameter limit: The most records to return.
    /// - Returns: The records; a failure when the file cannot be read any more.
    public func readAvailable(limit: Int) -> KernelLogBatch {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return KernelLogBatch(failure: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return KernelLogBatch(failure: String(cString: strerror(errno))) }
        if info.st_size < offset { offset = 0 }
        guard info.st_size > offset else { return KernelLogBatch() }
        var bytes = [UInt8](repeating: 0, count: Int(min(info.st_size - offset, 1 << 20)))
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
        guard count > 0, let end = bytes[..<count].lastIndex(of: UInt8(ascii: "\n")) else { return KernelLogBatch() }
        var batch = KernelLogBatch()
        var consumed = 0
        var lines = bytes[...end].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()[...]
        var position = 0
        while let line = lines.first, batch.records.count < limit {
            lines = lines.dropFirst()
            position += line.count + 1
            guard let first = line.first, first != UInt8(ascii: " ") else { consumed = position; continue }
            var text = String(decoding: line, as: UTF8.self)
            // Its continuation lines.
            while let next = lines.first, next.first == UInt8(ascii: " ") {
                text += "\n" + String(decoding: next, as: UTF8.self)
                position += next.count + 1
                lines = lines.dropFirst()
            }
            consumed = position
            if let record = record(text) {
                batch.records.append(record)
                nextSequence = record.sequence + 1
            }
        }
        offset += off_t(consumed)
        return batch
    }

    /// A line in the read format, or `<N>message` in the write format.
    func record(_ text: String) -> KernelLogRecord? {
        if let record = KernelLogRecord(parsing: Substring(text)) { return record }
        guard text.first == "<", let close = text.firstIndex(of: ">"), let priority = Int(text[text.index(after: text.startIndex)..<close])
        else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let micros = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
        return KernelLogRecord(priority: priority, sequence: nextSequence, timestamp: micros,
                               escapedMessage: String(text[text.index(after: close)...]))
    }
}
