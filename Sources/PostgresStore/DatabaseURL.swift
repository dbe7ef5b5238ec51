import Foundation
import PostgresNIO
import Results

/// A `postgresql://USER:PASSWORD@HOST:PORT/DATABASE` URL (`--database`, `TESTBED_DATABASE`), read into what
/// postgres-nio connects with. `postgres://` is the same; the port defaults to 5432, the user to `testbed`, the
/// database to the user's name. TLS is not offered (`sslmode=disable` is all there is): keep the server on a
/// trusted network, or reach it through a tunnel.
public struct DatabaseURL: Sendable, Equatable {
    /// The server's host name or address.
    public var host: String
    /// Its TCP port.
    public var port: Int
    /// The role to log in as.
    public var user: String
    /// Its password; nil for none (trust or peer authentication).
    public var password: String?
    /// The database's name.
    public var database: String

    /// Whether `text` is meant as a PostgreSQL URL (begins with `postgresql:` or `postgres:`).
    ///
    /// - Parameter text: what the user gave.
    /// - Returns: true for a PostgreSQL URL.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgresql:") || text.hasPrefix("postgres:")
    }

    /// Reads a URL.
    ///
    /// - Parameter text: `postgresql://USER:PASSWORD@HOST:PORT/DATABASE` (user, password, port and database may be left out;
    ///   `%`-escapes in the user and password are decoded).
    /// - Throws: `StoreError.unreachable` naming the URL (without its password) and what is wrong with it.
    public init(_ text: String) throws(StoreError) {
        let shown = Self.withoutPassword(text)
        guard Self.isPostgres(text), let parts = URLComponents(string: text), let host = parts.host, !host.isEmpty else {
            throw .unreachable(shown, "not a URL of the form postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        if let query = parts.queryItems, let unknown = query.first(where: { $0.name != "sslmode" || $0.value != "disable" }) {
            throw .unreachable(shown, "\(unknown.name)=\(unknown.value ?? "") is not supported (only sslmode=disable: Testbed does not use TLS)")
        }
        self.host = host
        port = parts.port ?? 5432
        user = parts.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "testbed"
        password = parts.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let path = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        database = path.isEmpty ? user : path
    }

    /// The URL as shown in messages and stored nowhere: without the password.
    public var shown: String {
        let address = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)@\(address):\(port)/\(database)"
    }

    /// `text` with the password of a `USER:PASSWORD@` part replaced by `***`: for messages about a URL that cannot be read.
    ///
    /// - Parameter text: a URL as given.
    /// - Returns: the same URL without its password.
    public static func withoutPassword(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// What postgres-nio connects with.
    var configuration: PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database,
                                                             tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}
