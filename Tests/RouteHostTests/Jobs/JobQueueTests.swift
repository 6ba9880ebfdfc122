import Foundation
import HTTPTypes
import JSONSchema
import RouteHost
import RouteHostTestSupport
import Testing

@Suite("Job queue: sync and queued paths, limits, job status")
struct JobQueueTests {
    static let envelopeKeys = [
        "endpoint", "code", "id", "job_id", "response", "message", "run_time", "queue_time", "total_time", "pid", "queue_id",
        "queue_length", "build_number",
    ]
    static let acceptedKeys = ["code", "id", "job_id", "message", "pid", "queue_id", "max_queue_length", "queue_length", "build_number"]

    static func isUUIDv4(_ text: String?) -> Bool {
        guard let text, UUID(uuidString: text) != nil, text == text.lowercased() else { return false }
        return Array(text)[14] == "4"
    }

    @Test func syncRequestAnswersTheEnvelopeAndRecordsTheJob() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage, ["BUILD_NUMBER": "42"]) { host in
                let answer = try await host.post("/v1/test/sync", ["id": "client-7", "value": 1])
                #expect(answer.status == 200)
                let envelope = answer.json
                #expect(envelope.keys == Self.envelopeKeys)
                #expect(envelope["endpoint"] == "/v1/test/sync")
                #expect(envelope["code"] == 200)
                #expect(envelope["id"] == "client-7")
                #expect(envelope["message"] == "success")
                #expect(envelope["response"] == ["echo": ["id": "client-7", "value": 1]])
                #expect(envelope["build_number"] == 42)
                #expect(envelope["queue_time"] == 0)
                #expect(envelope["pid"] == .number(JSONNumber(Int(ProcessInfo.processInfo.processIdentifier))))
                let jobID = try #require(envelope["job_id"]?.stringValue)
                #expect(Self.isUUIDv4(jobID))

                let status = try await host.status(of: jobID)
                #expect(status.keys == ["job_status", "job_id", "queue_id", "process_id", "response", "webhook"])
                #expect(status["job_status"] == "done")
                #expect(status["job_id"] == .string(jobID))
                #expect(status["queue_id"] == envelope["queue_id"])
                #expect(status["process_id"] == envelope["pid"])
                #expect(status["response"]?["response"] == envelope["response"])
                #expect(status["response"]?["job_id"] == .string(jobID))
                #expect(status["webhook"] == .null)
            }
        }
    }

    @Test func queuedRequestAnswers202AndDeliversTheSameJobID() async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage, ["MAX_QUEUE_LENGTH": "0"]) { host in
                    let answer = try await host.post("/v1/test/work", ["id": 99, "webhook_url": .string(receiver.url)])
                    #expect(answer.status == 202)
                    let accepted = answer.json
                    #expect(accepted.keys == Self.acceptedKeys)
                    #expect(accepted["code"] == 202)
                    #expect(accepted["id"] == 99)
                    #expect(accepted["message"] == "processing")
                    #expect(accepted["max_queue_length"] == "unlimited")
                    #expect(accepted["build_number"] == 0)
                    let jobID = try #require(accepted["job_id"]?.stringValue)
                    #expect(Self.isUUIDv4(jobID))

                    try await receiver.waitForDeliveries(1)
                    let delivery = try #require(receiver.successes.first)
                    #expect(delivery.headers[.contentType] == "application/json")
                    #expect(delivery.headers[HTTPField.Name("X-Webhook-Signature")!] == nil)
                    let envelope = try #require(delivery.json)
                    #expect(envelope.keys == Self.envelopeKeys)
                    #expect(envelope["job_id"] == .string(jobID))
                    #expect(envelope["id"] == 99)
                    #expect(envelope["code"] == 200)
                    #expect(envelope["endpoint"] == "/v1/test/work")
                    #expect(envelope["response"]?["echo"]?["id"] == 99)

                    let status = try await host.waitForStatus(of: jobID) { $0["webhook"]?["state"] == "delivered" }
                    #expect(status["job_status"] == "done")
                    #expect(status["response"] == envelope)
                    #expect(status["webhook"]?["attempts"] == 1)
                    #expect(status["webhook"]?["last_status"] == 200)
                    #expect(status["webhook"]?["delivered_at"]?.stringValue != nil)
                }
            }
        }
    }

    @Test func invalidWebhookURLIsRejected() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage) { host in
                for url: JSONValue in ["ftp://example.com/x", "not a url", "/relative", 12] {
                    let answer = try await host.post("/v1/test/work", ["webhook_url": url])
                    #expect(answer.status == 400, "\(url)")
                }
            }
        }
    }

    @Test func webhookHostsCanBeRestricted() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage, ["WEBHOOK_ALLOWED_HOSTS": "127.0.0.1, LocalHost", "WEBHOOK_MAX_ATTEMPTS": "1"]) { host in
                for url in ["http://127.0.0.2:9/x", "http://evil.example/x", "http://localhost.evil.example/x"] {
                    let answer = try await host.post("/v1/test/work", ["webhook_url": .string(url)])
                    #expect(answer.status == 400, "\(url)")
                    #expect(answer.json["message"]?.stringValue?.contains("WEBHOOK_ALLOWED_HOSTS") == true)
                }
                for url in ["http://127.0.0.1:9/in", "http://localhost:9/in"] {
                    let answer = try await host.post("/v1/test/work", ["webhook_url": .string(url)])
                    #expect(answer.status == 202, "\(url)")
                }
            }
        }
    }

    @Test func fullQueueAnswers429WithRetryAfter() async throws {
        let gate = "full-\(UUID().uuidString)"
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage, ["MAX_QUEUE_LENGTH": "2", "QUEUE_WORKERS": "1"]) { host in
                    let first = try await host.post("/v1/test/work", ["hold": .string(gate), "webhook_url": .string(receiver.url)])
                    #expect(first.status == 202)
                    #expect(first.json["max_queue_length"] == 2)
                    let firstID = try #require(first.json["job_id"]?.stringValue)
                    try await host.waitForStatus(of: firstID) { $0["job_status"] == "running" }

                    var queued: [String] = []
                    for index in 0..<2 {
                        let answer = try await host.post("/v1/test/work", ["id": .number(JSONNumber(index)), "webhook_url": .string(receiver.url)])
                        #expect(answer.status == 202)
                        #expect(answer.json["queue_length"] == .number(JSONNumber(index + 1)))
                        queued.append(try #require(answer.json["job_id"]?.stringValue))
                    }
                    let refused = try await host.post("/v1/test/work", ["id": "x", "webhook_url": .string(receiver.url)])
                    #expect(refused.status == 429)
                    #expect(refused.json.keys == Self.envelopeKeys)
                    #expect(refused.json["code"] == 429)
                    #expect(refused.json["message"] == "MAX_QUEUE_LENGTH (2) reached")
                    #expect(refused.json["id"] == "x")
                    // A fresh job_id, as the original's; never stored.
                    let refusedID = try #require(refused.json["job_id"]?.stringValue)
                    #expect(UUID(uuidString: refusedID) != nil && refusedID.dropFirst(14).first == "4", "\(refusedID)")
                    #expect(!([firstID] + queued).contains(refusedID))
                    #expect(try await host.post("/v1/toolkit/job/status", ["job_id": .string(refusedID)]).status == 404)
                    let retryAfter = try #require(refused.headers.first(name: "Retry-After").flatMap { Int($0) })
                    #expect(retryAfter >= 1 && retryAfter <= 60)

                    TestGates.open(gate)
                    try await receiver.waitForDeliveries(3)
                    #expect(Set(receiver.successes.map(\.jobID)) == Set([firstID] + queued))
                }
            }
        }
    }

    @Test func jobStatusForRunningUnknownAndMalformedIDs() async throws {
        let gate = "status-\(UUID().uuidString)"
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage) { host in
                    let accepted = try await host.post("/v1/test/work", ["hold": .string(gate), "webhook_url": .string(receiver.url)])
                    let jobID = try #require(accepted.json["job_id"]?.stringValue)
                    let running = try await host.waitForStatus(of: jobID) { $0["job_status"] == "running" }
                    #expect(running["response"] == .null)
                    #expect(running["webhook"] == .null)

                    let unknown = UUID().uuidString.lowercased()
                    let missing = try await host.post("/v1/toolkit/job/status", ["job_id": .string(unknown)])
                    #expect(missing.status == 404)
                    #expect(missing.json["code"] == 404)
                    #expect(missing.json["message"] == ["error": "Job not found", "job_id": .string(unknown)])
                    #expect(missing.json["response"] == .null)

                    // Any string names a job or not, as in the original: the not-found envelope with
                    // the id as sent, `id` echoed; nothing outside the store is read.
                    for name in ["test-123", "../../etc/passwd", "1234", "", UUID().uuidString] {
                        let answer = try await host.post("/v1/toolkit/job/status", ["job_id": .string(name), "id": "ref-7"])
                        #expect(answer.status == 404, "\(name)")
                        #expect(answer.json["message"] == ["error": "Job not found", "job_id": .string(name)])
                        #expect(answer.json["id"] == "ref-7")
                        #expect(answer.json["response"] == .null)
                    }
                    // Only a job_id that is not a string is invalid.
                    for bad: JSONValue in [5, .null, ["x"], true] {
                        let answer = try await host.post("/v1/toolkit/job/status", ["job_id": bad])
                        #expect(answer.status == 400, "\(bad)")
                        #expect(answer.json["message"]?.stringValue?.hasPrefix("Invalid payload: ") == true, "\(answer.json)")
                    }

                    TestGates.open(gate)
                    let done = try await host.waitForStatus(of: jobID) { $0["job_status"] == "done" }
                    #expect(done["response"]?["code"] == 200)
                    let upper = try await host.post("/v1/toolkit/job/status", ["job_id": .string(jobID.uppercased())])
                    #expect(upper.json["response"]?["job_id"] == .string(jobID))
                }
            }
        }
    }

    @Test func jobsStatusListsTheWindowAndRejectsBadWindows() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage) { host in
                let first = try await host.post("/v1/test/sync", ["value": 1])
                let second = try await host.post("/v1/test/sync", ["value": 2])
                let ids = [first, second].compactMap { $0.json["job_id"]?.stringValue }
                #expect(ids.count == 2)

                let listed = try await host.post("/v1/toolkit/jobs/status", ["since_seconds": 600])
                #expect(listed.status == 200)
                for id in ids { #expect(listed.json["response"]?[id] == "done") }

                let none = try await host.post("/v1/toolkit/jobs/status", ["since_seconds": 0])
                #expect(none.status == 200)
                for id in ids { #expect(none.json["response"]?[id] == nil) }

                for bad: JSONValue in [-1, 1.5, "600", .null, true] {
                    let answer = try await host.post("/v1/toolkit/jobs/status", ["since_seconds": bad])
                    #expect(answer.status == 400, "\(bad)")
                }

                // What the original's clients send: no body, `{}`, `null`, unknown members: the default window.
                for text: String? in [nil, "", "{}", "null", #"{"job_ids":["a","b"]}"#] {
                    let answer = try await host.post("/v1/toolkit/jobs/status", text: text)
                    #expect(answer.status == 200, "\(text ?? "no body")")
                    for id in ids { #expect(answer.json["response"]?[id] == "done", "\(text ?? "no body")") }
                }
                // A body that is not an object is still refused.
                for text in ["[]", "0", "\"x\""] {
                    #expect(try await host.post("/v1/toolkit/jobs/status", text: text).status == 400, "\(text)")
                }
            }
        }
    }

    @Test func throwingHandlersNeverStallTheQueue() async throws {
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage, ["QUEUE_WORKERS": "2"]) { host in
                    var expected: [String: Int] = [:]
                    for index in 1...50 {
                        let throwing = index % 5 == 0
                        let answer = try await host.post(
                            "/v1/test/work", ["id": .number(JSONNumber(index)), "throw": .bool(throwing), "webhook_url": .string(receiver.url)])
                        #expect(answer.status == 202)
                        expected[try #require(answer.json["job_id"]?.stringValue)] = throwing ? 500 : 200
                    }
                    try await receiver.waitForDeliveries(50, timeout: .seconds(30))
                    let delivered = receiver.successes
                    #expect(delivered.count == 50)
                    #expect(Set(delivered.map(\.jobID)) == Set(expected.keys))
                    for delivery in delivered {
                        let envelope = try #require(delivery.json)
                        #expect(envelope["code"] == .number(JSONNumber(expected[delivery.jobID] ?? 0)))
                        if envelope["code"] == 500 {
                            #expect(envelope["response"] == .null)
                            #expect(envelope["message"]?.stringValue?.hasPrefix("Internal Server Error") == true)
                        }
                    }
                    for jobID in expected.keys {
                        let status = try await host.waitForStatus(of: jobID) { $0["webhook"]?["state"] == "delivered" }
                        #expect(status["job_status"] == "done")
                        #expect(status["response"]?["code"] == .number(JSONNumber(expected[jobID] ?? 0)))
                    }
                }
            }
        }
    }

    @Test func routeFailureBecomesTheEnvelopeCode() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage) { host in
                let answer = try await host.post("/v1/test/sync", ["fail": 422, "id": "f"])
                #expect(answer.status == 422)
                #expect(answer.json["code"] == 422)
                #expect(answer.json["message"] == "failed on purpose")
                #expect(answer.json["response"] == .null)
            }
        }
    }
}
