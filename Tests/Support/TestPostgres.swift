import Foundation
import Logging
import PostgresNIO
import RouteHost

/// The PostgreSQL server the tests use: `DATABASE_URL` (`.ci/run` and `scripts/test-postgres`
/// start a throwaway one). Each test gets a database of its own, so parallel tests never
/// share a queue, a lock or a notification channel.
///
/// Without `DATABASE_URL` the PostgreSQL cases are left out with a printed notice, except under
/// `CI=true`, where they run and fail.
public enum TestPostgres {
    /// The server's URL, or nil when the PostgreSQL tests are left out.
    public static var serverURL: String? {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["DATABASE_URL"], !url.isEmpty { return url }
        return nil
    }

    /// Whether the PostgreSQL cases run: a server is given, or CI requires them.
    public static let isEnabled: Bool = {
        if serverURL != nil { return true }
        if ProcessInfo.processInfo.environment["CI"] == "true" { return true }
        print(
            "note: the PostgreSQL tests are skipped: no DATABASE_URL. Run them with: eval \"$(scripts/test-postgres start)\"; swift test; scripts/test-postgres stop")
        return false
    }()

    /// Creates an empty database, runs `body` with its URL, then drops it.
    public static func withDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        guard let server = serverURL else {
            throw TestPostgresUnavailable()
        }
        let name = "routehost_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
        try await admin(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        let url = try replacingDatabase(of: server, with: name)
        do {
            let result = try await body(url)
            try await drop(name, server: server)
            return result
        } catch {
            try? await drop(name, server: server)
            throw error
        }
    }

    /// Runs `body` on a connection of its own to the database at `url`.
    @discardableResult
    public static func admin<T>(_ url: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let parsed = try DatabaseURL(parsing: url)
        guard case .tcp(let host, let port) = parsed.endpoint else { throw TestPostgresUnavailable() }
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: parsed.user, password: parsed.password, database: parsed.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Drops the database `name` (after a test that created it itself).
    public static func drop(_ name: String, server: String) async throws {
        try await admin(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    /// `url` with its path (the database) replaced by `database`.
    public static func replacingDatabase(of url: String, with database: String) throws -> String {
        guard var components = URLComponents(string: url) else { throw TestPostgresUnavailable() }
        components.path = "/\(database)"
        guard let result = components.string else { throw TestPostgresUnavailable() }
        return result
    }

    private static let logger = Logger(label: "routehost.tests.postgres")
}

/// `DATABASE_URL` is not set (under `CI=true`, where the PostgreSQL tests must run).
public struct TestPostgresUnavailable: Error, CustomStringConvertible {
    public init() {}

    public var description: String {
        "the PostgreSQL tests need a server: eval \"$(scripts/test-postgres start)\" sets DATABASE_URL (CI=true requires it)"
    }
}
