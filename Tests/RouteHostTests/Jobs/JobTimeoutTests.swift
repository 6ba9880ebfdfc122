import Foundation
import JSONSchema
import RouteHost
import RouteHostTestSupport
import Testing

@Suite("JOB_TIMEOUT_SECONDS: a handler that never returns")
struct JobTimeoutTests {
    @Test func aHangingHandlerTimesOutAndTheWorkerGoesOn() async throws {
        let gate = "never-\(UUID().uuidString)"
        defer { TestGates.open(gate) }
        try await TemporaryDirectory.with { storage in
            try await WebhookReceiver.with { receiver in
                try await JobsHost.with(storage: storage, ["QUEUE_WORKERS": "1", "JOB_TIMEOUT_SECONDS": "0.5"]) { host in
                    // The gate stays closed: the handler hangs and ignores cancellation.
                    let hanging = try await host.post("/v1/test/work", ["id": "hangs", "hold": .string(gate), "webhook_url": .string(receiver.url)])
                    let next = try await host.post("/v1/test/work", ["id": "next", "webhook_url": .string(receiver.url)])
                    let hangingID = try #require(hanging.json["job_id"]?.stringValue)
                    let nextID = try #require(next.json["job_id"]?.stringValue)

                    try await receiver.waitForDeliveries(2)
                    let envelope = try #require(receiver.successes.first { $0.jobID == hangingID }?.json)
                    #expect(envelope["code"] == 504)
                    #expect(envelope["id"] == "hangs")
                    #expect(envelope["response"] == .null)
                    let message = envelope["message"]?.stringValue ?? ""
                    #expect(message.contains("timed out after 0.5 s"), "\(message)")
                    #expect(message.contains("JOB_TIMEOUT_SECONDS"), "says how to raise the limit: \(message)")
                    let runTime = envelope["run_time"]?.numberValue?.doubleValue ?? 0
                    #expect(runTime >= 0.45 && runTime < 5)

                    let status = try await host.status(of: hangingID)
                    #expect(status["job_status"] == "done")
                    #expect(status["response"]?["code"] == 504)
                    let after = try await host.status(of: nextID)
                    #expect(after["job_status"] == "done")
                    #expect(after["response"]?["code"] == 200)
                }
            }
        }
    }

    @Test func aHangingSyncHandlerAnswers504() async throws {
        let gate = "never-sync-\(UUID().uuidString)"
        defer { TestGates.open(gate) }
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage, ["JOB_TIMEOUT_SECONDS": "0.3"]) { host in
                let answer = try await host.post("/v1/test/sync", ["id": "s", "hold": .string(gate)])
                #expect(answer.status == 504)
                #expect(answer.json["code"] == 504)
                #expect(answer.json["message"]?.stringValue?.contains("JOB_TIMEOUT_SECONDS") == true)
                let jobID = try #require(answer.json["job_id"]?.stringValue)
                let status = try await host.status(of: jobID)
                #expect(status["job_status"] == "done")
                #expect(status["response"]?["code"] == 504)
            }
        }
    }

    @Test func theSettingIsReadAndChecked() throws {
        #expect(try HostConfiguration(environment: EnvironmentValues()).jobTimeout == .seconds(600))
        #expect(try HostConfiguration(environment: EnvironmentValues(["JOB_TIMEOUT_SECONDS": "0"])).jobTimeout == nil)
        #expect(try HostConfiguration(environment: EnvironmentValues(["JOB_TIMEOUT_SECONDS": "2.5"])).jobTimeout == .milliseconds(2500))
        for value in ["-1", "soon"] {
            #expect(throws: EnvironmentError.self) { try HostConfiguration(environment: EnvironmentValues(["JOB_TIMEOUT_SECONDS": value])) }
        }
    }
}
