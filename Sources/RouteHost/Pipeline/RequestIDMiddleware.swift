import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore

/// Gives every request an id, puts it in the logger and answers it in `X-Request-Id`.
///
/// A client's own `X-Request-Id` is kept when it is short and plain (≤ 128 characters of
/// letters, digits, `-`, `_`, `.`, `:`), so ids can be traced across services; otherwise a UUID
/// is made.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.xRequestID].flatMap(Self.acceptable) ?? RandomUUID.v4()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.xRequestID] = id
        return response
    }

    static func acceptable(_ id: String) -> String? {
        guard !id.isEmpty, id.utf8.count <= 128,
            id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 58) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 })
        else { return nil }
        return id
    }
}

extension HTTPField.Name {
    public static let xRequestID = Self("X-Request-Id")!
    public static let xAPIKey = Self("X-API-Key")!
}
