import Dispatch
import Foundation
import ProcessSupervision
import Subtests
import Synchronization

/// Reads a test's `output.log` through its protocol's parser (`SubtestStream`) while the test runs: a thread of its
/// own reads what the test has written so far every 100 ms (`pread` from where it left off, in `chunk`-byte pieces:
/// the file offset the test writes at is left alone), and `finish()` reads the rest once the test has ended. Only a
/// test whose protocol is not `exitcode` has one: an `exitcode` test's log is never read again.
final class SubtestReader: @unchecked Sendable {
    /// How much of a log is read at a time, in bytes (64 KiB): all the memory reading takes beside the parser's.
    static let chunk = 65536
    /// How often the thread looks for more output while the test runs.
    static let interval = DispatchTimeInterval.milliseconds(100)

    private let log: LogFile
    /// `stream`, `offset` and `buffer` are used under `lock` only.
    private let lock = NSLock()
    private var stream: SubtestStream
    private var offset: off_t = 0
    private var buffer = [UInt8](repeating: 0, count: SubtestReader.chunk)
    private let stopped = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)
    private let live: Bool

    /// A reader of `log` in `outputProtocol`; nil for `exitcode`, or a log that is not a regular file (a FIFO, a device).
    /// - Parameters:
    ///   - log: The test's output log, open for reading.
    ///   - outputProtocol: How the output reports subtests.
    ///   - live: Whether to read while the test runs (a thread until `finish()`); false reads it all in `finish()`.
    init?(log: LogFile, protocol outputProtocol: OutputProtocol, live: Bool) {
        guard outputProtocol != .exitcode else { return nil }
        var info = stat()
        guard fstat(log.descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        self.log = log
        self.stream = SubtestStream(protocol: outputProtocol)
        self.live = live
        if live {
            Thread.detachNewThread { [self] in
                while !stopped.load(ordering: .acquiring) {
                    readAvailable()
                    _ = wake.wait(timeout: .now() + Self.interval)
                }
                ended.signal()
            }
        }
    }

    /// Feeds what the log holds past what was read.
    private func readAvailable() {
        lock.withLock {
            while true {
                let got = buffer.withUnsafeMutableBytes { pread(log.descriptor, $0.baseAddress, $0.count, offset) }
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { return }
                stream.feed(buffer[0..<got])
                offset += off_t(got)
            }
        }
    }

    /// How many bytes of the log have been read so far.
    var bytesRead: Int { lock.withLock { Int(offset) } }

    /// Stops the thread, reads the rest of the log and finishes the stream; call it once, after the test ended.
    /// - Returns: The stream, finished.
    func finish() -> SubtestStream {
        if live {
            stopped.store(true, ordering: .releasing)
            wake.signal()
            ended.wait()
        }
        readAvailable()
        return lock.withLock {
            stream.finish()
            return stream
        }
    }
}
