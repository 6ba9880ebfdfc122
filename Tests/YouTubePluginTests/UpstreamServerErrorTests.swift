import AsyncHTTPClient
import Foundation
import JSONSchema
import Logging
import RouteHost
import RouteHostTestSupport
import Testing

extension LiveYouTubeTests {
    /// A 5xx that survives its retries: our answer says only the status; the upstream's own words
    /// go to the error log, with the request id, and nowhere else.
    @Suite struct UpstreamServerErrorTests {
        @Test func theUpstreamTextIsLoggedWithTheRequestIDAndNotAnswered() async throws {
            try await FakeDownloader.withRunning { fake in
                fake.set(.alwaysFail(status: 500), for: .info)
                let httpClients = HTTPClientFactory()
                var settings = UpstreamConfiguration(serviceName: "YouTube", baseURL: URL(string: fake.baseURL)!)
                settings.retry = RetryPolicy(attempts: 2, baseDelay: .milliseconds(1))
                let logs = CapturedLogs()
                let upstream = UpstreamClient(configuration: settings, httpClients: httpClients, logger: logs.logger())
                var caught: (any Error)?
                do {
                    _ = try await upstream.json(
                        .postJSON("/v1/media/youtube/info", ["url": .string(YouTubeHarness.watchURL)]),
                        logger: logs.logger(metadata: ["request_id": "req-5xx"]))
                } catch {
                    caught = error
                }
                upstream.shutdown()
                await httpClients.shutdown()
                let failure = try #require(caught as? RouteFailure, "a 500 must end in our own failure, got \(String(describing: caught))")
                #expect(failure.status == .badGateway)
                #expect(failure.plainBody == ["error": "YouTube service failed", "reason": "HTTP 500"])
                #expect(fake.count(.info) == 2)

                let errors = logs.entries.filter { $0.level == .error }
                #expect(errors.count == 1, "\(logs.entries)")
                let logged = try #require(errors.first)
                #expect(logged.metadata["request_id"] == "req-5xx")
                #expect(logged.metadata["upstream_error"] == "Simulated failure: HTTP 500 from the fake")
                #expect(logged.metadata["status"] == "500")
                #expect(!logs.entries.contains { $0.description.contains("secret.js") }, "only error and message are logged")
                let retried = logs.entries.filter { $0.level == .warning && $0.metadata["final"] == "false" }
                #expect(retried.count == 1 && retried.first?.metadata["request_id"] == "req-5xx")
            }
        }
    }
}
