import HTTPTypes
import JSONSchema

/// What an envelope or plain handler returns.
///
/// For an envelope handler, status 200 puts `payload` in the envelope's `response`; any other
/// status puts it in `message` (and `response` is null). A plain handler's payload is the body.
public struct HandlerResponse: Sendable {
    public var status: HTTPResponse.Status
    public var payload: JSONValue
    /// Extra response headers (`Retry-After`, ...). Not kept for queued jobs.
    public var headers: HTTPFields

    public init(_ payload: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) {
        self.status = status
        self.payload = payload
        self.headers = headers
    }
}
