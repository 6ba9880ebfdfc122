import Foundation
import JSONSchema
import NIOConcurrencyHelpers

/// A job service that keeps jobs in memory and runs queued ones in a task.
///
/// - Warning: jobs are lost on restart and no webhook is sent; the durable SQLite service
///   replaces it for serving.
public final class InMemoryJobService: JobService {
    private struct State {
        var jobs: [String: JobRecord] = [:]
        var handlers: [String: JobHandler] = [:]
        var waiting = 0
    }

    private let state = NIOLockedValueBox(State())
    private let maxQueueLength: Int
    private let fieldsTemplate: @Sendable (_ queueLength: @escaping @Sendable () -> Int) -> EnvelopeFields

    public init(maxQueueLength: Int, fields: @escaping @Sendable (_ queueLength: @escaping @Sendable () -> Int) -> EnvelopeFields) {
        self.maxQueueLength = maxQueueLength
        self.fieldsTemplate = fields
    }

    private var fields: EnvelopeFields { fieldsTemplate { [state] in state.withLockedValue { $0.waiting } } }

    public var queueLength: Int { state.withLockedValue { $0.waiting } }

    public func register(endpoint: String, handler: @escaping JobHandler) {
        state.withLockedValue { $0.handlers[endpoint] = handler }
    }

    public func runNow(_ submission: JobSubmission, handler: @escaping JobHandler) async -> Envelope {
        store(submission, status: .running, envelope: nil)
        let envelope = await JobExecution.run(submission, handler: handler, fields: fields)
        store(submission, status: .done, envelope: envelope.json)
        return envelope
    }

    public func enqueue(_ submission: JobSubmission) async throws -> AcceptedJob {
        let queuedAt = Date()
        let accepted = state.withLockedValue { state -> Bool in
            if maxQueueLength > 0 && state.waiting >= maxQueueLength { return false }
            state.waiting += 1
            return true
        }
        guard accepted else { throw JobQueueFull(limit: maxQueueLength, retryAfter: 5) }
        store(submission, status: .queued, envelope: nil)
        let handler = state.withLockedValue { $0.handlers[submission.endpoint] }
        let fields = self.fields
        Task {
            self.state.withLockedValue { $0.waiting -= 1 }
            self.store(submission, status: .running, envelope: nil)
            let envelope: Envelope
            if let handler {
                envelope = await JobExecution.run(submission, handler: handler, fields: fields, queuedAt: queuedAt)
            } else {
                envelope = Envelope(endpoint: submission.endpoint, code: 500, fields: fields)
            }
            self.store(submission, status: .done, envelope: envelope.json)
        }
        return AcceptedJob(jobID: submission.jobID, id: submission.payload["id"] ?? .null, maxQueueLength: maxQueueLength, queueLength: queueLength, fields: fields)
    }

    public func job(id: String) async throws -> JobRecord? {
        state.withLockedValue { $0.jobs[id] }
    }

    public func statuses(updatedWithin window: Duration) async throws -> [(jobID: String, status: JobStatus)] {
        let cutoff = Date().addingTimeInterval(-Double(window.components.seconds))
        return state.withLockedValue { state in
            state.jobs.values.filter { $0.updatedAt >= cutoff }.sorted { $0.updatedAt < $1.updatedAt }.map { ($0.id, $0.status) }
        }
    }

    private func store(_ submission: JobSubmission, status: JobStatus, envelope: JSONValue?) {
        let now = Date()
        state.withLockedValue { state in
            var record = state.jobs[submission.jobID] ?? JobRecord(
                id: submission.jobID, endpoint: submission.endpoint, status: status, payload: submission.payload,
                createdAt: now, updatedAt: now, attempts: 0, envelope: nil, webhookURL: submission.webhookURL, webhook: nil)
            record.status = status
            record.updatedAt = now
            if status == .running { record.attempts += 1 }
            record.envelope = envelope
            state.jobs[submission.jobID] = record
        }
    }
}
