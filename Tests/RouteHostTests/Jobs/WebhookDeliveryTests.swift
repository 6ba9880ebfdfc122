import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import RouteHost
import RouteHostTestSupport
import Testing

@Suite("Webhooks: retries, timeouts, signature")
struct WebhookDeliveryTests {
    /// Queues one job to `url` and waits until its webhook is no longer pending.
    func runJob(on host: JobsHost, to url: String, timeout: Duration = .seconds(20)) async throws -> (jobID: String, status: JSONValue) {
        let answer = try await host.post("/v1/test/work", ["webhook_url": .string(url)])
        #expect(answer.status == 202)
        let jobID = try #require(answer.json["job_id"]?.stringValue)
        let status = try await host.waitForStatus(of: jobID, timeout: timeout) {
            guard let state = $0["webhook"]?["state"] else { return false }
            return state != "pending"
        }
        return (jobID, status)
    }

    @Test func retriesServerErrorsUntilDelivered() async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: { attempt, _ in attempt < 3 ? .status(500) : .ok }) { receiver in
                try await JobsHost.with(storage: storage) { host in
                    let (jobID, status) = try await runJob(on: host, to: receiver.url)
                    #expect(status["webhook"]?["state"] == "delivered")
                    #expect(status["webhook"]?["attempts"] == 3)
                    #expect(status["webhook"]?["last_status"] == 200)
                    #expect(status["webhook"]?["last_error"] == .null)
                    let requests = receiver.deliveries.filter { $0.jobID == jobID }
                    #expect(requests.count == 3)
                    #expect(Set(requests.map(\.body)).count == 1, "every attempt sends the same body")
                }
            }
        }
    }

    @Test func unreachableReceiverFailsAfterTheConfiguredAttemptsAndTheQueueGoesOn() async throws {
        let closed = try await WebhookReceiver.start { _, _ in .ok }
        let deadURL = closed.url
        await closed.stop()
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage, ["WEBHOOK_MAX_ATTEMPTS": "3", "QUEUE_WORKERS": "1"]) { host in
                    let (_, status) = try await runJob(on: host, to: deadURL)
                    #expect(status["job_status"] == "done")
                    #expect(status["webhook"]?["state"] == "failed")
                    #expect(status["webhook"]?["attempts"] == 3)
                    #expect(status["webhook"]?["last_status"] == .null)
                    #expect(status["webhook"]?["last_error"] == "could not connect to the receiver")

                    let (_, next) = try await runJob(on: host, to: receiver.url)
                    #expect(next["webhook"]?["state"] == "delivered")
                }
            }
        }
    }

    @Test func deadReceiverDoesNotHoldTheWorker() async throws {
        let gate = "slow-hook-\(UUID().uuidString)"
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: { _, _ in .hang }) { hanging in
                try await WebhookReceiver.with { receiver in
                    try await JobsHost.with(storage: storage, ["QUEUE_WORKERS": "1", "WEBHOOK_TIMEOUT": "30"]) { host in
                        _ = try await host.post("/v1/test/work", ["count": .string(gate), "webhook_url": .string(hanging.url)])
                        try await hanging.waitForRequests(1)
                        _ = try await runJob(on: host, to: receiver.url)
                        #expect(TestGates.count(gate) == 1)
                        await hanging.stop()
                    }
                }
            }
        }
    }

    @Test func hangingReceiverTimesOut() async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: { _, _ in .hang }) { receiver in
                // A second per attempt: ample for the receiver to record each one on any machine.
                try await JobsHost.with(storage: storage, ["WEBHOOK_TIMEOUT": "1", "WEBHOOK_MAX_ATTEMPTS": "2"]) { host in
                    let started = ContinuousClock.now
                    let (_, status) = try await runJob(on: host, to: receiver.url)
                    #expect(status["webhook"]?["state"] == "failed")
                    #expect(status["webhook"]?["attempts"] == 2)
                    #expect(status["webhook"]?["last_error"] == "timed out after 1.0 seconds")
                    #expect(ContinuousClock.now - started < .seconds(20))
                    #expect(receiver.deliveries.count == 2)
                }
            }
        }
    }

    @Test func retryAfterIsHonoured() async throws {
        try await TemporaryDirectory.with { storage in
            let respond: @Sendable (Int, String) -> WebhookReceiver.Answer = { attempt, _ in
                attempt == 1 ? .status(429, headers: [HTTPField.Name("Retry-After")!: "1"]) : .ok
            }
            try await WebhookReceiver.with(respond: respond) { receiver in
                try await JobsHost.with(storage: storage) { host in
                    let (jobID, status) = try await runJob(on: host, to: receiver.url)
                    #expect(status["webhook"]?["state"] == "delivered")
                    #expect(status["webhook"]?["attempts"] == 2)
                    let times = receiver.deliveries.filter { $0.jobID == jobID }.map(\.receivedAt)
                    #expect(times.count == 2)
                    if times.count == 2 { #expect(times[1] - times[0] >= .milliseconds(950)) }
                }
            }
        }
    }

    @Test func clientErrorsAreNotRetried() async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with(respond: { _, _ in .status(400) }) { receiver in
                try await JobsHost.with(storage: storage) { host in
                    let (_, status) = try await runJob(on: host, to: receiver.url)
                    #expect(status["webhook"]?["state"] == "failed")
                    #expect(status["webhook"]?["attempts"] == 1)
                    #expect(status["webhook"]?["last_status"] == 400)
                    #expect(status["webhook"]?["last_error"] == "HTTP 400")
                    #expect(receiver.deliveries.count == 1)
                }
            }
        }
    }

    @Test func requestTimeoutAndRateLimitAreRetried() async throws {
        try await TemporaryDirectory.with { storage in
            let respond: @Sendable (Int, String) -> WebhookReceiver.Answer = { attempt, _ in
                [1: .status(408), 2: .status(429), 3: .status(503)][attempt] ?? .ok
            }
            try await WebhookReceiver.with(respond: respond) { receiver in
                try await JobsHost.with(storage: storage) { host in
                    let (_, status) = try await runJob(on: host, to: receiver.url)
                    #expect(status["webhook"]?["state"] == "delivered")
                    #expect(status["webhook"]?["attempts"] == 4)
                }
            }
        }
    }

    @Test func signatureVerifiesWithTheDocumentedRecipe() async throws {
        let secret = "whsec-\(UUID().uuidString)"
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage, ["WEBHOOK_SECRET": secret]) { host in
                    _ = try await runJob(on: host, to: receiver.url)
                    let delivery = try #require(receiver.successes.first)
                    let signature = try #require(delivery.headers[HTTPField.Name("X-Webhook-Signature")!])
                    let mac = HMAC<SHA256>.authenticationCode(for: delivery.body, using: SymmetricKey(data: Data(secret.utf8)))
                    let expected = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
                    #expect(signature == expected)
                    let timestamp = try #require(delivery.headers[HTTPField.Name("X-Webhook-Timestamp")!].flatMap { Int($0) })
                    #expect(abs(timestamp - Int(Date().timeIntervalSince1970)) < 60)

                    #expect(!"\(host.server.configuration)".contains(secret))
                    #expect(!String(reflecting: host.server.configuration).contains(secret))
                    let setup = try await host.get("/v1/toolkit/test")
                    #expect(!setup.contains(secret))
                }
            }
        }
    }
}

@Suite("Webhook retry policy")
struct WebhookRetryPolicyTests {
    @Test func retryableStatuses() {
        #expect(WebhookRetryPolicy.isRetryable(status: nil))
        for status in [500, 502, 503, 504, 408, 429] { #expect(WebhookRetryPolicy.isRetryable(status: status)) }
        for status in [400, 401, 403, 404, 410, 422] { #expect(!WebhookRetryPolicy.isRetryable(status: status)) }
    }

    @Test func backoffDoublesWithBoundedJitterAndHonoursRetryAfter() {
        let policy = WebhookRetryPolicy(maxAttempts: 5, baseDelay: .seconds(1))
        for _ in 0..<50 {
            #expect((.milliseconds(750)...(.milliseconds(1250))).contains(policy.delay(after: 1, retryAfter: nil)))
            #expect((.seconds(3)...(.seconds(5))).contains(policy.delay(after: 3, retryAfter: nil)))
        }
        #expect((.seconds(225)...(.seconds(300))).contains(policy.delay(after: 30, retryAfter: nil)), "jitter below the cap")
        #expect(policy.delay(after: 1, retryAfter: .seconds(7)) == .seconds(7))
        #expect(policy.delay(after: 1, retryAfter: .seconds(86_400)) == .seconds(300), "Retry-After is capped at the backoff cap")
        let slow = WebhookRetryPolicy(maxAttempts: 5, baseDelay: .seconds(900))
        #expect(slow.delay(after: 1, retryAfter: nil) == .seconds(300))
    }
}
