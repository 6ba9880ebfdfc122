import HTTPTypes
import HummingbirdTesting
import Logging
import RouteHost
import RouteHostTestSupport
import Testing

/// Warnings an operator needs to see: short keys, and a proxy in front that is not trusted.
@Suite struct OperatorWarningsTests {
    func server(_ environment: [String: String], logs: CapturedLogs) throws -> RouteHostServer {
        let env = TestHost.environment(environment)
        let manifest = try ManifestLoader(environment: env).load(bytes: Array(TestHost.echoManifest.utf8), path: "routes.json", baseDirectory: ".")
        return try RouteHostServer(manifest: manifest, catalog: .withBuiltIns([EchoModule.self]), environment: env, logger: logs.logger())
    }

    @Test func shortKeysAreWarnedAboutWithoutShowingThem() throws {
        let logs = CapturedLogs()
        _ = try server(["API_KEY": "", "API_KEYS": "abc123,\(String(repeating: "k", count: 32)),short-key-9"], logs: logs)
        let warnings = logs.entries.filter { $0.level == .warning && $0.message.contains("shorter than 16 characters") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.metadata["short_keys"] == "2")
        #expect(!logs.entries.map(\.description).joined().contains("abc123"))

        let quiet = CapturedLogs()
        _ = try server(["API_KEY": String(repeating: "x", count: 16)], logs: quiet)
        #expect(!quiet.entries.contains { $0.message.contains("shorter than") })
    }

    @Test func forwardedForFromAnUntrustedPeerIsWarnedAboutOncePerPeer() async throws {
        for (trusted, expected) in [("", 1), ("127.0.0.1", 0)] {
            let logs = CapturedLogs()
            let server = try server(["TRUSTED_PROXIES": trusted, "API_KEY": String(repeating: "k", count: 24)], logs: logs)
            try await server.makeApplication(host: "127.0.0.1", port: 0).test(.live) { client in
                for _ in 0..<3 {
                    try await client.execute(uri: "/health", method: .get, headers: [.xForwardedFor: "203.0.113.7"]) { #expect($0.status == .ok) }
                }
                try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            }
            let warnings = logs.entries.filter { $0.message.hasPrefix("X-Forwarded-For from a peer outside TRUSTED_PROXIES") }
            #expect(warnings.count == expected, "TRUSTED_PROXIES=\(trusted)")
            if expected > 0 { #expect(warnings.first?.metadata["peer"] == "127.0.0.1") }
        }
    }
}
