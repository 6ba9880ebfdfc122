import HTTPTypes
import JSONSchema
import NIOCore

/// One request to an upstream service: method, path under the base URL, headers and a body.
///
/// The body is kept in memory so that the request can be sent again by a retry.
public struct UpstreamRequest: Sendable {
    public var method: HTTPRequest.Method
    /// The path under the service's base URL, starting with `/` (a query may follow).
    public var path: String
    public var headers: HTTPFields
    public var body: ByteBuffer?

    public init(method: HTTPRequest.Method, path: String, headers: HTTPFields = [:], body: ByteBuffer? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// A `POST` of `json` to `path`.
    public static func postJSON(_ path: String, _ json: JSONValue, headers: HTTPFields = [:]) -> UpstreamRequest {
        var headers = headers
        headers[.contentType] = "application/json"
        return UpstreamRequest(method: .post, path: path, headers: headers, body: ByteBuffer(bytes: json.serialized()))
    }
}
