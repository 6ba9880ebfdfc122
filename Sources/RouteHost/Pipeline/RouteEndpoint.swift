import Foundation
import Hummingbird
import JSONSchema

/// The last step of a module route's pipeline: body, validation, queue decision, handler.
///
/// Authentication and rate limiting have run before it, as middleware.
struct RouteEndpoint: HTTPResponder {
    typealias Context = RouteHostRequestContext

    let route: RouteManifest
    let handler: RouteHandler
    let bodyReader: JSONBodyReader
    let validator: PayloadValidator?
    let jobs: any JobService
    let fields: EnvelopeFields
    let webhookHosts: WebhookHostPolicy

    var hasBody: Bool { route.hasBody }

    func respond(to request: Request, context: Context) async throws -> Response {
        do {
            return try await answer(request, context: context)
        } catch {
            return try ErrorMiddleware.response(for: error, context: context)
        }
    }

    func answer(_ request: Request, context: Context) async throws -> Response {
        var request = request
        var payload = JSONValue.null
        if hasBody {
            payload = try await bodyReader.read(&request, optional: !route.bodyRequired)
            try validator?.validate(payload)
        }
        let handlerRequest = HandlerRequest(
            payload: payload, headers: request.headers, uri: request.uri, requestID: context.requestID,
            jobID: RandomUUID.v4(), endpoint: route.fullPath, logger: context.logger, connection: context.connection,
            client: context.client)
        switch handler.kind {
        case .stream(let body):
            return try await body(handlerRequest)
        case .plain(let body):
            let result = try await body(handlerRequest)
            return .json(result.payload, status: result.status, headers: result.headers)
        case .envelope(let body):
            let idempotency = handler.recordsJob
                ? try IdempotencyKey(headers: request.headers, endpoint: route.fullPath, payload: payload) : nil
            if idempotency != nil {
                let probe = JobSubmission(request: handlerRequest, webhookURL: nil, idempotency: idempotency)
                if let replay = try await jobs.claimIdempotency(probe) {
                    return Self.response(replaying: replay)
                }
            }
            defer {
                if idempotency != nil { jobs.releaseIdempotency(JobSubmission(request: handlerRequest, webhookURL: nil, idempotency: idempotency)) }
            }
            if route.queue == .webhook, let webhook = payload["webhook_url"], webhook != .null {
                return try await enqueue(handlerRequest, webhook: webhook, idempotency: idempotency)
            }
            let submission = JobSubmission(request: handlerRequest, webhookURL: nil, idempotency: idempotency)
            let finished = handler.recordsJob
                ? await jobs.runNow(submission, handler: body)
                : FinishedEnvelope(await JobExecution.run(submission, handler: body, fields: fields))
            let envelope = finished.envelope
            return .json(serialized: finished.body, status: HTTPResponse.Status(code: envelope.code), headers: envelope.headers)
        }
    }

    /// The first submission's answer again, marked `Idempotent-Replayed: true`.
    static func response(replaying replay: IdempotentReplay) -> Response {
        let replayed: HTTPFields = [.init("Idempotent-Replayed")!: "true"]
        switch replay {
        case .accepted(let accepted):
            return .json(accepted.json, status: .accepted, headers: replayed)
        case .finished(let code, let body):
            return .json(serialized: body, status: HTTPResponse.Status(code: code), headers: replayed)
        }
    }

    func enqueue(_ request: HandlerRequest, webhook: JSONValue, idempotency: IdempotencyKey?) async throws -> Response {
        guard let url = webhook.stringValue.flatMap(WebhookURL.init) else {
            throw RouteFailure(.badRequest, "Invalid payload: 'webhook_url' must be an absolute http:// or https:// URL")
        }
        // A host refused now is a 400. One that does not resolve yet is decided at delivery,
        // unless an allow-list is set: then it cannot be shown to be on it.
        switch await webhookHosts.decide(url.host) {
        case .refused(let reason):
            throw RouteFailure(.badRequest, "Invalid payload: 'webhook_url' \(reason)")
        case .unresolved where webhookHosts.hasList:
            throw RouteFailure(.badRequest, "Invalid payload: 'webhook_url' host '\(url.host)' is not allowed (WEBHOOK_ALLOWED_HOSTS lists the hosts webhooks may go to)")
        case .unresolved, .allowed:
            break
        }
        do {
            let accepted = try await jobs.enqueue(JobSubmission(request: request, webhookURL: url.text, idempotency: idempotency))
            return .json(accepted.json, status: .accepted)
        } catch let full as JobQueueFull {
            var envelope = Envelope(endpoint: route.fullPath, code: 429, fields: fields)
            envelope.id = request.payload["id"] ?? .null
            // As the original: a fresh id for a job that was refused, never stored (status: 404).
            envelope.jobID = request.jobID
            envelope.message = .string("MAX_QUEUE_LENGTH (\(full.limit)) reached")
            return .json(envelope.json, status: .tooManyRequests, headers: [.retryAfter: String(full.retryAfter)])
        }
    }
}

/// A `webhook_url`: an absolute http(s) URL with a host.
struct WebhookURL {
    let text: String
    let host: String

    init?(_ text: String) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return nil }
        self.text = text
        self.host = host.lowercased()
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        receiver = "\(scheme)://\(self.host.contains(":") ? "[\(self.host)]" : self.host):\(port)"
    }

    /// The receiver, as webhook fairness counts it: scheme, host and port (`https://hooks.example.com:443`).
    let receiver: String
}
