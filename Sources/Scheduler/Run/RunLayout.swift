import Foundation

/// Where a run keeps its files, below its run directory:
///
/// - `tests/ID/` (`TESTBED_OUTPUT_DIR`: the test's own files) and Testbed's
///   `tests/ID/output.log` in it
/// - `setups/NAME/{check,run,teardown}.log`, `setups/NAME/export`
/// - `setups/NAME/for/ID/…` for `scope: test` setups
/// - `restore/N.log`
///
/// A test id becomes one directory name: `/` is written `~`, and `~`, `%`
/// and every byte outside `A-Z a-z 0-9 . _ -` are percent-encoded, so no id
/// (`..`, spaces, non-UTF-8) can reach outside the run directory.
public struct RunLayout: Sendable {
    /// The absolute run directory.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `/migration/precopy/tcp` → `migration~precopy~tcp`.
    public static func encode(_ id: String) -> String {
        var out = ""
        var bytes = Array(id.utf8)
        if bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "/"): out.append("~")
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "."):
                out.append(".")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        if out.isEmpty || out.allSatisfy({ $0 == "." }) {
            out = out.replacingOccurrences(of: ".", with: "%2E")
            if out.isEmpty { out = "%" }
        }
        // Keep names within filesystem limits; a hash keeps long ones apart.
        if out.utf8.count > 200 {
            var hasher = FNV1a()
            hasher.add(id)
            out = String(out.prefix(180)) + "~" + String(hasher.value, radix: 16)
        }
        return out
    }

    /// Relative to the run directory.
    public func testDirectory(_ id: String) -> String { "tests/" + Self.encode(id) }
    public func setupDirectory(_ name: String, test: String?) -> String {
        let base = "setups/" + Self.encode(name)
        guard let test else { return base }
        return base + "/for/" + Self.encode(test)
    }

    public func absolute(_ relative: String) -> String { directory + "/" + relative }

    /// Makes `tests/ID` with one mkdir call (this runs once per test: no
    /// FileManager round trips, and no second directory to allocate).
    public func makeTestDirectory(_ relative: String) {
        if mkdir(absolute(relative), 0o755) != 0 && errno == ENOENT { make(relative) }
    }

    /// Makes a directory below the run directory.
    public func make(_ relative: String) {
        try? FileManager.default.createDirectory(atPath: absolute(relative), withIntermediateDirectories: true)
    }
}

/// A stable 64-bit hash (Swift's Hasher is seeded per process).
struct FNV1a {
    var value: UInt64 = 0xcbf29ce484222325
    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100000001b3
        }
    }
}
