import Foundation
import HTTPTypes
import HummingbirdTesting
import RouteHost
import Testing

/// `/docs` over real sockets, with stand-in files for Swagger UI (the real ones are fetched by
/// scripts/setup; the browser test in scripts/check-docs drives them).
@Suite struct APIDocsPageTests {
    static let policy = "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    func assetsFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("routehost-docs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"] {
            try "/* \(name) */".write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        }
        return folder
    }

    @Test func thePageAndItsFilesAreServedWithTheirOwnPolicyAndNoKey() async throws {
        let folder = try assetsFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let app = try TestHost.application(environment: ["DOCS_ASSETS_PATH": folder])
        try await app.test(.live) { client in
            try await client.execute(uri: "/docs", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy] == Self.policy)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                let html = String(buffer: response.body)
                #expect(html.contains(#"<script src="/docs/swagger-ui-bundle.js"></script>"#))
                #expect(html.contains(#"<script src="/docs/init.js"></script>"#))
                #expect(!html.contains("<script>"), "no inline script: the policy allows 'self' only")
            }
            try await client.execute(uri: "/docs/init.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#"url: "/openapi.json""#))
                #expect(response.headers[.contentSecurityPolicy] == Self.policy)
            }
            try await client.execute(uri: "/docs/swagger-ui.css", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
                #expect(String(buffer: response.body) == "/* swagger-ui.css */")
            }
            try await client.execute(uri: "/docs/swagger-ui-bundle.js", method: .get) { response in
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
            }
            for path in ["/docs/index.html", "/docs/..%2F..%2Fetc%2Fpasswd", "/docs/LICENSE"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path)")
                    #expect(response.headers[.contentType] == "application/json")
                }
            }
            // The API the page calls is still behind the key.
            try await client.execute(uri: "/v1/toolkit/authenticate", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func withoutTheFilesThePageSaysHowToGetThem() async throws {
        let app = try TestHost.application(environment: ["DOCS_ASSETS_PATH": "/nonexistent/swagger-ui"])
        try await app.test(.live) { client in
            try await client.execute(uri: "/docs", method: .get) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(html.contains("scripts/setup") && html.contains("DOCS_ASSETS_PATH"))
                #expect(html.contains(#"<a href="/openapi.json">"#))
            }
            try await client.execute(uri: "/docs/swagger-ui.css", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
