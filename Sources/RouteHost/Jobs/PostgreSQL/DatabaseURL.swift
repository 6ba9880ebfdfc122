import Foundation

/// A PostgreSQL connection URL, as `DATABASE_URL` gives it:
/// `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=MODE`.
///
/// - `postgresql://` works too; the port defaults to 5432 and the database to the user's name.
/// - The user name, password and database are percent-decoded (`p%40ss` is `p@ss`); an IPv6
///   host goes in brackets (`[::1]`).
/// - `?host=/run/postgresql` connects through the Unix socket in that folder
///   (`/run/postgresql/.s.PGSQL.5432`), as libpq does; the URL's host may then be empty
///   (`postgres://user@/db?host=/run/postgresql`).
/// - `sslmode`: `disable`; `prefer` (the default) and `allow` use TLS when the server offers
///   it; `require` insists on TLS without checking the certificate (as libpq); `verify-ca` and
///   `verify-full` check the certificate against the system's trust roots (`verify-full` also
///   the host name). Through a Unix socket there is no TLS.
/// - `application_name` is passed to the server (it shows in `pg_stat_activity`).
///
/// Anything else in the query is refused, so a misspelt option is not silently ignored.
public struct DatabaseURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file's path.
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    public var applicationName: String?

    /// A URL that could not be read: `message` says what is wrong and how it should look.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init(parsing text: String) throws(ParseError) {
        func fail(_ message: String) -> ParseError {
            ParseError(message: "\(message), like postgres://user:password@host:5432/database")
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = trimmed.range(of: "://") else { throw fail("a URL that starts with postgres://") }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw fail("the scheme postgres:// or postgresql://, not \(scheme)://")
        }
        var rest = Substring(trimmed[schemeEnd.upperBound...])
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        let authority: Substring
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
        }
        var hostPort = authority
        var user: String?
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = try Self.decode(info[..<colon], "the user name")
                password = try Self.decode(info[info.index(after: colon)...], "the password")
            } else {
                user = try Self.decode(info, "the user name")
            }
        }
        guard let user, !user.isEmpty else { throw fail("a user name before the host") }
        self.user = user

        var host = ""
        var port = 5432
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw fail("an IPv6 host closed by ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("a port after the IPv6 host's ]") }
                port = try Self.port(after.dropFirst())
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            port = try Self.port(hostPort[hostPort.index(after: colon)...])
        } else {
            host = String(hostPort)
        }

        var socketFolder: String?
        var tlsMode = TLSMode.prefer
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = try Self.decode(parts.count > 1 ? parts[1] : "", "the value of \(name)")
            switch name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw ParseError(message: "sslmode=\(value) is not a mode: use one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tlsMode = mode
            case "host":
                guard value.hasPrefix("/") else {
                    throw ParseError(message: "host=\(value) in the query must be a Unix socket folder (an absolute path, like /run/postgresql); put a network host before the path")
                }
                socketFolder = value
            case "application_name":
                applicationName = value
            default:
                throw ParseError(message: "\(name) is not an option RouteHost reads in DATABASE_URL: use sslmode, host (a Unix socket folder) or application_name")
            }
        }
        if let socketFolder {
            let folder = socketFolder.hasSuffix("/") ? String(socketFolder.dropLast()) : socketFolder
            endpoint = .unixSocket(path: "\(folder)/.s.PGSQL.\(port)")
        } else {
            guard !host.isEmpty else { throw fail("a host after the @ (or ?host=/socket/folder for a Unix socket)") }
            endpoint = .tcp(host: host, port: port)
        }
        self.tlsMode = tlsMode
        let database = try Self.decode(path, "the database name")
        self.database = database.isEmpty ? user : database
    }

    /// `text` with its password replaced by `****`, for logs and error messages.
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<rest.index(after: colon)]) + "****" + String(rest[at...])
    }

    /// Where it connects, without the password: `user@host:port/database`.
    public var displayName: String {
        switch endpoint {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "\(user)@\(shown):\(port)/\(database)"
        case .unixSocket(let path):
            return "\(user)@\(path)/\(database)"
        }
    }

    private static func decode(_ text: Substring, _ what: String) throws(ParseError) -> String {
        guard let decoded = String(text).removingPercentEncoding else {
            throw ParseError(message: "\(what) has a broken percent escape: write a literal % as %25")
        }
        return decoded
    }

    private static func port(_ text: Substring) throws(ParseError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw ParseError(message: "the port \(text.isEmpty ? "(empty)" : String(text)) is not a number from 1 to 65535")
        }
        return port
    }
}
