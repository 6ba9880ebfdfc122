import Foundation
import HTTPTypes
import JSONSchema
import RouteHost
import RouteHostTestSupport
import Testing

/// One receiver must not be able to hold up the others: deliveries are scheduled from the
/// store and a slot is held for one attempt only, bounded by `WEBHOOK_TIMEOUT`.
@Suite("Webhook scheduling: throttling receivers, slow bodies, due times")
struct WebhookSchedulingTests {
    /// `next_attempt_at` of a job-status `webhook` object, as a date.
    static func nextAttempt(_ status: JSONValue) throws -> Date {
        let text = try #require(status["webhook"]?["next_attempt_at"]?.stringValue)
        return try #require(try? Date(text, strategy: .iso8601))
    }

    @Test(.timeLimit(.minutes(1)))
    func aHangingReceiverHoldsOnlyItsShareOfTheSlots() async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: { _, _ in .hang }) { hanging in
                try await WebhookReceiver.with { healthy in
                    let settings = ["WEBHOOK_CONCURRENCY": "4", "WEBHOOK_RECEIVER_CONCURRENCY": "2", "WEBHOOK_TIMEOUT": "30", "QUEUE_WORKERS": "2"]
                    try await JobsHost.with(storage: storage, settings) { host in
                        for index in 0..<6 {
                            let answer = try await host.post("/v1/test/work", ["id": .number(JSONNumber(index)), "webhook_url": .string(hanging.url)])
                            #expect(answer.status == 202)
                        }
                        try await hanging.waitForRequests(2, timeout: .seconds(20))
                        let posted = ContinuousClock.now
                        let other = try await host.post("/v1/test/work", ["id": "other", "webhook_url": .string(healthy.url)])
                        #expect(other.status == 202)
                        // With 4 slots and no share per receiver, the hanging one would hold all 4 for 30 s.
                        try await healthy.waitForDeliveries(1, timeout: .seconds(20))
                        #expect(ContinuousClock.now - posted < .seconds(15), "the healthy receiver's webhook is not held up")
                        #expect(hanging.deliveries.count == 2, "the hanging receiver holds 2 slots, its share, not 4")
                    }
                }
            }
        }
    }

    @Test func aThrottlingReceiverDoesNotDelayOtherWebhooks() async throws {
        let slots = try HostConfiguration(environment: EnvironmentValues()).webhookConcurrency
        let throttle: @Sendable (Int, String) -> WebhookReceiver.Answer = { _, _ in
            .status(429, headers: [HTTPField.Name("Retry-After")!: "3600"])
        }
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: throttle) { throttling in
                try await WebhookReceiver.with { prompt in
                    try await JobsHost.with(storage: storage, ["QUEUE_WORKERS": "4"]) { host in
                        var throttled: [String] = []
                        for index in 0..<slots {
                            let answer = try await host.post(
                                "/v1/test/work", ["id": .number(JSONNumber(index)), "webhook_url": .string(throttling.url)])
                            throttled.append(try #require(answer.json["job_id"]?.stringValue))
                        }
                        // Every slot has seen a 429 asking for an hour: none may still be held.
                        try await throttling.waitForRequests(slots, timeout: .seconds(30))

                        let posted = ContinuousClock.now
                        let other = try await host.post("/v1/test/work", ["id": "other", "webhook_url": .string(prompt.url)])
                        #expect(other.status == 202)
                        try await prompt.waitForDeliveries(1, timeout: .seconds(10))
                        #expect(ContinuousClock.now - posted < .seconds(5), "another receiver's webhook is not held up")

                        let before = Date()
                        let status = try await host.waitForStatus(of: throttled[0]) { $0["webhook"]?["attempts"] == 1 }
                        #expect(status["webhook"]?["state"] == "pending")
                        #expect(status["webhook"]?["last_status"] == 429)
                        let due = try Self.nextAttempt(status)
                        // Retry-After: 3600 is capped at the 300 s backoff cap.
                        #expect(due.timeIntervalSince(before) > 250)
                        #expect(due.timeIntervalSince(before) < 302)
                        #expect(throttling.deliveries.count == slots, "no early retry")
                    }
                }
            }
        }
    }

    @Test func aReceiverThatDripsItsBodyIsCutAtTheTimeout() async throws {
        let drip: @Sendable (Int, String) -> WebhookReceiver.Answer = { _, _ in .drip(200, every: .milliseconds(100), bytes: 300) }
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: drip) { receiver in
                try await JobsHost.with(storage: storage, ["WEBHOOK_TIMEOUT": "1"]) { host in
                    let answer = try await host.post("/v1/test/work", ["webhook_url": .string(receiver.url)])
                    let jobID = try #require(answer.json["job_id"]?.stringValue)
                    try await receiver.waitForRequests(1)
                    let received = try #require(receiver.deliveries.first?.receivedAt)

                    let end = await receiver.dripEnded(jobID: jobID)
                    #expect(end.cut, "the host closed the connection before the body ended")
                    #expect(end.at - received < .seconds(3), "cut at WEBHOOK_TIMEOUT (1 s), not after the 30 s body")

                    let status = try await host.waitForStatus(of: jobID, timeout: .seconds(5)) { $0["webhook"]?["state"] != "pending" }
                    #expect(status["webhook"]?["state"] == "delivered", "a 2xx head is a delivery")
                    #expect(status["webhook"]?["attempts"] == 1)
                    #expect(receiver.deliveries.count == 1)
                }
            }
        }
    }

    @Test func anHTTPDateRetryAfterIsHonoured() async throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let retryAt = Date().addingTimeInterval(120)
        let header = formatter.string(from: retryAt)
        let respond: @Sendable (Int, String) -> WebhookReceiver.Answer = { attempt, _ in
            attempt == 1 ? .status(503, headers: [HTTPField.Name("Retry-After")!: header]) : .ok
        }
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: respond) { receiver in
                try await JobsHost.with(storage: storage) { host in
                    let answer = try await host.post("/v1/test/work", ["webhook_url": .string(receiver.url)])
                    let jobID = try #require(answer.json["job_id"]?.stringValue)
                    let status = try await host.waitForStatus(of: jobID) { $0["webhook"]?["attempts"] == 1 }
                    #expect(status["webhook"]?["state"] == "pending")
                    let due = try Self.nextAttempt(status)
                    #expect(abs(due.timeIntervalSince(retryAt)) < 2, "due at the receiver's date, \(header)")
                    #expect(receiver.deliveries.count == 1)
                }
            }
        }
    }

    @Test func aDueDeliveryIsRecordedAndSurvivesARestart() async throws {
        let respond: @Sendable (Int, String) -> WebhookReceiver.Answer = { attempt, _ in
            attempt == 1 ? .status(503, headers: [HTTPField.Name("Retry-After")!: "2"]) : .ok
        }
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: respond) { receiver in
                let jobID = try await JobsHost.with(storage: storage) { host in
                    let answer = try await host.post("/v1/test/work", ["webhook_url": .string(receiver.url)])
                    let jobID = try #require(answer.json["job_id"]?.stringValue)
                    let status = try await host.waitForStatus(of: jobID) { $0["webhook"]?["attempts"] == 1 }
                    #expect(status["webhook"]?["state"] == "pending")
                    return jobID
                }
                try await JobsHost.with(storage: storage) { host in
                    let status = try await host.waitForStatus(of: jobID) { $0["webhook"]?["state"] == "delivered" }
                    #expect(status["webhook"]?["attempts"] == 2)
                    #expect(status["webhook"]?["next_attempt_at"] == .null)
                }
            }
        }
    }
}
