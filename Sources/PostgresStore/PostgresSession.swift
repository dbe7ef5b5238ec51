import Foundation
import Logging
import NIOCore
import PostgresNIO
import Results

/// One connection to the PostgreSQL server, used synchronously: the bridge between the synchronous `RunStore`
/// protocol and postgres-nio.
///
/// The connection runs on postgres-nio's own event loop threads (`PostgresConnection.defaultEventLoopGroup`,
/// never Swift's cooperative pool). Each call sends its query through the EventLoopFuture API and blocks the
/// calling thread until the answer (`EventLoopFuture.wait()`): the work it waits for runs on an event loop
/// thread, so a caller on the cooperative pool (a recorder's `record`) blocks only itself and cannot starve what
/// it waits for. Calls are serialized by a lock: one query at a time on the one connection, and a transaction
/// holds the lock from `BEGIN` to `COMMIT`. A connection found closed (the server restarted) is opened again on
/// the next call.
final class PostgresSession: @unchecked Sendable {
    /// Where to connect.
    let configuration: PostgresConnection.Configuration
    /// The URL without its password: for messages.
    let shown: String
    /// Guards `connection`, and every use of it.
    private let lock = NSLock()
    /// The open connection; nil before the first call and after a failure closed it.
    private var connection: PostgresConnection?
    /// postgres-nio's logger: silent (Testbed says what went wrong in its own words).
    static let logger = Logger(label: "testbed.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(configuration: PostgresConnection.Configuration, shown: String) {
        self.configuration = configuration
        self.shown = shown
    }

    deinit {
        if let connection, !connection.isClosed { try? connection.close().wait() }
    }

    /// Runs `body` with the connection, opening it when there is none (or it was closed).
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if connection == nil || connection?.isClosed == true {
            let eventLoop = PostgresConnection.defaultEventLoopGroup.any()
            connection = try PostgresConnection.connect(on: eventLoop, configuration: configuration, id: 1, logger: Self.logger).wait()
        }
        guard let connection else { throw PostgresSessionError.notConnected }
        return try body(connection)
    }

    /// Runs one statement, its parameters bound ($1, $2, …), and returns its rows.
    func query(_ sql: String, _ values: [(any PostgresDynamicTypeEncodable)?] = []) throws -> [PostgresRow] {
        try withConnection { connection in try Self.query(connection, sql, values) }
    }

    /// One statement on `connection` (inside `withConnection` or `transaction`).
    static func query(_ connection: PostgresConnection, _ sql: String, _ values: [(any PostgresDynamicTypeEncodable)?] = []) throws -> [PostgresRow] {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            if let value { binds.append(value) } else { binds.appendNull() }
        }
        return try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait().rows
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { connection in
            _ = try Self.query(connection, "BEGIN")
            do {
                let value = try body(connection)
                _ = try Self.query(connection, "COMMIT")
                return value
            } catch {
                _ = try? Self.query(connection, "ROLLBACK")
                throw error
            }
        }
    }

    /// Why a call failed, in words (postgres-nio's own description hides the server's message).
    static func why(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return message + (error.serverInfo?[.detail].map { " (\($0))" } ?? "")
        }
        if error.code == .connectionError {
            // NIO's text of a refused or timed-out connection is long; its errno says it.
            let text = error.underlying.map { "\($0)" } ?? ""
            if let range = text.range(of: "errno: "), let number = Int32(text[range.upperBound...].prefix { $0.isNumber }) {
                return "cannot connect: " + String(cString: strerror(number)).lowercased()
            }
            return "cannot connect" + (text.isEmpty ? "" : ": " + text)
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}

/// What the session itself can throw.
enum PostgresSessionError: Error, CustomStringConvertible {
    /// No connection after connecting (cannot happen: `connect` returns one or throws).
    case notConnected

    var description: String { "not connected" }
}

/// A row read back, its columns by name; a NULL (or a column the row lacks) reads as nil.
struct PGRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    func string(_ name: String) -> String? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(String?.self)) ?? nil
    }

    func int(_ name: String) -> Int? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(Int?.self)) ?? nil
    }

    func int32(_ name: String) -> Int32? { int(name).flatMap(Int32.init(exactly:)) }

    func double(_ name: String) -> Double? {
        guard row.contains(name) else { return nil }
        return (try? row[name].decode(Double?.self)) ?? nil
    }

    func date(_ name: String) -> Date? { double(name).map(Date.init(timeIntervalSince1970:)) }

    func bool(_ name: String) -> Bool? { int(name).map { $0 != 0 } }
}
