import AsyncHTTPClient
import Foundation
import JSONSchema
import NIOPosix
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// A real Prometheus server scraping a host's `/metrics` with its bearer token.
@Suite("Prometheus scrapes /metrics")
struct PrometheusScrapeTests {
    /// A loopback port free now (bound, then released) for Prometheus, which logs no port it picked.
    static func freePort() async throws -> Int {
        let socket = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = socket.localAddress?.port ?? 0
        try await socket.close().get()
        return port
    }

    static func get(_ url: String) async throws -> JSONValue? {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5)) else { return nil }
        return try? JSONParser.parse(Array(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test(.timeLimit(.minutes(1)))
    func prometheusScrapesTheHostWithItsToken() async throws {
        guard let prometheus = MetricsTests.executable("prometheus") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw TestFailure("prometheus is not installed (apt-get install prometheus)") }
            print("note: prometheus not installed: the scrape test is skipped (apt-get install prometheus)")
            return
        }
        try await TemporaryDirectory.with { folder in
            try await JobsHost.with(.sqlite, MetricsTests.on) { host in
                _ = try await host.post("/v1/test/sync", ["n": 1])
                let port = try await Self.freePort()
                let config = """
                    global:
                      scrape_interval: 1s
                    scrape_configs:
                      - job_name: routehost
                        scrape_interval: 1s
                        authorization:
                          type: Bearer
                          credentials: \(MetricsTests.token)
                        static_configs:
                          - targets: ["127.0.0.1:\(host.port)"]
                    """
                try Data(config.utf8).write(to: URL(fileURLWithPath: folder + "/prometheus.yml"))
                let process = Process()
                process.executableURL = URL(fileURLWithPath: prometheus)
                process.arguments = [
                    "--config.file=\(folder)/prometheus.yml", "--storage.tsdb.path=\(folder)/data",
                    "--web.listen-address=127.0.0.1:\(port)", "--log.level=error",
                ]
                process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                process.standardError = FileHandle(forWritingAtPath: "/dev/null")
                try process.run()
                defer {
                    // SIGKILL: a throwaway server, gone at once (SIGTERM would flush its store
                    // while this thread of the test's pool waits).
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                }
                let query = "http://127.0.0.1:\(port)/api/v1/query?query=routehost_http_requests_total%7Broute%3D%22%2Fv1%2Ftest%2Fsync%22%7D"
                var result: JSONValue?
                let deadline = ContinuousClock.now + .seconds(45)
                while ContinuousClock.now < deadline {
                    if let answer = try await Self.get(query), let series = answer["data"]?["result"]?.arrayValue, !series.isEmpty {
                        result = series.first
                        break
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                let series = try #require(result, "Prometheus stored a scraped series")
                #expect(series["metric"]?["module"] == "jobtest")
                #expect(series["value"]?[1]?.stringValue == "1")
                let targets = try #require(try await Self.get("http://127.0.0.1:\(port)/api/v1/targets"))
                let target = try #require(targets["data"]?["activeTargets"]?[0])
                #expect(target["health"] == "up", "\(target.serializedString())")
                #expect(target["lastError"] == "")
            }
        }
    }
}
