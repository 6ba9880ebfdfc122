@testable import RouteHost
import Testing

@Suite("DATABASE_URL")
struct DatabaseURLTests {
    @Test func theUsualFormReadsEveryPart() throws {
        let url = try DatabaseURL(parsing: "postgres://app:s3cret@db.internal:6543/jobs?sslmode=require&application_name=edge")
        #expect(url.endpoint == .tcp(host: "db.internal", port: 6543))
        #expect(url.user == "app")
        #expect(url.password == "s3cret")
        #expect(url.database == "jobs")
        #expect(url.tlsMode == .require)
        #expect(url.applicationName == "edge")
        #expect(url.displayName == "app@db.internal:6543/jobs")
    }

    @Test func defaultsArePort5432TLSIfOfferedAndTheUsersDatabase() throws {
        let url = try DatabaseURL(parsing: "postgresql://app@localhost")
        #expect(url.endpoint == .tcp(host: "localhost", port: 5432))
        #expect(url.password == nil)
        #expect(url.database == "app")
        #expect(url.tlsMode == .prefer)
    }

    @Test func percentEscapesAndIPv6HostsAreRead() throws {
        let url = try DatabaseURL(parsing: "postgres://a%40b:p%3Ass%2Fw%40rd@[::1]:5433/my%20db")
        #expect(url.user == "a@b")
        #expect(url.password == "p:ss/w@rd")
        #expect(url.endpoint == .tcp(host: "::1", port: 5433))
        #expect(url.database == "my db")
        #expect(url.displayName == "a@b@[::1]:5433/my db")
    }

    @Test func aHostInTheQueryIsAUnixSocketFolder() throws {
        let url = try DatabaseURL(parsing: "postgres://app@/jobs?host=/run/postgresql")
        #expect(url.endpoint == .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"))
        let withPort = try DatabaseURL(parsing: "postgres://app@:6000/jobs?host=/tmp/pg/")
        #expect(withPort.endpoint == .unixSocket(path: "/tmp/pg/.s.PGSQL.6000"))
    }

    @Test(arguments: [
        ("mysql://app@db/jobs", "postgres:// or postgresql://"),
        ("db.internal:5432/jobs", "starts with postgres://"),
        ("postgres://db.internal/jobs", "a user name"),
        ("postgres://app@db:99999/jobs", "1 to 65535"),
        ("postgres://app@db:port/jobs", "is not a number"),
        ("postgres://app@/jobs", "a host after the @"),
        ("postgres://app@db/jobs?sslmode=strict", "sslmode=strict is not a mode: use one of disable, allow, prefer, require, verify-ca, verify-full"),
        ("postgres://app@db/jobs?host=other", "must be a Unix socket folder"),
        ("postgres://app@db/jobs?sslmod=require", "sslmod is not an option"),
        ("postgres://app:%zz@db/jobs", "broken percent escape"),
        ("postgres://app@[::1/jobs", "closed by ]"),
    ])
    func aBrokenURLSaysWhatIsWrong(_ text: String, _ message: String) {
        #expect {
            try DatabaseURL(parsing: text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func thePasswordIsRedactedInMessages() throws {
        #expect(DatabaseURL.redacted("postgres://app:s3cret@db/jobs") == "postgres://app:****@db/jobs")
        #expect(DatabaseURL.redacted("postgres://app@db/jobs") == "postgres://app@db/jobs")
        let error = #expect(throws: EnvironmentError.self) {
            try HostConfiguration(environment: EnvironmentValues(["DATABASE_URL": "postgres://app:s3cret@db:0/jobs"]))
        }
        #expect(error?.description.contains("s3cret") == false)
        #expect(error?.description.contains("postgres://app:****@db:0/jobs") == true)
    }
}
