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
/// - Important: a crash loses the records of the batch being gathered (a few milliseconds of
///   synchronous requests that were already answered). Queued jobs never go through here: they
///   are committed before their `202`.
final class SyncJobRecorder: Sendable {
    private struct State {
        var gathering: [JobRecord] = []
        var unwritten: [String: JobRecord] = [:]
        var writer: Task<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())
    private let store: any JobStore
    private let logger: Logger

    init(store: any JobStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Adds a finished job to the next batch.
    func record(_ job: JobRecord) {
        state.withLockedValue { state in
            state.gathering.append(job)
            state.unwritten[job.id] = job
            if state.writer == nil {
                state.writer = Task { await self.writeBatches() }
            }
        }
    }

    /// A record not written yet.
    func pending(id: String) -> JobRecord? {
        state.withLockedValue { $0.unwritten[id] }
    }

    /// Every record not written yet.
    var unwritten: [JobRecord] {
        state.withLockedValue { Array($0.unwritten.values) }
    }

    /// Waits until every record handed over so far is written.
    func drain() async {
        while let writer = state.withLockedValue({ $0.writer }) {
            await writer.value
        }
    }

    private func writeBatches() async {
        while true {
            let batch = state.withLockedValue { state -> [JobRecord] in
                defer { state.gathering.removeAll(keepingCapacity: true) }
                if state.gathering.isEmpty { state.writer = nil }
                return state.gathering
            }
            if batch.isEmpty { return }
            do {
                try await store.insertAll(batch)
            } catch {
                logger.error("could not record finished jobs", metadata: ["jobs": "\(batch.count)", "error": "\(error)"])
            }
            state.withLockedValue { state in
                for job in batch { state.unwritten[job.id] = nil }
            }
        }
    }
}
