import HTTPTypes
import JSONSchema

/// An error a handler throws to answer with a specific status and message.
///
/// On an envelope route the envelope carries `code: status` and `message`. On a plain or
/// streaming route the body is `body` when given (an upstream's own JSON, passed through),
/// else `{"message": message}`. Any other error a handler throws becomes a 500 whose details
/// stay in the log.
public struct RouteFailure: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: JSONValue
    public var body: JSONValue?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, message: JSONValue, body: JSONValue? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.body = body
        self.headers = headers
    }

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.init(status, message: .string(message), headers: headers)
    }

    /// The JSON sent when no envelope wraps the failure.
    public var plainBody: JSONValue {
        body ?? .object(JSONObject([("message", message)]))
    }
}
