import Hummingbird
import JSONSchema
import NIOCore

extension Response {
    /// A JSON response with `body` serialised compactly.
    public static func json(_ body: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        json(serialized: body.serialized(), status: status, headers: headers)
    }

    /// A JSON response whose body is already serialized.
    public static func json(serialized bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        headers[.contentLength] = String(bytes.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `{"message": message}` with `status`.
    public static func message(_ message: String, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        .json(.object(JSONObject([("message", .string(message))])), status: status, headers: headers)
    }
}
