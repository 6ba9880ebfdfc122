import Foundation
import JSONSchema
import NIOConcurrencyHelpers
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// What every ``JobStore`` promises, run on SQLite and on PostgreSQL alike.
@Suite("The job store contract, on every store")
struct JobStoreContractTests {
    typealias Fixture = StoreFixture

    static func lease(_ owner: String, at start: Date = Date(), for seconds: TimeInterval = 30) -> JobLease {
        JobLease(owner: owner, start: start, until: start.addingTimeInterval(seconds))
    }

    @Test(arguments: StoreKind.available)
    func aJobRoundTripsThroughClaimFinishAndItsWebhook(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let store = fixture.store
            var job = Fixture.job(.queued, webhook: "http://127.0.0.1:1/hook", payload: ["id": "a", "n": [1, 2]])
            job.headers = [.userAgent: "tests", .authorization: "Bearer secret", .init("X-API-Key")!: "key"]
            try await store.insert(job)
            let read = try #require(try await fixture.other.job(id: job.id))
            #expect(read.payload == job.payload)
            #expect(read.webhookURL == job.webhookURL)
            #expect(read.headers[.userAgent] == "tests")
            #expect(read.headers[.authorization] == nil, "credentials are never stored")
            #expect(read.headers[.init("X-API-Key")!] == nil)
            #expect(abs(read.createdAt.timeIntervalSince(job.createdAt)) < 0.001)
            #expect(try await store.count(status: .queued) == 1)

            let hostA = Self.lease("host-a")
            let claimed = try #require(try await store.claimNext(hostA))
            #expect(claimed.id == job.id)
            #expect(claimed.status == .running)
            #expect(claimed.attempts == 1)
            #expect(try await fixture.other.claimNext(Self.lease("host-b"))?.id == nil)
            #expect(try await store.count(status: .running) == 1)

            let finished = Date()
            #expect(try await store.finish(jobID: job.id, envelope: Array(#"{"code":200}"#.utf8), Self.lease("host-a", at: finished), webhookClaimUntil: nil))
            #expect(try await store.pendingWebhookCount() == 1)
            let due = try await store.claimDueWebhooks(Self.lease("host-a", at: finished, for: 20), limit: 10, excludingReceivers: [])
            #expect(due.map(\.jobID) == [job.id])
            #expect(due.first?.body == Array(#"{"code":200}"#.utf8), "the envelope comes back byte for byte")
            #expect(try await fixture.other.claimDueWebhooks(Self.lease("host-b", at: finished), limit: 10, excludingReceivers: []).isEmpty, "a held attempt is not handed out twice")
            let heldUntil = try #require(try await store.nextWebhookDue(excludingReceivers: []))
            #expect(abs(heldUntil.timeIntervalSince(finished) - 20) < 0.001, "a held delivery falls due when its hold ends")

            var retry = WebhookDelivery(state: .pending, attempts: 1, lastStatus: 503, lastError: "HTTP 503")
            retry.nextAttemptAt = finished.addingTimeInterval(60)
            try await store.recordWebhook(jobID: job.id, retry, owner: "host-a", at: finished)
            #expect(try await store.claimDueWebhooks(Self.lease("host-a", at: finished.addingTimeInterval(59)), limit: 10, excludingReceivers: []).isEmpty)
            let recorded = try #require(try await store.job(id: job.id)?.webhook)
            #expect(recorded.attempts == 1)
            #expect(recorded.lastError == "HTTP 503")
            #expect(recorded.nextAttemptAt.map { abs($0.timeIntervalSince(finished) - 60) < 0.001 } == true)
            #expect(try await fixture.other.claimDueWebhooks(Self.lease("host-b", at: finished.addingTimeInterval(60)), limit: 10, excludingReceivers: []).map(\.jobID) == [job.id])

            // Host A no longer holds it: its late record changes nothing.
            try await store.recordWebhook(jobID: job.id, WebhookDelivery(state: .failed, attempts: 9), owner: "host-a", at: finished)
            #expect(try await store.job(id: job.id)?.webhook?.state == .pending)
            try await fixture.other.recordWebhook(jobID: job.id, WebhookDelivery(state: .delivered, attempts: 2, lastStatus: 200), owner: "host-b", at: finished)
            #expect(try await store.nextWebhookDue(excludingReceivers: []) == nil)
            #expect(try await store.job(id: job.id)?.webhook?.state == .delivered)
            #expect(try await store.pendingWebhookCount() == 0)
            #expect(try await store.claimDueWebhooks(Self.lease("host-a", at: finished.addingTimeInterval(3600)), limit: 10, excludingReceivers: []).isEmpty, "a delivered webhook is never sent again")
        }
    }

    @Test(arguments: StoreKind.available)
    func claimsAreFIFOByCreationTime(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let older = Fixture.job(.queued, age: 60)
            let newer = Fixture.job(.queued, age: 1)
            try await fixture.store.insertAll([newer, older])
            #expect(try await fixture.store.claimNext(Self.lease("a"))?.id == older.id)
            #expect(try await fixture.other.claimNext(Self.lease("b"))?.id == newer.id)
            #expect(try await fixture.store.claimNext(Self.lease("a")) == nil)
        }
    }

    @Test(arguments: StoreKind.available)
    func concurrentClaimsTakeEveryJobExactlyOnce(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let jobs = (0..<40).map { Fixture.job(.queued, payload: ["n": .number(JSONNumber($0))], age: Double(40 - $0)) }
            try await fixture.store.insertAll(jobs)
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<6 {
                    let store = worker.isMultiple(of: 2) ? fixture.store : fixture.other
                    group.addTask {
                        var mine: [String] = []
                        while let job = try await store.claimNext(Self.lease("host-\(worker % 2)")) { mine.append(job.id) }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.count == 40)
            #expect(Set(claimed) == Set(jobs.map(\.id)))
            #expect(try await fixture.store.count(status: .running) == 40)
        }
    }

    @Test(arguments: StoreKind.available)
    func anExpiredLeaseIsTakenOverAndItsHolderCanNoLongerFinish(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let job = Fixture.job(.queued, webhook: "http://127.0.0.1:1/hook")
            try await fixture.store.insert(job)
            let start = Date()
            _ = try #require(try await fixture.store.claimNext(Self.lease("host-a", at: start, for: 2)))

            #expect(try await fixture.other.reclaimExpired(Self.lease("host-b", at: start.addingTimeInterval(1)), limit: 10).isEmpty, "not expired yet")
            #expect(try await fixture.store.reclaimExpired(Self.lease("host-a", at: start.addingTimeInterval(5)), limit: 10).isEmpty, "a host never takes over its own job")
            let taken = try await fixture.other.reclaimExpired(Self.lease("host-b", at: start.addingTimeInterval(3)), limit: 10)
            #expect(taken.map(\.id) == [job.id])
            #expect(taken.first?.attempts == 1)

            #expect(try await fixture.store.renew(jobIDs: [job.id], Self.lease("host-a", at: start.addingTimeInterval(3))).isEmpty)
            #expect(try await !fixture.store.finish(jobID: job.id, envelope: Array("{}".utf8), Self.lease("host-a"), webhookClaimUntil: nil))
            try await fixture.store.requeue(jobID: job.id, Self.lease("host-a"))
            #expect(try await fixture.store.job(id: job.id)?.status == .running, "the old holder's requeue changes nothing")

            try await fixture.other.requeue(jobID: job.id, Self.lease("host-b"))
            let again = try #require(try await fixture.store.claimNext(Self.lease("host-a")))
            #expect(again.id == job.id)
            #expect(again.attempts == 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func renewingExtendsOnlyTheLeasesItsOwnerHolds(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let mine = Fixture.job(.queued, age: 2)
            let theirs = Fixture.job(.queued, age: 1)
            try await fixture.store.insertAll([mine, theirs])
            let start = Date()
            _ = try await fixture.store.claimNext(Self.lease("host-a", at: start, for: 2))
            _ = try await fixture.other.claimNext(Self.lease("host-b", at: start, for: 2))
            let renewed = try await fixture.store.renew(jobIDs: [mine.id, theirs.id], Self.lease("host-a", at: start, for: 60))
            #expect(renewed == [mine.id])
            let expired = try await fixture.other.reclaimExpired(Self.lease("host-c", at: start.addingTimeInterval(10)), limit: 10)
            #expect(expired.map(\.id) == [theirs.id], "the renewed lease holds; the other expired")
        }
    }

    @Test(arguments: StoreKind.available)
    func aFinisherHoldsItsFirstWebhookAttempt(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let job = Fixture.job(.queued, webhook: "http://127.0.0.1:1/hook")
            try await fixture.store.insert(job)
            let start = Date()
            _ = try await fixture.store.claimNext(Self.lease("host-a", at: start))
            #expect(try await fixture.store.finish(jobID: job.id, envelope: Array("{}".utf8), Self.lease("host-a", at: start), webhookClaimUntil: start.addingTimeInterval(30)))
            #expect(try await fixture.other.claimDueWebhooks(Self.lease("host-b", at: start.addingTimeInterval(29)), limit: 5, excludingReceivers: []).isEmpty)
            #expect(try await fixture.other.claimDueWebhooks(Self.lease("host-b", at: start.addingTimeInterval(31)), limit: 5, excludingReceivers: []).map(\.jobID) == [job.id], "taken over once the finisher's hold ends")
        }
    }

    @Test(arguments: StoreKind.available)
    func dueWebhooksComeEarliestFirstUpToTheLimit(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let now = Date()
            var ids: [String] = []
            for offset in [30.0, 10, 20, -5] {
                let job = Fixture.job(.running, webhook: "http://127.0.0.1:1/hook")
                try await fixture.store.insert(job)
                try await fixture.store.finishUnheld(jobID: job.id, envelope: Array("{}".utf8), at: now.addingTimeInterval(offset))
                ids.append(job.id)
            }
            #expect(try await fixture.store.claimDueWebhooks(Self.lease("a", at: now.addingTimeInterval(25)), limit: 2, excludingReceivers: []).map(\.jobID) == [ids[3], ids[1]])
            #expect(try await fixture.other.claimDueWebhooks(Self.lease("b", at: now.addingTimeInterval(25)), limit: 5, excludingReceivers: []).map(\.jobID) == [ids[2]])
            let next = try #require(try await fixture.store.nextWebhookDue(excludingReceivers: []))
            #expect(abs(next.timeIntervalSince(now) - 30) < 0.001)
        }
    }

    @Test(arguments: StoreKind.available)
    func saturatedReceiversAreLeftOutAndReleasedHoldsAreDueAgain(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let now = Date()
            var ids: [String] = []
            for (offset, url) in [(-3.0, "http://127.0.0.1:9000/a"), (-2, "http://127.0.0.1:9000/b"), (-1, "https://hooks.example.com/in")] {
                let job = Fixture.job(.running, webhook: url)
                try await fixture.store.insert(job)
                try await fixture.store.finishUnheld(jobID: job.id, envelope: Array("{}".utf8), at: now.addingTimeInterval(offset))
                ids.append(job.id)
            }
            let busy: Set<String> = ["http://127.0.0.1:9000"]
            let claimed = try await fixture.store.claimDueWebhooks(Self.lease("a", at: now), limit: 5, excludingReceivers: busy)
            #expect(claimed.map(\.jobID) == [ids[2]], "only the receiver with room")
            let next = try #require(try await fixture.store.nextWebhookDue(excludingReceivers: busy))
            #expect(abs(next.timeIntervalSince(now) - 30) < 0.001, "left out, the due ones do not count; the held one falls due when its hold ends")
            #expect(try await fixture.store.nextWebhookDue(excludingReceivers: busy.union(["https://hooks.example.com:443"])) == nil)

            let all = try await fixture.store.claimDueWebhooks(Self.lease("a", at: now), limit: 5, excludingReceivers: [])
            #expect(all.map(\.jobID) == [ids[0], ids[1]])
            try await fixture.store.releaseWebhooks(jobIDs: [ids[1]], owner: "someone-else")
            #expect(try await fixture.other.claimDueWebhooks(Self.lease("b", at: now), limit: 5, excludingReceivers: []).isEmpty, "only the holder releases")
            try await fixture.store.releaseWebhooks(jobIDs: [ids[1]], owner: "a")
            #expect(try await fixture.other.claimDueWebhooks(Self.lease("b", at: now), limit: 5, excludingReceivers: []).map(\.jobID) == [ids[1]])
        }
    }

    @Test(arguments: StoreKind.available)
    func statusesListTheLatestUpdatesOldestFirst(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let jobs = (0..<5).map { Fixture.job(.queued, age: Double(50 - $0 * 10)) }
            try await fixture.store.insertAll(jobs)
            let listed = try await fixture.other.statuses(updatedSince: Date().addingTimeInterval(-35), limit: 2, submitter: nil)
            #expect(listed.map(\.jobID) == [jobs[3].id, jobs[4].id])
            #expect(listed.allSatisfy { $0.status == .queued })
            #expect(try await fixture.store.statuses(updatedSince: Date().addingTimeInterval(-35), limit: 10, submitter: nil).count == 3)
            #expect(try await fixture.store.job(id: "not-a-job") == nil)
        }
    }

    @Test(arguments: StoreKind.available)
    func aJobKeepsItsSubmitterAndIdempotencyKey(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            var mine = Fixture.job(.queued, age: 10)
            mine.submitter = "key:aaaa"
            mine.idempotency = IdempotencyKey(key: "retry-1", digest: "d1")
            var theirs = Fixture.job(.queued, age: 5)
            theirs.submitter = "key:bbbb"
            theirs.idempotency = IdempotencyKey(key: "retry-1", digest: "d2")
            var anonymous = Fixture.job(.queued, age: 1)
            anonymous.idempotency = IdempotencyKey(key: "retry-1", digest: "d3")
            try await fixture.store.insertAll([mine, theirs, anonymous])

            let found = try await fixture.other.job(idempotencyKey: "retry-1", submitter: "key:aaaa", createdSince: Date().addingTimeInterval(-60))
            #expect(found?.id == mine.id)
            #expect(found?.idempotency == mine.idempotency)
            #expect(found?.submitter == "key:aaaa")
            #expect(try await fixture.store.job(idempotencyKey: "retry-1", submitter: nil, createdSince: .distantPast)?.id == anonymous.id)
            #expect(try await fixture.store.job(idempotencyKey: "retry-1", submitter: "key:aaaa", createdSince: Date()) == nil, "older than the window")
            #expect(try await fixture.store.job(idempotencyKey: "retry-2", submitter: "key:aaaa", createdSince: .distantPast) == nil)

            let since = Date().addingTimeInterval(-60)
            #expect(try await fixture.store.statuses(updatedSince: since, limit: 10, submitter: "key:bbbb").map(\.jobID) == [theirs.id])
            #expect(try await fixture.store.statuses(updatedSince: since, limit: 10, submitter: "").isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func retentionDeletesOldFinishedJobsWithoutAPendingWebhook(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let day: TimeInterval = 86_400
            let oldDone = (0..<5).map { _ in Fixture.job(.running, age: 10 * day) }
            let oldPending = Fixture.job(.running, webhook: "http://127.0.0.1:1/hook", age: 10 * day)
            let oldQueued = Fixture.job(.queued, webhook: "http://127.0.0.1:1/hook", age: 10 * day)
            let recent = Fixture.job(.running, age: 60)
            try await fixture.store.insertAll(oldDone + [oldPending, oldQueued, recent])
            for job in oldDone + [oldPending] {
                try await fixture.store.finishUnheld(jobID: job.id, envelope: Array("{}".utf8), at: job.createdAt)
            }
            try await fixture.store.finishUnheld(jobID: recent.id, envelope: Array("{}".utf8), at: Date())
            let cutoff = Date().addingTimeInterval(-day)
            #expect(try await fixture.store.purge(updatedBefore: cutoff, limit: 3) == 3, "in batches")
            #expect(try await fixture.other.purge(updatedBefore: cutoff, limit: 3) == 2)
            #expect(try await fixture.store.purge(updatedBefore: cutoff, limit: 3) == 0)
            for kept in [oldPending, oldQueued, recent] {
                #expect(try await fixture.store.job(id: kept.id) != nil)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func housekeepingRunsOnOneHostAtATime(_ kind: StoreKind) async throws {
        try await Fixture.with(kind) { fixture in
            let inner = try await fixture.store.withHousekeepingLock {
                let second = try await fixture.other.withHousekeepingLock {}
                // One process owns an SQLite store: there is no other host to keep out.
                #expect(second == (kind == .sqlite))
            }
            #expect(inner)
            #expect(try await fixture.other.withHousekeepingLock {}, "released after the first")
        }
    }
}
