import Hummingbird
import NIOCore
import JSONSchema

/// Reads a request's JSON body within limits.
///
/// - no `Content-Type`: read as JSON; a JSON type (`application/json`, `…+json`): JSON; any
///   other type: 415 saying to send `Content-Type: application/json`;
/// - a `Content-Length` above the limit: 413 before a byte is read; a body that grows past it: 413;
/// - empty or falsy (`null`, `false`, `0`, `""`, `{}`, `[]`, as Python sees it): 400
///   `Missing JSON in request`; for a route whose body is optional (`"body": "optional"`), an
///   empty body or `null` reads as `{}`, and other falsy values go on to the schema;
/// - malformed JSON, invalid UTF-8, duplicate keys, nesting past the limit: 400 with the line,
///   column and byte offset.
public struct JSONBodyReader: Sendable {
    public var maxBytes: Int
    public var maxDepth: Int

    public init(maxBytes: Int, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// - Parameter optional: the route's body is optional (see above).
    public func read(_ request: inout Request, optional: Bool = false) async throws -> JSONValue {
        try checkContentType(request.headers[.contentType])
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw tooLarge
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
        return try parse(buffer.readableBytesView, optional: optional)
    }

    /// Parses a collected body.
    public func parse(_ bytes: some Collection<UInt8>, optional: Bool = false) throws(RouteFailure) -> JSONValue {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            if optional { return .object([:]) }
            throw Self.missingJSON
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, options: .init(maxDepth: maxDepth, allowDuplicateKeys: false))
        } catch {
            var body = JSONObject()
            body["message"] = .string("Malformed JSON in request: \(error.message) at line \(error.location.line), column \(error.location.column)")
            body["line"] = .number(JSONNumber(error.location.line))
            body["column"] = .number(JSONNumber(error.location.column))
            body["offset"] = .number(JSONNumber(error.location.offset))
            throw RouteFailure(.badRequest, message: body["message"]!, body: .object(body))
        }
        if optional { return value == .null ? .object([:]) : value }
        if value.isFalsy { throw Self.missingJSON }
        return value
    }

    func checkContentType(_ contentType: String?) throws(RouteFailure) {
        guard let contentType else { return }
        let beforeParameters = contentType.utf8.split(separator: UInt8(ascii: ";"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let trimmed = beforeParameters.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        let mediaType = String(decoding: trimmed, as: UTF8.self).lowercased()
        if mediaType.isEmpty || mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) {
            return
        }
        throw RouteFailure(.unsupportedMediaType, "Unsupported Content-Type '\(mediaType)': send the body as JSON with 'Content-Type: application/json' (curl: -H 'Content-Type: application/json' or --json)")
    }

    var tooLarge: RouteFailure {
        RouteFailure(.contentTooLarge, "Request body too large: the limit is \(maxBytes) bytes (MAX_BODY_BYTES)")
    }

    static let missingJSON = RouteFailure(.badRequest, "Missing JSON in request")
}

extension JSONValue {
    /// Python's truthiness, which the original's `if not request.json` relies on.
    var isFalsy: Bool {
        switch self {
        case .null: true
        case .bool(let flag): !flag
        case .number(let number): number.doubleValue == 0
        case .string(let text): text.isEmpty
        case .array(let items): items.isEmpty
        case .object(let object): object.count == 0
        }
    }
}
