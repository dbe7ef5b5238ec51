/// Why `testbed serve` cannot start or answer.
public enum ServerError: Error, CustomStringConvertible, Equatable {
    /// `--listen` is not `HOST:PORT`.
    case badListen(String)
    /// The port of `--listen` is not 0...65535 (the text, the port).
    case portOutOfRange(String, Int)
    /// The address is taken by another program.
    case inUse(String)
    /// Listening failed for another reason (the address, the reason).
    case cannotListen(String, String)
    /// `--token-file` cannot be used (the path, what is wrong, the fix).
    case badTokenFile(String, String, String)

    /// The message, lowercase, naming the address and ending with the fix.
    public var description: String {
        switch self {
        case let .badListen(text):
            return "--listen \(text) is not HOST:PORT; give an address and a port, e.g. --listen 127.0.0.1:8080 (port 0: any free port)"
        case let .portOutOfRange(text, port):
            return "--listen \(text): port \(port) is out of range; give a port from 1 to 65535 (0: any free port)"
        case let .inUse(address):
            return "\(address) is in use; choose another with --listen HOST:PORT"
        case let .cannotListen(address, reason):
            return "cannot listen on \(address): \(Self.plain(reason)); choose another address with --listen HOST:PORT"
        case let .badTokenFile(path, problem, fix):
            return "--token-file \(path) \(problem); \(fix)"
        }
    }
}

extension ServerError {
    /// The reason NIO gives, without its call: `bind(descriptor:ptr:bytes:): Cannot assign requested address) (errno: 99)`
    /// becomes `Cannot assign requested address (errno 99)`; an address not on this machine says so.
    static func plain(_ reason: String) -> String {
        if reason.contains("errno: 99") { return "no interface of this machine has that address (errno 99)" }
        guard let start = reason.range(of: "): ") else { return reason }
        return String(reason[start.upperBound...]).replacingOccurrences(of: ") (errno: ", with: " (errno ")
    }
}

/// An answer of the API that is not 200: its HTTP status and a one-line message (served as `{"error": MESSAGE}`).
public struct APIFailure: Error, Sendable, Equatable {
    /// The HTTP status: 400 for a bad request, 404 for nothing there.
    public var status: Int
    /// The message, as the CLI prints it.
    public var message: String

    /// An answer of `status` saying `message`.
    ///
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - message: the message.
    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }
}
