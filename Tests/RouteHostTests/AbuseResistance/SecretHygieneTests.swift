import HTTPTypes
import HummingbirdTesting
import Logging
import RouteHost
import RouteHostTestSupport
import Testing

/// The API key never reaches a log line or a response.
@Suite struct SecretHygieneTests {
    @Test func keysStayOutOfLogsAndResponses() async throws {
        let logs = CapturedLogs()
        let secret = "super-secret-key-\(UInt64.random(in: 1...UInt64.max))"
        let guess = "guessed-key-\(UInt64.random(in: 1...UInt64.max))"
        let env = TestHost.environment(["API_KEY": secret, "LOG_LEVEL": "trace"])
        let manifest = try ManifestLoader(environment: env).load(bytes: Array(TestHost.echoManifest.utf8), path: "routes.json", baseDirectory: ".")
        let server = try RouteHostServer(
            manifest: manifest, catalog: .withBuiltIns([EchoModule.self]), environment: env,
            logger: logs.logger())
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
        let logged = logs.entries.map(\.description).joined(separator: "\n")
        #expect(logged.contains("authentication failed"))
        for text in bodies + [logged] {
            #expect(!text.contains(secret))
            #expect(!text.contains(guess))
        }
    }
}
