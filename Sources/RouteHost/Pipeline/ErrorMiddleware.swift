import Hummingbird
import JSONSchema

/// Turns every error that reaches it into a JSON answer: never an HTML page, never an empty 500.
///
/// - ``RouteFailure``: its status and body.
/// - No route for the path: `404 {"message":"Not Found: no route for /x"}`; a path served with
///   other methods: `405` with `Allow`.
/// - Hummingbird's own errors (`HTTPError`): their status and message.
/// - Anything else: `500 {"message":"Internal Server Error","request_id":...}`; the error itself
///   only goes to the log.
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = RouteHostRequestContext

    let allowedMethods: @Sendable (String) -> [HTTPRequest.Method]

    /// - Parameter allowedMethods: the methods served at a path, to tell 405 from 404.
    public init(allowedMethods: @escaping @Sendable (String) -> [HTTPRequest.Method]) {
        self.allowedMethods = allowedMethods
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return notFound(request)
        } catch {
            return try Self.response(for: error, context: context)
        }
    }

    /// The JSON answer for an error a route's pipeline threw. Routes answer their own errors with
    /// it, so that the middleware around them (rate-limit and CORS headers) sees a response.
    /// Rethrows `CancellationError`.
    static func response(for error: any Error, context: Context) throws -> Response {
        switch error {
        case let failure as RouteFailure:
            return .json(failure.plainBody, status: failure.status, headers: failure.headers)
        case let error as HTTPError:
            return .message(error.body ?? error.status.reasonPhrase, status: error.status, headers: error.headers)
        case is CancellationError:
            throw error
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return .json(
                .object(JSONObject([("message", "Internal Server Error"), ("request_id", .string(context.requestID))])),
                status: .internalServerError)
        }
    }

    /// No route matched: 405 with `Allow` when the path is served with other methods, else 404.
    /// (A handler's own 404 arrives here too; on a path it serves with this method it stays a 404.)
    func notFound(_ request: Request) -> Response {
        let path = request.uri.path
        let methods = allowedMethods(path)
        if methods.isEmpty {
            return .message("Not Found: no route for \(path) (GET /v1/toolkit/routes lists them)", status: .notFound)
        }
        if methods.contains(request.method) {
            return .message("Not Found", status: .notFound)
        }
        let allow = methods.map(\.rawValue).joined(separator: ", ")
        return .message("Method \(request.method.rawValue) not allowed on \(path); use \(allow)", status: .methodNotAllowed, headers: [.allow: allow])
    }
}
