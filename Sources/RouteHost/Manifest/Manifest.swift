import HTTPTypes
import JSONSchema

/// The registry manifest, routes.json: the only place routes are declared.
///
/// Load it with ``ManifestLoader``; every value here has passed the structural checks (keys,
/// types, methods, paths, duplicates). Plugin bindings and schemas are checked when the
/// ``RouteRegistry`` is built from it.
public struct Manifest: Sendable {
    public var version: Int
    public var modules: [ModuleManifest]
    /// Where the manifest was read from, as given (used in diagnostics).
    public var path: String
    let sourceMap: JSONSourceMap?

    /// A diagnostic located at the value (or, with `atKey`, the key) that `pointer` names.
    /// When `pointer` names nothing in the file (a missing key), the nearest enclosing value is used.
    func diagnostic(at pointer: JSONPointer, atKey: Bool = false, _ message: String, fix: String? = nil) -> ManifestDiagnostic {
        var location = (atKey ? sourceMap?.keyLocation(pointer) : nil) ?? sourceMap?.valueLocation(pointer)
        var tokens = pointer.tokens
        while location == nil && !tokens.isEmpty {
            tokens.removeLast()
            location = sourceMap?.valueLocation(JSONPointer(tokens))
        }
        return ManifestDiagnostic(file: path, line: location?.line ?? 1, column: location?.column ?? 1, message: message, fix: fix)
    }
}

/// One module entry of routes.json.
public struct ModuleManifest: Sendable {
    public var name: String
    public var plugin: String
    /// The path prefix, `""` or starting with `/`, without a trailing `/`.
    public var prefix: String
    /// The module's settings after `${VAR}` interpolation.
    public var config: JSONObject
    public var enabled: Bool
    public var description: String?
    public var routes: [RouteManifest]
    /// Where the entry sits in routes.json.
    public var pointer: JSONPointer
}

/// One route entry of routes.json.
public struct RouteManifest: Sendable {
    public var method: HTTPRequest.Method
    /// The path below the module prefix: `""` or starting with `/`.
    public var path: String
    public var fullPath: String
    public var handler: String
    /// The request schema, compiled.
    public var schema: RouteSchema?
    public var auth: Bool
    public var queue: QueuePolicy
    public var stream: Bool
    /// Whether a request must carry a JSON body (`"body": "required"`, the default for methods
    /// with a body); with `"body": "optional"`, none (or `null`) reads as `{}`.
    public var bodyRequired: Bool
    public var rateLimit: RateLimitRule?
    public var description: String?
    public var pointer: JSONPointer

    /// Whether requests carry a JSON body (everything but GET, HEAD and DELETE).
    public var hasBody: Bool { Self.hasBody(method) }

    static func hasBody(_ method: HTTPRequest.Method) -> Bool {
        method != .get && method != .head && method != .delete
    }
}

/// A route's request schema: its JSON (inline, or read from a file) compiled once.
public struct RouteSchema: Sendable {
    public var json: JSONValue
    /// The file the schema came from, relative to the manifest, when it was not inline.
    public var file: String?
    public var validator: Schema
}

/// Whether a route's work may run in the background.
public enum QueuePolicy: String, Sendable, CaseIterable {
    /// Always answer synchronously.
    case never
    /// Run in the background when the body has a `webhook_url`, and POST the result there.
    case webhook
}

/// A rate limit such as `30/minute`: `count` requests per `period`.
public struct RateLimitRule: Sendable, Hashable, CustomStringConvertible {
    public var count: Int
    public var period: Duration

    public init(count: Int, period: Duration) {
        self.count = count
        self.period = period
    }

    /// Parses `N/second`, `N/minute`, `N/hour` or `N/day` (also `N per minute`).
    public init?(parsing text: String) {
        let parts = text.replacingOccurrences(of: " per ", with: "/").split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[0]), count > 0 else { return nil }
        switch parts[1].lowercased() {
        case "second", "s", "sec": period = .seconds(1)
        case "minute", "m", "min": period = .seconds(60)
        case "hour", "h": period = .seconds(3600)
        case "day", "d": period = .seconds(86400)
        default: return nil
        }
        self.count = count
    }

    public var description: String {
        let unit = switch period {
        case .seconds(1): "second"
        case .seconds(60): "minute"
        case .seconds(3600): "hour"
        case .seconds(86400): "day"
        default: "\(period)"
        }
        return "\(count)/\(unit)"
    }
}
