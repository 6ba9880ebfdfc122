import Hummingbird
import JSONSchema

/// A named handler a module offers to routes.json.
///
/// Three kinds:
/// - ``envelope(_:)``: the result is wrapped in the envelope, the run is recorded as a job, and
///   routes with `"queue": "webhook"` can run it in the background;
/// - ``plain(_:)``: the result's JSON is sent as it is (health checks, discovery documents);
/// - ``stream(_:)``: the handler returns a Hummingbird `Response` whose body it streams itself
///   (routes that use it must say `"stream": true`).
public struct RouteHandler: Sendable {
    public enum Kind: Sendable {
        case envelope(JobHandler)
        case plain(@Sendable (HandlerRequest) async throws -> HandlerResponse)
        case stream(@Sendable (HandlerRequest) async throws -> Response)
    }

    public var kind: Kind
    /// Answer a failed authentication with the envelope (`code: 401`) instead of the bare
    /// `{"message":"Unauthorized"}`, as the original's `/v1/toolkit/authenticate` does.
    public var envelopeOnAuthFailure: Bool
    /// Whether a synchronous run is stored as a job (envelope handlers). Read-only handlers such
    /// as job status turn it off, so that polling does not fill the job store; their envelope
    /// still carries a fresh `job_id`.
    public var recordsJob: Bool
    /// The JSON Schema of a successful result, for the OpenAPI document: a plain handler's 200
    /// body, or an envelope handler's `response`. Nil: any object.
    public var resultSchema: JSONValue?
    /// An example of that result, shown in the OpenAPI document.
    public var resultExample: JSONValue?

    public init(kind: Kind, envelopeOnAuthFailure: Bool = false, recordsJob: Bool = true) {
        self.kind = kind
        self.envelopeOnAuthFailure = envelopeOnAuthFailure
        self.recordsJob = recordsJob
    }

    /// This handler with its result described for the OpenAPI document (see ``resultSchema``).
    public func documented(schema: JSONValue, example: JSONValue? = nil) -> RouteHandler {
        var handler = self
        handler.resultSchema = schema
        handler.resultExample = example
        return handler
    }

    public static func envelope(_ body: @escaping JobHandler) -> Self {
        .init(kind: .envelope(body))
    }

    public static func plain(_ body: @escaping @Sendable (HandlerRequest) async throws -> HandlerResponse) -> Self {
        .init(kind: .plain(body))
    }

    public static func stream(_ body: @escaping @Sendable (HandlerRequest) async throws -> Response) -> Self {
        .init(kind: .stream(body))
    }

    public var isStreaming: Bool {
        if case .stream = kind { return true }
        return false
    }

    public var isEnvelope: Bool {
        if case .envelope = kind { return true }
        return false
    }
}
