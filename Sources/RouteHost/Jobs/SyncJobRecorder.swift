import Foundation
import Logging
import NIOConcurrencyHelpers

/// Records finished synchronous jobs in batches, after their answers have gone out.
///
/// A synchronous request should not wait for the job store: its client gets the envelope at
/// once, and the record is written with the others finished meanwhile, in one multi-row insert
/// (group commit). While a batch is being written, new records gather for the next one, so the
/// store sees one write per batch however many requests run at once.
///
/// Until its batch is written, a record is answered from memory (``pending(id:)``), so a client
/// that asks for its `job_id` right away finds it.
///
/// A batch the store refuses (disk full, the database away) is kept and written again, after
/// 0.5 s, doubling to 30 s, with the records gathered meanwhile; at most ``maximumUnwritten``
/// records wait in memory: past that the oldest are dropped, counted and logged.
///
/// - Important: a crash loses the records not written yet (a few milliseconds of synchronous
///   requests that were already answered, more while the store fails). Queued jobs never go
///   through here: they are committed before their `202`.
final class SyncJobRecorder: Sendable {
    private struct State {
        var gathering: [JobRecord] = []
        var unwritten: [String: JobRecord] = [:]
        var writer: Task<Void, Never>?
        var dropped = 0
    }

    private let state = NIOLockedValueBox(State())
    private let closing = ShutdownSignal()
    /// Flipped once the store is open: records gathered before then wait for it (a store that
    /// is still opening is not a failing one).
    private let opened = ShutdownSignal()

    /// The store is open: writing may begin.
    func storeOpened() {
        opened.trigger()
    }
    private let store: any JobStore
    private let storeHealth: StoreHealth
    private let logger: Logger
    /// The most records that wait for the store at once.
    let maximumUnwritten: Int

    init(store: any JobStore, storeHealth: StoreHealth = StoreHealth(), maximumUnwritten: Int = 10_000, logger: Logger) {
        self.store = store
        self.storeHealth = storeHealth
        self.maximumUnwritten = max(1, maximumUnwritten)
        self.logger = logger
    }

    /// Adds a finished job to the next batch.
    func record(_ job: JobRecord) {
        let dropped = state.withLockedValue { state -> String? in
            state.gathering.append(job)
            state.unwritten[job.id] = job
            if state.writer == nil {
                state.writer = Task { await self.writeBatches() }
            }
            guard state.gathering.count > maximumUnwritten else { return nil }
            let oldest = state.gathering.removeFirst()
            state.unwritten[oldest.id] = nil
            state.dropped += 1
            return oldest.id
        }
        if let dropped {
            logger.error(
                "dropped the record of a finished sync job: the job store has not accepted writes and \(maximumUnwritten) records wait",
                metadata: ["job_id": "\(dropped)", "dropped_total": "\(droppedCount)"])
        }
    }

    /// Records dropped because too many waited for the store.
    var droppedCount: Int {
        state.withLockedValue { $0.dropped }
    }

    /// A record not written yet.
    func pending(id: String) -> JobRecord? {
        state.withLockedValue { $0.unwritten[id] }
    }

    /// The latest record not written yet with this `Idempotency-Key` from `submitter`.
    func pending(idempotencyKey key: String, submitter: String?) -> JobRecord? {
        state.withLockedValue { state in
            state.unwritten.values.first { $0.idempotency?.key == key && $0.submitter == submitter }
        }
    }

    /// Every record not written yet.
    var unwritten: [JobRecord] {
        state.withLockedValue { Array($0.unwritten.values) }
    }

    /// Waits until every record handed over so far is written, or, while the store fails, until
    /// one more try (what it refuses then is lost, and logged).
    func drain() async {
        closing.trigger()
        opened.trigger()
        while let writer = state.withLockedValue({ $0.writer }) {
            await writer.value
        }
    }

    private func writeBatches() async {
        await opened.wait()
        var delay = StoreRetryDelay()
        while true {
            let batch = state.withLockedValue { state -> [JobRecord] in
                defer { state.gathering.removeAll(keepingCapacity: true) }
                if state.gathering.isEmpty { state.writer = nil }
                return state.gathering
            }
            if batch.isEmpty { return }
            do {
                try await store.insertAll(batch)
                storeHealth.succeeded()
                delay = StoreRetryDelay()
            } catch {
                storeHealth.failed(error)
                logger.error("could not record finished jobs; retrying", metadata: ["jobs": "\(batch.count)", "error": "\(error)"])
                // Back in front of what gathered meanwhile, bounded as new records are.
                let lost = state.withLockedValue { state -> Int in
                    state.gathering.insert(contentsOf: batch, at: 0)
                    let excess = max(0, state.gathering.count - maximumUnwritten)
                    for job in state.gathering.prefix(excess) { state.unwritten[job.id] = nil }
                    state.gathering.removeFirst(excess)
                    state.dropped += excess
                    return excess
                }
                if lost > 0 {
                    logger.error("dropped the records of finished sync jobs: the job store has not accepted writes", metadata: ["dropped": "\(lost)"])
                }
                if closing.isTriggered {
                    let abandoned = state.withLockedValue { state -> Int in
                        defer {
                            for job in state.gathering { state.unwritten[job.id] = nil }
                            state.dropped += state.gathering.count
                            state.gathering = []
                            state.writer = nil
                        }
                        return state.gathering.count
                    }
                    logger.error("stopping with records of finished sync jobs the job store did not accept", metadata: ["dropped": "\(abandoned)"])
                    return
                }
                _ = await closing.sleep(for: delay.take())
                continue
            }
            state.withLockedValue { state in
                for job in batch { state.unwritten[job.id] = nil }
            }
        }
    }
}
