import AsyncHTTPClient
import Foundation
import JSONSchema
import NIOCore

/// One health check of an upstream: `GET <healthPath>`, a single attempt within `healthTimeout`
/// (and, when healthy, `GET <infoPath>` within another).
///
/// Healthy: a 2xx whose JSON (if any) does not say `"status": "unhealthy"`. A healthy probe then
/// fetches `GET <infoPath>` (when configured) the same way; its failure leaves the upstream
/// healthy, without service info. The probe never throws: every failure is a snapshot with a
/// reason fit for clients.
struct HealthProbe: Sendable {
    let configuration: UpstreamConfiguration

    func run(client: HTTPClient) async -> HealthCache.Snapshot {
        let started = ContinuousClock.now
        let timeout = configuration.healthTimeout
        do {
            let (status, body) = try await get(configuration.healthPath, client: client)
            let details = try? JSONParser.parse(body)
            let said = details?["status"]?.stringValue
            if (200..<300).contains(status) && said != "unhealthy" {
                var serviceInfo: JSONValue?
                if let infoPath = configuration.infoPath, let (infoStatus, infoBody) = try? await get(infoPath, client: client),
                    (200..<300).contains(infoStatus) {
                    serviceInfo = try? JSONParser.parse(infoBody)
                }
                return .init(healthy: true, details: details, serviceInfo: serviceInfo, latency: ContinuousClock.now - started)
            }
            let reason = "HTTP \(status)" + (said.map { " (\($0))" } ?? "")
            return .init(healthy: false, reason: reason, details: details, reachable: true, latency: ContinuousClock.now - started)
        } catch {
            let latency = ContinuousClock.now - started
            if Task.isCancelled { return .init(healthy: false, reason: "probe cancelled", latency: latency) }
            let reason = UpstreamError.classify(error, headTimeout: timeout).description
            return .init(healthy: false, reason: reason, latency: latency)
        }
    }

    /// One `GET` of `path`, within the health timeout: the status and up to 64 KiB of body.
    private func get(_ path: String, client: HTTPClient) async throws -> (UInt, [UInt8]) {
        var request = HTTPClientRequest(url: configuration.url(path))
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "RouteHost/\(RouteHostVersion.current) health")
        let timeout = configuration.healthTimeout
        let probeRequest = request
        return try await UpstreamClient.withTimeout(timeout) {
            let response = try await client.execute(probeRequest, deadline: .now() + TimeAmount(timeout))
            let body = try await response.body.collect(upTo: UpstreamClient.maxErrorBodyBytes)
            return (response.status.code, Array(body.readableBytesView))
        }
    }
}
