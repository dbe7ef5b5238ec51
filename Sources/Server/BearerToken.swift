import Foundation

/// The secret a write to the API needs (`Authorization: Bearer TOKEN`), read once from `--token-file`.
///
/// The file must be a regular file that only its owner can read or write (mode 0600 or stricter, as ssh asks of a
/// key), and hold at least 16 characters once its trailing newline is trimmed.
public struct BearerToken: Sendable {
    /// The token's bytes.
    let secret: [UInt8]

    /// The shortest token accepted, in characters.
    public static let minimumLength = 16

    /// A token given directly (for tests).
    ///
    /// - Parameter secret: the token.
    public init(_ secret: String) { self.secret = Array(secret.utf8) }

    /// Reads the token of `path`.
    ///
    /// - Parameter path: the token file.
    /// - Throws: `ServerError.badTokenFile` naming the file, what is wrong and the fix.
    public init(file path: String) throws(ServerError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw .badTokenFile(path, "cannot be read (\(String(cString: strerror(errno))))", "give an existing file")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .badTokenFile(path, "is not a regular file", "give a file holding the token") }
        guard info.st_mode & 0o077 == 0 else {
            throw .badTokenFile(path, "can be read or written by others (mode \(String(info.st_mode & 0o777, radix: 8)))", "chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badTokenFile(path, "cannot be read", "make it readable by the user running testbed serve")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        guard !text.isEmpty else {
            throw .badTokenFile(path, "is empty", "write a token into it, e.g. head -c 32 /dev/urandom | base64 > \(path)")
        }
        guard text.count >= Self.minimumLength, !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw .badTokenFile(path, "holds no token of at least \(Self.minimumLength) printable characters without spaces",
                                "write one, e.g. head -c 32 /dev/urandom | base64 > \(path)")
        }
        self.init(text)
    }

    /// Whether an `Authorization` header carries this token (`Bearer TOKEN`), compared in constant time.
    ///
    /// - Parameter authorization: the header's value; nil when absent.
    /// - Returns: true when it is `Bearer ` and this token.
    public func accepts(_ authorization: String?) -> Bool {
        guard let authorization else { return false }
        let scheme = "bearer "
        guard authorization.count > scheme.count, authorization.prefix(scheme.count).lowercased() == scheme else { return false }
        let given = Array(authorization.dropFirst(scheme.count).utf8)
        var difference = UInt8(given.count == secret.count ? 0 : 1)
        for index in secret.indices { difference |= secret[index] ^ (index < given.count ? given[index] : 0) }
        return difference == 0
    }
}
