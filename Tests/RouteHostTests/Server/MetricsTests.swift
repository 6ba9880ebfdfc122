import AsyncHTTPClient
import Foundation
import JSONSchema
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// `GET /metrics`: off by default, behind a bearer token, bounded labels, valid exposition.
@Suite("Prometheus metrics")
struct MetricsTests {
    static let token = "metrics-token-0123456789"
    static let on = ["METRICS_TOKEN": token]

    static func scrape(_ host: JobsHost, token: String? = MetricsTests.token) async throws -> (status: Int, text: String) {
        var request = HTTPClientRequest(url: host.baseURL + "/metrics")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 16 << 20)))
    }

    /// The value of the series of `family` whose labels include all of `labels`.
    static func value(_ text: String, _ family: String, _ labels: [String: String] = [:]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(family + "{") || line.hasPrefix(family + " ") {
            guard labels.allSatisfy({ line.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    @Test func offByDefaultAndNothingIsCollected() async throws {
        try await JobsHost.with(.sqlite) { host in
            #expect(host.server.metrics == nil)
            let answer = try await Self.scrape(host)
            #expect(answer.status == 404)
            #expect(answer.text.contains("METRICS_TOKEN"), "it says how to turn them on")
        }
    }

    @Test func aMissingOrWrongTokenIsAJSON401() async throws {
        try await JobsHost.with(.sqlite, Self.on) { host in
            for token in [nil, "wrong", Self.token + "x"] {
                let answer = try await Self.scrape(host, token: token)
                #expect(answer.status == 401)
                let json = try JSONParser.parse(answer.text)
                #expect(json["message"]?.stringValue?.contains("Bearer <METRICS_TOKEN>") == true)
            }
        }
    }

    @Test func requestsJobsWebhooksAndRefusalsAreCounted() async throws {
        try await WebhookReceiver.with { receiver in
            try await JobsHost.with(.sqlite, Self.on) { host in
                _ = try await host.post("/v1/test/sync", ["n": 1])
                _ = try await host.post("/v1/test/sync", ["fail": 418])
                _ = try await host.post("/v1/test/sync", ["n": 1], key: "a-wrong-key-000000")
                _ = try await host.post("/v1/test/work", ["webhook_url": .string(receiver.url)])
                try await receiver.waitForDeliveries(1)
                var text = ""
                // The webhook's attempt is counted once recorded, right after the receiver's answer.
                for _ in 0..<100 {
                    text = try await Self.scrape(host).text
                    if Self.value(text, "routehost_webhooks_attempts_total", ["outcome": "delivered"]) == 1 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let sync = ["module": "jobtest", "route": "/v1/test/sync", "method": "POST"]
                #expect(Self.value(text, "routehost_http_requests_total", sync.merging(["status": "2xx"]) { $1 }) == 1)
                #expect(Self.value(text, "routehost_http_requests_total", sync.merging(["status": "4xx"]) { $1 }) == 2, "a 418 and a 401")
                #expect(Self.value(text, "routehost_http_request_duration_seconds_count", sync.merging(["status": "2xx"]) { $1 }) == 1)
                #expect(Self.value(text, "routehost_jobs_finished_total", ["kind": "sync", "code": "418"]) == 1)
                #expect(Self.value(text, "routehost_jobs_finished_total", ["kind": "queued", "code": "200"]) == 1)
                #expect(Self.value(text, "routehost_webhooks_attempts_total", ["outcome": "delivered"]) == 1)
                #expect(Self.value(text, "routehost_http_refusals_total", ["reason": "auth_failure"]) == 1)
                #expect(Self.value(text, "routehost_http_refusals_total", ["reason": "rate_limit"]) == 0, "every reason is there from the start")
                #expect(Self.value(text, "routehost_jobs_queued") == 0)
                #expect(Self.value(text, "routehost_jobs_queue_wait_seconds_count") == 1)
                #expect(text.contains("# HELP routehost_http_requests_total "), "help text on every family")
            }
        }
    }

    @Test func unknownPathsShareOneSeries() async throws {
        try await JobsHost.with(.sqlite, Self.on) { host in
            for index in 0..<1000 {
                var request = HTTPClientRequest(url: host.baseURL + "/no/such/path/\(index)")
                request.method = .GET
                _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10)).body.collect(upTo: 1 << 16)
            }
            let text = try await Self.scrape(host).text
            let unmatched = text.split(separator: "\n").filter { $0.hasPrefix("routehost_http_requests_total{") && $0.contains("route=\"unmatched\"") }
            #expect(unmatched.count == 1, "\(unmatched)")
            #expect(Self.value(text, "routehost_http_requests_total", ["route": "unmatched"]) == 1000)
            #expect(!text.contains("/no/such/path"))
            #expect(text.split(separator: "\n").count < 400, "the exposition stays small")
        }
    }

    @Test func theExpositionPassesPromtool() async throws {
        guard let promtool = MetricsTests.executable("promtool") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw TestFailure("promtool is not installed (apt-get install prometheus)") }
            print("note: promtool not installed: the exposition check is skipped (apt-get install prometheus)")
            return
        }
        try await JobsHost.with(.sqlite, Self.on) { host in
            _ = try await host.post("/v1/test/sync", ["n": 1])
            _ = try await host.get("/health")
            let text = try await Self.scrape(host).text
            let process = Process()
            process.executableURL = URL(fileURLWithPath: promtool)
            process.arguments = ["check", "metrics"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = output
            try process.run()
            input.fileHandleForWriting.write(Data(text.utf8))
            try input.fileHandleForWriting.close()
            let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(report)")
        }
    }

    @Test func theTokenCanComeFromAFile() async throws {
        try await TemporaryDirectory.with { folder in
            let path = folder + "/metrics-token"
            try Data((Self.token + "\n").utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            try await JobsHost.with(.sqlite, ["METRICS_TOKEN_FILE": path]) { host in
                let answer = try await Self.scrape(host)
                #expect(answer.status == 200)
            }
        }
    }

    static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
