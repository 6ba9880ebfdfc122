import Foundation
import JSONSchema

/// Runs a job's handler and turns whatever happens into the finished envelope.
///
/// A handler that throws never escapes: a ``RouteFailure`` becomes its status and message, any
/// other error a 500 envelope whose details go only to the log.
public enum JobExecution {
    public static func run(
        _ submission: JobSubmission, handler: JobHandler, fields: EnvelopeFields, queuedAt: Date? = nil
    ) async -> Envelope {
        let started = Date()
        var envelope: Envelope
        do {
            let result = try await handler(submission.request)
            envelope = Envelope(endpoint: submission.endpoint, result: result, fields: fields)
        } catch let failure as RouteFailure {
            envelope = Envelope(endpoint: submission.endpoint, code: failure.status.code, fields: fields)
            envelope.message = failure.message
            envelope.headers = failure.headers
        } catch {
            submission.request.logger.error("job handler failed", metadata: ["job_id": "\(submission.jobID)", "error": "\(String(reflecting: error))"])
            envelope = Envelope(endpoint: submission.endpoint, code: 500, fields: fields)
            envelope.message = .string("Internal Server Error (request \(submission.request.requestID))")
        }
        let finished = Date()
        envelope.id = submission.payload["id"] ?? .null
        envelope.jobID = submission.jobID
        envelope.runTime = finished.timeIntervalSince(started)
        envelope.queueTime = queuedAt.map { started.timeIntervalSince($0) } ?? 0
        envelope.totalTime = finished.timeIntervalSince(queuedAt ?? started)
        return envelope
    }
}
