import Foundation
import JSONSchema

/// Runs a job's handler and turns whatever happens into the finished envelope.
///
/// A handler that throws never escapes: a ``RouteFailure`` becomes its status and message, any
/// other error a 500 envelope whose details go only to the log. With a `timeout`
/// (`JOB_TIMEOUT_SECONDS`), a handler still running when it passes is cancelled and the job
/// ends with a 504 envelope that says so (see ``HandlerDeadline`` for a handler that ignores
/// the cancellation).
public enum JobExecution {
    public static func run(
        _ submission: JobSubmission, handler: @escaping JobHandler, fields: EnvelopeFields, queuedAt: Date? = nil,
        timeout: Duration? = nil
    ) async -> Envelope {
        let started = Date()
        var envelope: Envelope
        do {
            let request = submission.request
            let result = try await HandlerDeadline.run(limit: timeout) { try await handler(request) }
            envelope = Envelope(endpoint: submission.endpoint, result: result, fields: fields)
        } catch let exceeded as HandlerDeadline.Exceeded {
            submission.request.logger.warning("job timed out", metadata: ["job_id": "\(submission.jobID)", "limit": "\(exceeded.limit)"])
            envelope = Envelope(endpoint: submission.endpoint, code: 504, fields: fields)
            envelope.message = .string(timeoutMessage(exceeded.limit))
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

    /// The message of a job that ran out of time.
    static func timeoutMessage(_ limit: Duration) -> String {
        let seconds = limit.secondsValue
        let text = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        return "Job timed out after \(text) s (JOB_TIMEOUT_SECONDS); it was cancelled. Raise JOB_TIMEOUT_SECONDS, or set it to 0 for no limit, if this endpoint needs longer"
    }
}
