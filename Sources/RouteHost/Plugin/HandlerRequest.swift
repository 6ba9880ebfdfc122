import HTTPTypes
import Hummingbird
import HummingbirdCore
import JSONSchema
import Logging

/// What a handler receives: the validated payload and the request's facts.
///
/// For a queued job the handler runs later, in the background: `headers` are then the headers
/// of the original request, and `jobID` is the job's id.
public struct HandlerRequest: Sendable {
    /// The JSON body after validation (`.null` for requests without a body).
    public var payload: JSONValue
    public var headers: HTTPFields
    public var uri: URI
    public var requestID: String
    /// The id of the job this execution belongs to.
    public var jobID: String
    /// The full path of the route (`/v1/media/youtube/info`).
    public var endpoint: String
    public var logger: Logger
    /// The client's connection: streaming handlers stop their work when it closes.
    /// ``ClientConnection/detached`` for queued jobs.
    public var connection: ClientConnection
    /// Who sent the request, when the pipeline knows (nil for queued jobs).
    public var client: ClientIdentity?

    public init(
        payload: JSONValue, headers: HTTPFields, uri: URI, requestID: String, jobID: String,
        endpoint: String, logger: Logger, connection: ClientConnection = .detached, client: ClientIdentity? = nil
    ) {
        self.client = client
        self.payload = payload
        self.headers = headers
        self.uri = uri
        self.requestID = requestID
        self.jobID = jobID
        self.endpoint = endpoint
        self.logger = logger
        self.connection = connection
    }
}
