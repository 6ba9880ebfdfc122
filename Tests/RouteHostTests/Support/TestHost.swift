import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import NIOCore
import JSONSchema
import Logging
import RouteHost

/// Builds hosts from manifests written in the tests.
enum TestHost {
    static let apiKey = "test-key-0123456789"

    static let echoManifest = """
        {
          "version": 1,
          "modules": [
            { "name": "toolkit", "plugin": "toolkit", "prefix": "/v1/toolkit", "routes": [
                { "method": "GET", "path": "/authenticate", "handler": "authenticate" },
                { "method": "GET", "path": "/routes", "handler": "routes" },
                { "method": "POST", "path": "/job/status", "handler": "job_status" },
                { "method": "POST", "path": "/jobs/status", "handler": "jobs_status" }
            ] },
            { "name": "echo", "plugin": "echo", "prefix": "/v1/echo", "config": { "greeting": "${GREETING:-hello}" }, "routes": [
                { "method": "POST", "path": "/say", "handler": "echo", "queue": "webhook",
                  "schema": { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" }, "webhook_url": { "type": "string", "format": "uri" }, "id": { "type": "string" } } } },
                { "method": "POST", "path": "/refuse", "handler": "refuse" },
                { "method": "POST", "path": "/crash", "handler": "crash" },
                { "method": "GET", "path": "/plain", "handler": "plain" },
                { "method": "GET", "path": "/crash-plain", "handler": "crash_plain" },
                { "method": "GET", "path": "/open", "handler": "plain", "auth": false },
                { "method": "POST", "path": "/bytes", "handler": "bytes", "stream": true },
                { "method": "GET", "path": "/slow-bytes", "handler": "slow_bytes", "stream": true },
                { "method": "GET", "path": "/missing", "handler": "not_found" }
            ] }
          ]
        }
        """

    static func environment(_ extra: [String: String] = [:]) -> EnvironmentValues {
        // Webhook receivers in tests are on loopback, which webhooks may reach only when listed.
        var values = [
            "API_KEY": apiKey, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "DISK_FREE_MIN_PERCENT": "0",
            "LOCAL_STORAGE_PATH": FileManager.default.temporaryDirectory.appendingPathComponent("routehost-tests-\(UUID().uuidString)").path,
        ]
        values.merge(extra) { _, new in new }
        return EnvironmentValues(values)
    }

    static func server(manifest: String = echoManifest, environment: [String: String] = [:]) throws -> RouteHostServer {
        let env = self.environment(environment)
        let loaded = try ManifestLoader(environment: env).load(bytes: Array(manifest.utf8), path: "routes.json", baseDirectory: ".")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try RouteHostServer(manifest: loaded, catalog: .withBuiltIns([EchoModule.self]), environment: env, logger: logger)
    }

    static func application(manifest: String = echoManifest, environment: [String: String] = [:]) throws -> some ApplicationProtocol {
        try server(manifest: manifest, environment: environment).makeApplication(host: "127.0.0.1", port: 0)
    }

    static var keyHeader: HTTPFields { [.xAPIKey: apiKey] }

    static func jsonHeaders(key: String? = apiKey) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.xAPIKey] = key }
        return headers
    }
}

extension TestResponse {
    /// The body as JSON; a body that is not JSON reads as a string saying so, which no expectation matches.
    var json: JSONValue {
        (try? JSONParser.parse(Array(body.readableBytesView))) ?? .string("<not JSON: \(String(buffer: body))>")
    }
}

extension String {
    var buffer: ByteBuffer { ByteBuffer(string: self) }
}
