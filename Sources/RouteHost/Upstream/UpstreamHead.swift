import AsyncHTTPClient
import HTTPTypes

/// The status and headers of an upstream answer, for modules that pick what to relay.
public struct UpstreamHead: Sendable {
    public var status: HTTPResponse.Status
    /// The upstream's headers; names that are not valid HTTP tokens are dropped.
    public var headers: HTTPFields

    public init(status: HTTPResponse.Status, headers: HTTPFields) {
        self.status = status
        self.headers = headers
    }

    init(_ response: HTTPClientResponse) {
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        self.init(status: HTTPResponse.Status(code: Int(response.status.code)), headers: fields)
    }
}
