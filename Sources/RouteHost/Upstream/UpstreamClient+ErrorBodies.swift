import AsyncHTTPClient
import Foundation
import HTTPTypes
import JSONSchema
import NIOHTTP1

/// The bodies of upstream answers we do not relay as they are (4xx, 5xx), and the small
/// timeouts used to read them.
extension UpstreamClient {
    /// The JSON of a 4xx: the upstream's JSON object or array as is, anything else as `{"error": text}`.
    static func clientErrorBody(_ body: [UInt8]?, reason: String, code: Int) -> JSONValue {
        if let body, let json = try? JSONParser.parse(body) {
            switch json {
            case .object, .array: return json
            case .string(let text): return ["error": .string(text)]
            default: break
            }
        }
        let text = body.map { Self.printable(String(decoding: $0, as: UTF8.self)) } ?? ""
        return ["error": .string(text.isEmpty ? "HTTP \(code) \(reason)" : text)]
    }

    /// Our answer for a 5xx that survived its retries: 503 and 504 keep their status, others
    /// become 502, with `"reason": "HTTP <status>"` and the upstream's `Retry-After`. Nothing of
    /// the upstream's body is sent (its `error`/`message` may describe its internals): the caller
    /// logs ``serverErrorText(_:)`` instead.
    static func serverErrorFailure(status: UInt, headers: HTTPHeaders, service: String) -> RouteFailure {
        let code = Int(status)
        let reason = "HTTP \(code)"
        var fields = HTTPFields()
        if let retryAfter = headers.first(name: "retry-after") { fields[.retryAfter] = retryAfter }
        let ours: HTTPResponse.Status = code == 503 ? .serviceUnavailable : code == 504 ? .gatewayTimeout : .badGateway
        return .upstream(ours, ["error": .string("\(service) service failed"), "reason": .string(reason)], headers: fields)
    }

    /// What a 5xx body says: its JSON `error` and `message` (the text of a non-JSON body), fit for
    /// a log line (``printable(_:)``); nil when it says nothing.
    static func serverErrorText(_ body: [UInt8]?) -> String? {
        guard let body, !body.isEmpty else { return nil }
        let text: String
        if let json = try? JSONParser.parse(body) {
            let parts = [json["error"]?.stringValue, json["message"]?.stringValue].compactMap { $0 }
            guard !parts.isEmpty else { return nil }
            text = parts.joined(separator: ": ")
        } else {
            text = String(decoding: body, as: UTF8.self)
        }
        let cleaned = printable(text)
        return cleaned.isEmpty ? nil : cleaned
    }

    /// `text` trimmed, without control characters, at most 1000 characters.
    static func printable(_ text: String) -> String {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return cleaned.count > 1000 ? String(cleaned.prefix(1000)) + "…" : cleaned
    }

    /// Reads a small body (an error answer); nil (and the connection closed) when it is larger
    /// than `limit`, breaks off, or takes longer than `timeout` in all (a total limit: such
    /// bodies are small, and this keeps a retry from waiting on a trickling error page).
    static func readSmallBody(_ body: HTTPClientResponse.Body, limit: Int, timeout: Duration) async -> [UInt8]? {
        do {
            let buffer = try await withTimeout(timeout) { try await body.collect(upTo: limit) }
            return Array(buffer.readableBytesView)
        } catch {
            return nil
        }
    }

    /// Runs `operation`, throwing ``UpstreamError/timeout(_:)`` when it takes longer than `timeout`.
    static func withTimeout<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw UpstreamError.timeout(timeout)
            }
            defer { group.cancelAll() }
            guard let result = try await group.next() else { throw CancellationError() }
            return result
        }
    }
}
