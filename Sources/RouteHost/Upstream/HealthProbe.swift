import AsyncHTTPClient
import Foundation
import JSONSchema
import NIOCore

/// One health check of an upstream: `GET <healthPath>`, a single attempt within `healthTimeout`.
///
/// Healthy: a 2xx whose JSON (if any) does not say `"status": "unhealthy"`. The probe never
/// throws: every failure is a snapshot with a reason fit for clients.
struct HealthProbe: Sendable {
    let configuration: UpstreamConfiguration

    func run(client: HTTPClient) async -> HealthCache.Snapshot {
        let started = ContinuousClock.now
        var request = HTTPClientRequest(url: configuration.url(configuration.healthPath))
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "RouteHost/\(RouteHostVersion.current) health")
        let timeout = configuration.healthTimeout
        let probeRequest = request
        do {
            let (status, body) = try await UpstreamClient.withTimeout(timeout) {
                let response = try await client.execute(probeRequest, deadline: .now() + TimeAmount(timeout))
                let body = try await response.body.collect(upTo: UpstreamClient.maxErrorBodyBytes)
                return (response.status.code, Array(body.readableBytesView))
            }
            let details = try? JSONParser.parse(body)
            let latency = ContinuousClock.now - started
            let said = details?["status"]?.stringValue
            if (200..<300).contains(status) && said != "unhealthy" {
                return .init(healthy: true, details: details, latency: latency)
            }
            let reason = "HTTP \(status)" + (said.map { " (\($0))" } ?? "")
            return .init(healthy: false, reason: reason, details: details, latency: latency)
        } catch {
            let latency = ContinuousClock.now - started
            if Task.isCancelled { return .init(healthy: false, reason: "probe cancelled", latency: latency) }
            let reason = UpstreamError.classify(error, headTimeout: timeout).description
            return .init(healthy: false, reason: reason, latency: latency)
        }
    }
}
