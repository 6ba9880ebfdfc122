import Foundation
import JSONSchema
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// What one job may keep: bounded payloads and headers, bounded strings in the shipped schemas.
@Suite("Bounds on what a job keeps")
struct StoredJobBoundsTests {
    @Test func aQueuedRequestOverTheBoundIsRefusedAndNothingIsKept() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage, ["MAX_STORED_JOB_BYTES": "2048"]) { host in
                let big = String(repeating: "x", count: 4096)
                let refused = try await host.post("/v1/test/work", ["webhook_url": "http://127.0.0.1:1/hook", "text": .string(big)])
                #expect(refused.status == 413)
                #expect(refused.json["message"]?.stringValue?.contains("MAX_STORED_JOB_BYTES") == true, "\(refused.json.serializedString())")
                let listed = try await host.post("/v1/toolkit/jobs/status", ["since_seconds": 600])
                #expect(listed.json["response"]?.objectValue?.keys.isEmpty == true, "nothing was queued")
            }
        }
    }

    @Test func aSyncJobKeepsANoteInsteadOfALargePayloadAndBoundedHeaders() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage, ["MAX_STORED_JOB_BYTES": "2048"]) { host in
                let big = String(repeating: "x", count: 4096)
                var headers: [String: String] = [:]
                for index in 0..<20 { headers["X-Filler-\(index)"] = String(repeating: "h", count: 800) }
                let answer = try await host.post("/v1/test/sync", ["text": .string(big)], headers: headers)
                #expect(answer.status == 200, "a sync request is served whatever its size")
                let jobID = try #require(answer.json["job_id"]?.stringValue)
                _ = try await host.waitForPostStatus(jobID)
                let record = try #require(try await host.server.services.jobs.job(id: jobID))
                #expect(record.payload["omitted"]?.stringValue?.contains("over MAX_STORED_JOB_BYTES (2048)") == true)
                let kept = record.headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count }
                #expect(kept <= StoredHeaders.maximumBytes)
                #expect(kept > 0)
            }
        }
    }

    @Test(arguments: ["youtube-info.json", "youtube-mp3.json", "youtube-mp4.json"])
    func theShippedSchemasBoundTheirStrings(_ file: String) throws {
        let path = URL(fileURLWithPath: SharedQueueTests.repoManifest).deletingLastPathComponent()
            .appendingPathComponent("schemas").appendingPathComponent(file)
        let schema = try Schema(try JSONParser.parse(Array(try Data(contentsOf: path))))
        let url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        #expect(schema.isValid(["url": .string(url), "id": .string(String(repeating: "i", count: 256))]))
        #expect(!schema.isValid(["url": .string(url + "&" + String(repeating: "p", count: 2048))]), "url: 2,048 characters at most")
        #expect(!schema.isValid(["url": .string(url), "id": .string(String(repeating: "i", count: 257))]), "id: 256 at most")
    }
}

/// The store's size and the room left, in `/v1/toolkit/test` and `/health`.
@Suite("Storage in the setup check and health")
struct StorageReportTests {
    @Test(arguments: StoreKind.available)
    func theSetupCheckReportsTheStoreSizeAndFreeDisk(_ kind: StoreKind) async throws {
        try await JobsHost.with(kind) { host in
            _ = try await host.post("/v1/test/sync", ["n": 1])
            let answer = try JSONParser.parse(try await host.get("/v1/toolkit/test"))
            let store = try #require(answer["response"]?["job_store"])
            #expect(store["kind"]?.stringValue == kind.rawValue)
            #expect((store["size_bytes"]?.numberValue?.intValue ?? 0) > 0, "\(store.serializedString())")
            #expect((store["disk_free_bytes"]?.numberValue?.intValue ?? 0) > 0)
            let percent = try #require(store["disk_free_percent"]?.numberValue?.doubleValue)
            #expect(percent > 0 && percent <= 100)
        }
    }

    @Test func healthIsDegradedWhileFreeDiskIsUnderTheMinimum() async throws {
        try await JobsHost.with(.sqlite, ["DISK_FREE_MIN_PERCENT": "100"]) { host in
            let health = try await host.getResponse("/health")
            #expect(health.status == 200)
            #expect(health.json["status"] == "degraded")
            #expect(health.json["job_store"]?["status"] == "disk_low")
            #expect(health.json["job_store"]?["error"]?.stringValue?.contains("DISK_FREE_MIN_PERCENT") == true)
        }
        try await JobsHost.with(.sqlite, ["DISK_FREE_MIN_PERCENT": "0"]) { host in
            let health = try await host.getResponse("/health")
            #expect(health.json["status"] == "healthy")
            #expect(health.json["job_store"]?["status"] == "healthy")
        }
    }
}
