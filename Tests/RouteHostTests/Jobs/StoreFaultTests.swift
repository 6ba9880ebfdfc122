import Foundation
import JSONSchema
@testable import RouteHost
import RouteHostTestSupport
import ServiceLifecycle
import Testing

/// A job store that stops accepting writes (a full disk, a read-only file system) under a
/// running host, then accepts them again.
@Suite("A store that cannot write")
struct StoreFaultTests {
    @Test(.timeLimit(.minutes(1)))
    func aWebhookWhoseOutcomeCannotBeRecordedIsNotSentAgainAndReadinessSaysWhy() async throws {
        try await TemporaryDirectory.with { storage in
            let store = FaultyJobStore(SQLiteJobStore(storagePath: storage))
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage, store: store) { host in
                    #expect(try JSONParser.parse(try await host.get("/ready"))["status"] == "ready")
                    store.failWrites([.recordWebhook])
                    let accepted = try await host.post("/v1/test/work", ["webhook_url": .string(receiver.url)])
                    let jobID = try #require(accepted.json["job_id"]?.stringValue)
                    try await receiver.waitForDeliveries(1)
                    // The outcome cannot be written: it is retried, the webhook is not sent again.
                    while store.count(.recordWebhook) < 3 { try await Task.sleep(for: .milliseconds(20)) }
                    #expect(receiver.deliveries.count == 1, "never sent twice without a recorded attempt")

                    let ready = try await host.getResponse("/ready")
                    #expect(ready.status == 503)
                    #expect(ready.json["status"] == "unavailable")
                    #expect(ready.json["reason"]?.stringValue?.contains("disk I/O error") == true, "\(ready.json.serializedString())")
                    let health = try await host.getResponse("/health")
                    #expect(health.status == 200, "liveness stays up through a store fault")
                    #expect(health.json["status"] == "degraded")
                    #expect(health.json["job_store"]?["status"] == "unavailable")

                    store.failWrites([])
                    let status = try await host.waitForStatus(of: jobID) { $0["webhook"]?["state"] == "delivered" }
                    #expect(status["webhook"]?["attempts"] == 1)
                    #expect(receiver.deliveries.count == 1)
                    let recovered = try await host.getResponse("/ready")
                    #expect(recovered.status == 200)
                    #expect(try await host.getResponse("/health").json["status"] == "healthy")
                }
            }
        }
    }

    @Test func readinessSaysDrainingOnceShutdownBegins() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage) { host in
                let services = host.server.services
                #expect(ReadinessReport(host: services).answer().ready)
                // The drain signal as the host's service group runs it: graceful shutdown flips it.
                let group = ServiceGroup(
                    configuration: .init(services: [.init(service: DrainSignalService(host: services))], logger: .init(label: "t")))
                let running = Task { try await group.run() }
                await group.triggerGracefulShutdown()
                try await running.value
                #expect(services.isDraining)
                let served = try await host.getResponse("/ready")
                #expect(served.status == 503)
                #expect(served.json["status"] == "draining")
            }
        }
    }
}
