import Foundation
import NIOConcurrencyHelpers
@testable import RouteHost

/// A real store with faults on demand: each write asks ``failWrites`` first (a full disk, a
/// database that went away), and every write is counted by kind.
final class FaultyJobStore: JobStore {
    enum Write: String, Sendable {
        case insert, claim, renew, reclaim, finish, requeue, claimWebhooks, recordWebhook, purge
    }

    let base: any JobStore
    /// Writes of these kinds fail while set.
    let failing = NIOLockedValueBox<Set<Write>>([])
    /// Every write attempted, failed or not, in order (with the job count for inserts).
    let writes = NIOLockedValueBox<[(Write, Int)]>([])

    init(_ base: any JobStore) { self.base = base }

    func failWrites(_ kinds: Set<Write>) { failing.withLockedValue { $0 = kinds } }

    func count(_ kind: Write) -> Int { writes.withLockedValue { $0.filter { $0.0 == kind }.count } }

    private func write<T>(_ kind: Write, size: Int = 1, _ body: () async throws -> T) async throws -> T {
        writes.withLockedValue { $0.append((kind, size)) }
        if failing.withLockedValue({ $0.contains(kind) }) {
            throw JobStoreError("disk I/O error (injected: \(kind.rawValue))")
        }
        return try await body()
    }

    var isShared: Bool { base.isShared }
    func open() async throws { try await base.open() }
    func close() async throws { try await base.close() }
    func insertAll(_ jobs: [JobRecord]) async throws { try await write(.insert, size: jobs.count) { try await base.insertAll(jobs) } }
    func claimNext(_ lease: JobLease) async throws -> JobRecord? { try await write(.claim) { try await base.claimNext(lease) } }
    func renew(jobIDs: [String], _ lease: JobLease) async throws -> Set<String> {
        try await write(.renew) { try await base.renew(jobIDs: jobIDs, lease) }
    }
    func reclaimExpired(_ lease: JobLease, limit: Int) async throws -> [JobRecord] {
        try await write(.reclaim) { try await base.reclaimExpired(lease, limit: limit) }
    }
    func finish(jobID: String, envelope: [UInt8], _ lease: JobLease, webhookClaimUntil: Date?) async throws -> Bool {
        try await write(.finish) { try await base.finish(jobID: jobID, envelope: envelope, lease, webhookClaimUntil: webhookClaimUntil) }
    }
    func requeue(jobID: String, _ lease: JobLease) async throws { try await write(.requeue) { try await base.requeue(jobID: jobID, lease) } }
    func claimDueWebhooks(_ lease: JobLease, limit: Int, excludingReceivers excluded: Set<String>) async throws -> [PendingWebhook] {
        try await write(.claimWebhooks) { try await base.claimDueWebhooks(lease, limit: limit, excludingReceivers: excluded) }
    }
    func nextWebhookDue(excludingReceivers excluded: Set<String>) async throws -> Date? { try await base.nextWebhookDue(excludingReceivers: excluded) }
    func releaseWebhooks(jobIDs: [String], owner: String) async throws {
        try await write(.claimWebhooks) { try await base.releaseWebhooks(jobIDs: jobIDs, owner: owner) }
    }
    func recordWebhook(jobID: String, _ delivery: WebhookDelivery, owner: String, at date: Date) async throws {
        try await write(.recordWebhook) { try await base.recordWebhook(jobID: jobID, delivery, owner: owner, at: date) }
    }
    func job(id: String) async throws -> JobRecord? { try await base.job(id: id) }
    func count(status: JobStatus) async throws -> Int { try await base.count(status: status) }
    func pendingWebhookCount() async throws -> Int { try await base.pendingWebhookCount() }
    func sizeBytes() async throws -> Int { try await base.sizeBytes() }
    func job(idempotencyKey key: String, submitter: String?, createdSince date: Date) async throws -> JobRecord? {
        try await base.job(idempotencyKey: key, submitter: submitter, createdSince: date)
    }
    func statuses(updatedSince date: Date, limit: Int, submitter: String?) async throws -> [(jobID: String, status: JobStatus)] {
        try await base.statuses(updatedSince: date, limit: limit, submitter: submitter)
    }
    func purge(updatedBefore date: Date, limit: Int) async throws -> Int {
        try await write(.purge) { try await base.purge(updatedBefore: date, limit: limit) }
    }
    func withHousekeepingLock(_ body: () async throws -> Void) async throws -> Bool { try await base.withHousekeepingLock(body) }
    func watch(_ wake: @escaping @Sendable () -> Void) async { await base.watch(wake) }
}
