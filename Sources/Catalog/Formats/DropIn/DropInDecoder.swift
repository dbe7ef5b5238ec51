import Declarations
import Foundation
import HostFacts
import Requirements

/// Reads drop-in executables: a test from the `testbed-KEY:` header of an
/// executable found in a suite (`DropInHeader`), or from an executable named
/// on the command line, with or without a header.
struct DropInDecoder {
    func loadDropIn(_ path: String, shownAs: String, id: String, state: inout LoadState) {
        switch Self.readHead(path) {
        case .bytes(let head):
            let header = DropInHeader(bytes: head)
            guard !header.isEmpty || header.cutLine != nil else { return }
            buildDropIn(path: path, shownAs: shownAs, id: id, header: header, state: &state)
        case .unreadable(let code) where DeclarationError.isDescriptorShortage(code):
            state.errors.append(.outOfDescriptors(file: shownAs, errno: code))
        case .unreadable(let code):
            // An executable whose header cannot be read may be a test: say so rather than drop it.
            state.errors.append(DeclarationError(file: shownAs, line: nil, message:
                "is executable but cannot be read (\(String(cString: strerror(code)))), so whether it is a test cannot be "
                + "told; make it readable (chmod a+r), or move it out of the suite"))
        case .notRegular:
            // Swapped for a FIFO or a device since the walk saw a file: not a test, and never opened blocking.
            return
        }
    }

    /// The first bytes of a file, for its header.
    enum Head {
        case bytes([UInt8])
        /// open or fstat failed with this errno.
        case unreadable(Int32)
        /// Not a regular file: `a FIFO`, `a socket`, `a character device`…
        case notRegular(String)
    }

    /// Reads up to `DropInHeader.scanLimit + lookahead` bytes of a regular
    /// file. Opened with O_NONBLOCK and checked with fstat before any read: a
    /// FIFO (or one swapped in for the file) never blocks the loader.
    static func readHead(_ path: String) -> Head {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            // A Unix socket cannot be opened at all (ENXIO): not a test, whatever its mode bits say.
            let code = errno
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG { return .notRegular(SuiteWalker.fileKind(info.st_mode)) }
            return .unreadable(code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .unreadable(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .notRegular(SuiteWalker.fileKind(info.st_mode)) }
        var head = [UInt8](repeating: 0, count: DropInHeader.scanLimit + DropInHeader.lookahead)
        var count = 0
        while count < head.count {
            let got = head.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            count += got
        }
        head.removeLast(head.count - count)
        return .bytes(head)
    }

    /// An executable named on the command line: a test as it stands.
    func loadExecutable(_ path: String, shownAs: String, id: String, state: inout LoadState) {
        let head = Self.readHead(path)
        if case .unreadable(let code) = head, DeclarationError.isDescriptorShortage(code) {
            // Its header unread, it would run without its requirements.
            state.errors.append(.outOfDescriptors(file: shownAs, errno: code))
            return
        }
        if case .notRegular(let kind) = head {
            state.errors.append(DeclarationError(file: shownAs, line: nil, message:
                "is \(kind), not a regular file, so it cannot run as a test; name an executable file, a suite directory or a testbed.yaml"))
            return
        }
        guard access(path, X_OK) == 0 else {
            state.errors.append(DeclarationError(file: shownAs, line: nil, message: access(path, F_OK) == 0
                ? "is not executable, so it cannot run as a test; chmod +x it, or name a suite directory or a testbed.yaml"
                : "no such file or directory; name a suite directory or an executable test"))
            return
        }
        // One that cannot be read (mode 0111) runs without a header.
        let bytes = if case .bytes(let bytes) = head { bytes } else { [UInt8]() }
        buildDropIn(path: path, shownAs: shownAs, id: id, header: DropInHeader(bytes: bytes), state: &state)
    }

    func buildDropIn(path: String, shownAs: String, id: String, header: DropInHeader, state: inout LoadState) {
        // The directory is standardized once per directory, not per file.
        let slash = path.lastIndex(of: "/")
        let directory = state.standardized(slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? ".")
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let executable = directory == "/" ? "/" + name : directory + "/" + name
        if let cut = header.cutLine {
            // Read cut, `kernel >= 60` would be `kernel >= 6`: the test would run where it must not.
            state.errors.append(DeclarationError(file: shownAs, line: cut, message:
                "the header line `\(header.cutKey ?? "testbed-")` does not end within the first \(DropInHeader.scanLimit) bytes, "
                + "all that is read of a file for its header, so it would be read cut; move the testbed- lines to the top "
                + "of the file, or shorten this one"))
            return
        }
        var fields = TestFields(location: DeclarationLocation(file: shownAs, line: header.lines.first?.line))
        var matrix = VariantMatrix()
        var matrixLocation = fields.location
        var matrixFailed = false
        for line in header.lines {
            let location = DeclarationLocation(file: shownAs, line: line.line)
            if !line.isCanonical && DropInHeader.keys.contains(line.key) {
                // Ignored, it would drop the test or its requirements without a word.
                state.errors.append(location.error("header key \"\(line.written)\" is written in another case or with _, "
                    + "so it would be ignored; write it testbed-\(line.key):"))
                continue
            }
            guard DropInHeader.keys.contains(line.key) else {
                var message = "unknown header key \"\(line.written)\""
                if let guess = closest(to: line.key, in: DropInHeader.keys) { message += "; did you mean \"testbed-\(guess)\"?" }
                else { message += "; known keys are " + DropInHeader.keys.map { "testbed-\($0)" }.joined(separator: ", ") }
                state.errors.append(location.error(message))
                continue
            }
            if line.key == "variants" {
                if matrix.isEmpty { matrixLocation = location }
                do {
                    try Self.readVariants(line, into: &matrix, shownAs: shownAs, test: id)
                } catch {
                    state.errors.append(error)
                    matrixFailed = true
                }
                continue
            }
            let values: [String]
            switch line.key {
            case "requires": values = line.value.split(separator: ",").map { $0.trimmingWhitespaceAndCR() }.filter { !$0.isEmpty }
            case "setup", "tags": values = line.value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
            default: values = [line.value]
            }
            fields.add(line.key, values, at: location)
        }
        if matrixFailed { return }
        if !matrix.isEmpty {
            do { try matrix.readExclusions(test: id) } catch {
                state.errors.append(error)
                return
            }
            state.tests += matrix.expand(fields, baseID: id, command: .executable(executable), directory: directory,
                                         location: matrixLocation, file: shownAs, cache: state.requirements, errors: &state.errors)
        } else if let test = fields.build(id: id, command: .executable(executable), directory: directory,
                                          cache: state.requirements, errors: &state.errors) {
            state.tests.append(test)
        }
    }

    /// Adds the axes of one `testbed-variants:` line, its value read as YAML (flow style: `{machine: [pc, q35]}`).
    /// - Throws: `DeclarationError` at the header line: YAML that does not parse, or an invalid axis, value or exclusion.
    static func readVariants(_ line: DropInHeader.Line, into matrix: inout VariantMatrix, shownAs: String,
                             test: String) throws(DeclarationError) {
        let reader = YAMLReader(file: shownAs)
        matrix.headerLine = line.line
        do throws(DeclarationError) {
            guard let node = try reader.parse(line.value) else {
                throw reader.error(nil, "testbed-variants of \(test) is empty; write e.g. {machine: [pc, q35]}, or remove the line")
            }
            try matrix.read(node, reader: reader, test: test)
        } catch {
            // The YAML is the line's value alone: its line 1 is the header line.
            throw DeclarationError(file: shownAs, line: line.line, message: error.message)
        }
    }
}
