import AsyncHTTPClient
import Foundation
import HTTPTypes
import JSONSchema
import NIOCore
import NIOPosix

/// What went wrong on the way to the upstream, as far as retrying and answering care.
///
/// Classifies the errors of AsyncHTTPClient and NIO so that none of them reaches the framework:
/// each becomes one of our own JSON answers (``routeFailure(serviceName:)``), and its
/// ``description`` is the one wording used for it in answers, health reasons and logs. This is
/// the only map of HTTP-client and network errors in the upstream relay (``StreamRelay`` and
/// ``HealthProbe`` use it too).
public enum UpstreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection could be made (refused, unreachable, DNS, connect timeout).
    case connect
    /// No response head within the time allowed.
    case timeout(Duration)
    /// The connection broke or the answer was not HTTP.
    case protocolFailure(String)
    /// The circuit breaker refused the request.
    case circuitOpen(retryAfter: Duration)

    /// Whether another attempt may help.
    public var isRetryable: Bool {
        switch self {
        case .connect, .timeout, .protocolFailure: true
        case .circuitOpen: false
        }
    }

    /// Why, in words fit for clients and logs (never the underlying error's text).
    public var description: String {
        switch self {
        case .connect: "could not connect to the service"
        case .timeout(let limit): "no response within \(UpstreamConfiguration.seconds(limit).serializedString()) s"
        case .protocolFailure(let reason): reason
        case .circuitOpen: "circuit open"
        }
    }

    /// The classification of `error`, thrown by AsyncHTTPClient or NIO before the response head
    /// or while reading a body.
    ///
    /// - Parameter headTimeout: the limit that a timeout reports (``timeout(_:)``).
    public static func classify(_ error: any Error, headTimeout: Duration) -> UpstreamError {
        if let error = error as? UpstreamError { return error }
        if let error = error as? HTTPClientError {
            if [.connectTimeout, .tlsHandshakeTimeout, .socksHandshakeTimeout, .httpProxyHandshakeTimeout].contains(error) {
                return .connect
            }
            if [.deadlineExceeded, .readTimeout, .writeTimeout].contains(error) { return .timeout(headTimeout) }
            if error == .remoteConnectionClosed { return .protocolFailure("connection closed by the service") }
            return .protocolFailure("invalid response")
        }
        if error is NIOConnectionError { return .connect }
        if let error = error as? ChannelError {
            if case .connectTimeout = error { return .connect }
            return .protocolFailure("connection failed")
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ETIMEDOUT, EADDRNOTAVAIL: return .connect
            default: return .protocolFailure("connection failed")
            }
        }
        if error is SocketAddressError { return .connect }
        return .protocolFailure("connection failed")
    }

    /// Our answer for this error: 503 for connection and circuit failures, 504 for timeouts, 502
    /// otherwise; `{"error": "...", "reason": "..."}`, never the underlying error's text.
    public func routeFailure(serviceName: String) -> RouteFailure {
        let unavailable = "\(serviceName) service is currently unavailable"
        switch self {
        case .circuitOpen(let retryAfter):
            return .upstream(.serviceUnavailable, ["error": .string(unavailable)], headers: [.retryAfter: RetryAfter.headerValue(retryAfter)])
        case .connect:
            return .upstream(.serviceUnavailable, ["error": .string(unavailable), "reason": .string(description)])
        case .timeout:
            return .upstream(.gatewayTimeout, ["error": .string("\(serviceName) service did not respond in time"), "reason": .string(description)])
        case .protocolFailure:
            return .upstream(.badGateway, ["error": .string("\(serviceName) service failed"), "reason": .string(description)])
        }
    }
}

extension RouteFailure {
    /// A failure whose JSON `body` is both the plain answer and the envelope's `message`.
    static func upstream(_ status: HTTPResponse.Status, _ body: JSONObject, headers: HTTPFields = [:]) -> RouteFailure {
        RouteFailure(status, message: .object(body), body: .object(body), headers: headers)
    }
}
