import Foundation
import JSONSchema
import PostgresNIO
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// A PostgreSQL job database that is away when the host starts, then comes.
@Suite("The job database away and back", .enabled(if: TestPostgres.isEnabled))
struct StoreOutageTests {
    @Test(.timeLimit(.minutes(2)))
    func aHostWhoseDatabaseIsAwayServesSaysWhyAndRecoversWhenItComes() async throws {
        guard let server = TestPostgres.serverURL else { throw TestPostgresUnavailable() }
        let name = "routehost_test_late_\(UUID().uuidString.lowercased().prefix(8))"
        let url = try TestPostgres.replacingDatabase(of: server, with: name)
        do {
            try await hostWhileTheDatabaseComes(server: server, name: name, url: url)
        } catch {
            try? await TestPostgres.drop(name, server: server)
            throw error
        }
        try await TestPostgres.drop(name, server: server)
    }

    private func hostWhileTheDatabaseComes(server: String, name: String, url: String) async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(
                    storage: storage, ["DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT_SECONDS": "1", "JOB_POLL_INTERVAL_SECONDS": "0.2"]
                ) { host in
                    // Away: the host answers, queued routes say the queue is unavailable.
                    let refused = try await host.post("/v1/test/work", ["webhook_url": .string(receiver.url)])
                    #expect(refused.status == 503)
                    #expect(refused.json["message"]?.stringValue?.contains("job queue is unavailable") == true, "\(refused.json.serializedString())")
                    let status = try await host.post("/v1/toolkit/job/status", ["job_id": .string(UUID().uuidString)])
                    #expect(status.status == 503)
                    let health = try JSONParser.parse(try await host.get("/health"))
                    #expect(health["status"] == "degraded")
                    #expect(health["job_store"]?["kind"] == "postgresql")
                    #expect(health["job_store"]?["status"] == "unavailable")
                    #expect(health["job_store"]?["error"]?.stringValue?.contains("cannot reach the job database") == true, "\(health.serializedString())")
                    #expect(health["job_store"]?["error"]?.stringValue?.contains("DATABASE_CONNECT_TIMEOUT_SECONDS") == true)

                    // Back: the database exists now.
                    try await TestPostgres.admin(server) { connection in
                        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: .init(label: "t"))
                    }
                    let deadline = ContinuousClock.now + .seconds(60)
                    var accepted = refused
                    while accepted.status != 202 && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(200))
                        accepted = try await host.post("/v1/test/work", ["webhook_url": .string(receiver.url)])
                    }
                    #expect(accepted.status == 202, "\(accepted.json.serializedString())")
                    try await receiver.waitForDeliveries(1, timeout: .seconds(30))
                    let healthy = try JSONParser.parse(try await host.get("/health"))
                    #expect(healthy["job_store"]?["status"] == "healthy", "\(healthy.serializedString())")
                    #expect(healthy["status"] == "healthy")
                }
            }
        }
    }
}
