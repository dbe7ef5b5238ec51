/// Where `testbed serve` listens: `--listen HOST:PORT`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host: an IPv4 address, `localhost`, or an IPv6 address (given as `[::1]:8080`).
    public var host: String
    /// The TCP port; 0 asks the kernel for a free one.
    public var port: Int

    /// The default: 127.0.0.1:8080.
    public static let standard = ListenAddress(host: "127.0.0.1", port: 8080)

    /// An address.
    ///
    /// - Parameters:
    ///   - host: the host.
    ///   - port: the port (0: any free port).
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (`[V6]:PORT` for IPv6).
    ///
    /// - Parameter text: the option's value.
    /// - Throws: `ServerError.badListen` when it is not of that form, `.portOutOfRange` when the port is not 0...65535.
    public init(parsing text: String) throws(ServerError) {
        guard let colon = text.lastIndex(of: ":") else { throw .badListen(text) }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]) else { throw .badListen(text) }
        guard (0...65535).contains(port) else { throw .portOutOfRange(text, port) }
        self.init(host: host, port: port)
    }

    /// Whether only this machine can reach it: 127.0.0.0/8, `localhost`, `::1`.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.split(separator: ".").first == "127" && host.split(separator: ".").count == 4
    }

    /// `HOST:PORT` (`[V6]:PORT`).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
