import Catalog
import Foundation
import ProcessSupervision

extension StepRunner {
    /// Reads the export file of a setup that succeeded, from the directory
    /// Testbed holds: it must be a regular file (a setup may `mv` a new one
    /// over `$TESTBED_EXPORT`; a link, a FIFO or a device is refused, never
    /// followed or read) of at most `exportLimit` bytes, whose variables the
    /// steps after it can be given (`Exports.checkPassable`). Otherwise the
    /// setup has `failed`, its reason naming the file, the line and the fix.
    func readExports(_ folder: StepDirectory, environment: [String: String], into result: inout SetupResult) -> [String: String] {
        let shown = folder.relative + "/export"
        func fail(_ reason: String) -> [String: String] {
            result.outcome = .failed
            result.reason = "its export file \(shown)" + reason
            return [:]
        }
        guard folder.descriptor >= 0 else {
            return fail(" cannot be read: \(folder.failure ?? "no directory"); write KEY=VALUE lines to $TESTBED_EXPORT")
        }
        let fd = openat(folder.descriptor, "export", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ENOENT:
                return fail(" is gone (the setup removed it or its directory); leave $TESTBED_EXPORT in place and write KEY=VALUE lines to it")
            case ELOOP:
                return fail(" is a symbolic link, which Testbed does not follow in the results; write KEY=VALUE lines to $TESTBED_EXPORT itself")
            default:
                return fail(" cannot be read: \(String(cString: strerror(errno))); write KEY=VALUE lines to $TESTBED_EXPORT")
            }
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return fail(" is not a regular file (\(RunLayout.plantedKind("export", in: folder.descriptor))); write KEY=VALUE lines to $TESTBED_EXPORT")
        }
        let limit = Self.exportLimit
        let tooLarge = " holds more than the \(limit >> 20) MiB Testbed reads from it; write large values to files and export their paths"
        guard Int(info.st_size) <= limit else { return fail(tooLarge) }
        // Read up to one byte past the limit: a file that grows while read is caught too.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size) + 1)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= limit {
            let want = min(chunk.count, limit + 1 - bytes.count)
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
            if got < 0 && errno == EINTR { continue }
            if got < 0 { return fail(" cannot be read: \(String(cString: strerror(errno))); write KEY=VALUE lines to $TESTBED_EXPORT") }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        guard bytes.count <= limit else { return fail(tooLarge) }
        do throws(Exports.ParseError) {
            let exports = try Exports.parse(bytes: bytes)
            var rest = base.byteCount
            for (key, value) in environment { rest += EnvironmentBlock.cost(key: key, value: value) - base.cost(of: key) }
            try exports.checkPassable(environmentBytes: rest, limit: Self.environmentLimit) { key in
                environment[key].map { EnvironmentBlock.cost(key: key, value: $0) } ?? base.cost(of: key)
            }
            return exports.dictionary
        } catch {
            return fail(", \(error); \(error.fix)")
        }
    }
}
