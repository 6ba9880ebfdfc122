import Foundation
import JSONSchema
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// `Idempotency-Key`: a retried submission answers the first one's answer and runs nothing twice.
@Suite("Idempotency-Key on envelope routes")
struct IdempotencyTests {
    static let otherKey = "other-key-9876543210"
    static let settings = ["API_KEYS": otherKey]

    @Test(arguments: StoreKind.available)
    func aRetriedQueuedSubmissionGetsTheSame202AndRunsOnce(_ kind: StoreKind) async throws {
        try await WebhookReceiver.with { receiver in
            try await JobsHost.with(kind, Self.settings) { host in
                let counter = "idem-queued-\(UUID().uuidString)"
                let body: JSONValue = ["webhook_url": .string(receiver.url), "count": .string(counter), "id": "order-7"]
                let first = try await host.post("/v1/test/work", body, headers: ["Idempotency-Key": "retry-1"])
                #expect(first.status == 202)
                let jobID = try #require(first.json["job_id"]?.stringValue)
                try await receiver.waitForDeliveries(1)

                let again = try await host.post("/v1/test/work", body, headers: ["Idempotency-Key": "retry-1"])
                #expect(again.status == 202)
                #expect(again.json["job_id"]?.stringValue == jobID, "the same job_id")
                #expect(again.json["id"] == "order-7")
                #expect(again.headers.first(name: "Idempotent-Replayed") == "true")
                #expect(TestGates.count(counter) == 1, "the job ran once")
                #expect(receiver.deliveries.count == 1, "one webhook")

                // Another key's use of the same Idempotency-Key is its own.
                let other = try await host.post("/v1/test/work", body, key: Self.otherKey, headers: ["Idempotency-Key": "retry-1"])
                #expect(other.status == 202)
                #expect(other.json["job_id"]?.stringValue != jobID)
                try await receiver.waitForDeliveries(2)
                #expect(TestGates.count(counter) == 2)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aRetriedSyncRequestGetsTheStoredEnvelopeByteForByte(_ kind: StoreKind) async throws {
        try await JobsHost.with(kind, Self.settings) { host in
            let counter = "idem-sync-\(UUID().uuidString)"
            let body: JSONValue = ["count": .string(counter), "fail": 418]
            let first = try await host.post("/v1/test/sync", body, headers: ["Idempotency-Key": "sync-1"])
            let again = try await host.post("/v1/test/sync", body, headers: ["Idempotency-Key": "sync-1"])
            #expect(again.status == first.status)
            #expect(again.json == first.json, "the first answer, with its job_id and times")
            #expect(again.headers.first(name: "Idempotent-Replayed") == "true")
            #expect(first.headers.first(name: "Idempotent-Replayed") == nil)
            #expect(TestGates.count(counter) == 1)
        }
    }

    @Test(arguments: StoreKind.available)
    func theSameKeyWithAnotherRequestIsRefusedAndChangesNothing(_ kind: StoreKind) async throws {
        try await JobsHost.with(kind, Self.settings) { host in
            let counter = "idem-mismatch-\(UUID().uuidString)"
            let first = try await host.post("/v1/test/sync", ["count": .string(counter), "n": 1], headers: ["Idempotency-Key": "k-2"])
            #expect(first.status == 200)
            let changed = try await host.post("/v1/test/sync", ["count": .string(counter), "n": 2], headers: ["Idempotency-Key": "k-2"])
            #expect(changed.status == 422)
            #expect(changed.json["message"]?.stringValue?.contains("used with another request") == true, "\(changed.json.serializedString())")
            let otherRoute = try await host.post("/v1/test/work", ["count": .string(counter), "n": 1], headers: ["Idempotency-Key": "k-2"])
            #expect(otherRoute.status == 422, "the route is part of the request")
            #expect(TestGates.count(counter) == 1)
        }
    }

    @Test func aKeyWhoseFirstSubmissionStillRunsIsAConflict() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage) { host in
                let gate = "idem-hold-\(UUID().uuidString)"
                let body: JSONValue = ["hold": .string(gate)]
                async let first = host.post("/v1/test/sync", body, headers: ["Idempotency-Key": "slow-1"])
                while TestGates.waiting(gate) == 0 { try await Task.sleep(for: .milliseconds(5)) }
                let during = try await host.post("/v1/test/sync", body, headers: ["Idempotency-Key": "slow-1"])
                #expect(during.status == 409)
                #expect(during.json["message"]?.stringValue?.contains("still in progress") == true)
                TestGates.open(gate)
                let answered = try await first
                #expect(answered.status == 200)
                let after = try await host.post("/v1/test/sync", body, headers: ["Idempotency-Key": "slow-1"])
                #expect(after.json == answered.json)
            }
        }
    }

    @Test(arguments: ["", String(repeating: "k", count: 256), "has space"])
    func aMalformedKeyIsA400(_ key: String) async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage) { host in
                let answer = try await host.post("/v1/test/sync", ["n": 1], headers: ["Idempotency-Key": key])
                #expect(answer.status == 400)
                #expect(answer.json["message"]?.stringValue?.contains("Invalid Idempotency-Key") == true, "\(answer.json.serializedString())")
            }
        }
    }
}
