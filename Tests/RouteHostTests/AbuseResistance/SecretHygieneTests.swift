import HTTPTypes
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import RouteHost
import Testing

/// The API key never reaches a log line or a response.
@Suite struct SecretHygieneTests {
    final class CapturedLogs: Sendable {
        let lines = NIOLockedValueBox<[String]>([])
        var all: String { lines.withLockedValue { $0.joined(separator: "\n") } }
    }

    struct CapturingHandler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            logs.lines.withLockedValue { $0.append("\(event.level) \(event.message) \(merged)") }
        }
    }

    @Test func keysStayOutOfLogsAndResponses() async throws {
        let logs = CapturedLogs()
        let secret = "super-secret-key-\(UInt64.random(in: 1...UInt64.max))"
        let guess = "guessed-key-\(UInt64.random(in: 1...UInt64.max))"
        let env = TestHost.environment(["API_KEY": secret, "LOG_LEVEL": "trace"])
        let manifest = try ManifestLoader(environment: env).load(bytes: Array(TestHost.echoManifest.utf8), path: "routes.json", baseDirectory: ".")
        let server = try RouteHostServer(
            manifest: manifest, catalog: .withBuiltIns([EchoModule.self]), environment: env,
            logger: Logger(label: "capture") { _ in CapturingHandler(logs: logs) })
        let bodies = try await server.makeApplication(host: "127.0.0.1", port: 0).test(.router) { client in
            var bodies: [String] = []
            for key in [secret, guess] {
                for (uri, method) in [("/v1/toolkit/authenticate", HTTPRequest.Method.get), ("/v1/echo/crash", .post), ("/v1/toolkit/routes", .get)] {
                    bodies.append(try await client.execute(uri: uri, method: method, headers: TestHost.jsonHeaders(key: key), body: method == .post ? "{\"a\":1}".buffer : nil) { response in
                        String(buffer: response.body) + "\(response.headers)"
                    })
                }
            }
            return bodies
        }
        #expect(!logs.all.isEmpty)
        #expect(logs.all.contains("authentication failed"))
        for text in bodies + [logs.all] {
            #expect(!text.contains(secret))
            #expect(!text.contains(guess))
        }
    }
}
