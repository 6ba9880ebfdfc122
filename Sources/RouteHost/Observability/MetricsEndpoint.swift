import Crypto
import Foundation
import Hummingbird

/// `GET /metrics`: the Prometheus text format, for `Authorization: Bearer <METRICS_TOKEN>` (what
/// Prometheus' `authorization` scrape setting sends). Without `METRICS_TOKEN` metrics are off:
/// `404` saying how to turn them on. A missing or wrong token is a JSON `401`. Never rate-limited
/// and never recorded as a job.
struct MetricsEndpoint: Sendable {
    let metrics: HostMetrics?
    let token: String?
    let jobs: any JobService

    func answer(_ request: Request) async -> Response {
        guard let metrics, let token else {
            return .message("Metrics are off: set METRICS_TOKEN (or METRICS_TOKEN_FILE) to serve them here", status: .notFound)
        }
        let sent = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let sent, Self.equal(sent, token) else {
            return .message(
                "Unauthorized: send Authorization: Bearer <METRICS_TOKEN>", status: .unauthorized,
                headers: [.wwwAuthenticate: #"Bearer realm="metrics""#])
        }
        let body = await metrics.exposition(jobs: jobs)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Compares digests, so the time taken says nothing about how much of the token was right.
    private static func equal(_ a: String, _ b: String) -> Bool {
        SHA256.hash(data: Array(a.utf8)) == SHA256.hash(data: Array(b.utf8))
    }
}
