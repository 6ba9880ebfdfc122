import Foundation
import JSONSchema
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// `JOB_VISIBILITY=key`: each API key sees only its own jobs.
@Suite("Job visibility by key")
struct JobVisibilityTests {
    static let otherKey = "other-key-9876543210"

    @Test(arguments: StoreKind.available)
    func underKeyVisibilityAnotherKeysJobIsNotFound(_ kind: StoreKind) async throws {
        try await JobsHost.with(kind, ["API_KEYS": Self.otherKey, "JOB_VISIBILITY": "key"]) { host in
            let mine = try #require(try await host.post("/v1/test/sync", ["n": 1]).json["job_id"]?.stringValue)
            let theirs = try #require(try await host.post("/v1/test/sync", ["n": 2], key: Self.otherKey).json["job_id"]?.stringValue)

            let own = try await host.waitForPostStatus(mine)
            #expect(own.status == 200)
            let hidden = try await host.post("/v1/toolkit/job/status", ["job_id": .string(theirs)])
            let unknown = try await host.post("/v1/toolkit/job/status", ["job_id": .string(UUID().uuidString.lowercased())])
            #expect(hidden.status == 404)
            #expect(hidden.json["response"]?["error"] == unknown.json["response"]?["error"], "the same answer as an unknown job")
            #expect(try await host.waitForPostStatus(theirs, key: Self.otherKey).status == 200)

            let listed = try await host.post("/v1/toolkit/jobs/status", ["since_seconds": 600])
            let ids = listed.json["response"]?.objectValue.map { Set($0.keys) } ?? []
            #expect(ids.contains(mine))
            #expect(!ids.contains(theirs))
        }
    }

    @Test func byDefaultEveryKeySeesEveryJob() async throws {
        try await JobsHost.with(.sqlite, ["API_KEYS": Self.otherKey]) { host in
            let theirs = try #require(try await host.post("/v1/test/sync", ["n": 2], key: Self.otherKey).json["job_id"]?.stringValue)
            #expect(try await host.waitForPostStatus(theirs).status == 200)
        }
    }

    @Test func anUnknownVisibilityStopsTheHostWithTheChoices() {
        #expect {
            try HostConfiguration(environment: EnvironmentValues(["JOB_VISIBILITY": "mine"]))
        } throws: { error in
            "\(error)".contains("JOB_VISIBILITY=mine is not valid: expected all (every key sees every job) or key")
        }
    }
}

extension JobHostClient {
    /// `POST /v1/toolkit/job/status` for `jobID` with `key`, again until the job is found (a sync
    /// job's record is written right after its answer) or 5 s have passed.
    func waitForPostStatus(_ jobID: String, key: String = JobsHost.apiKey) async throws -> JobsResponse {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let answer = try await post("/v1/toolkit/job/status", ["job_id": .string(jobID)], key: key)
            if answer.status != 404 || ContinuousClock.now >= deadline { return answer }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
