import Foundation
import HummingbirdTesting
import JSONSchema
import RouteHost
import Testing

@Suite struct ToolkitTests {
    @Test func discoveryListsModulesRoutesAndPolicies() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/toolkit/routes", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .ok)
                let modules = try #require(response.json["modules"]?.arrayValue)
                #expect(modules.map { $0["name"] } == ["toolkit", "echo"])
                let echo = modules[1]
                #expect(echo["health"]?["status"] == "healthy")
                let say = try #require(echo["routes"]?.arrayValue?.first { $0["path"] == "/v1/echo/say" })
                #expect(say["method"] == "POST")
                #expect(say["auth"] == true)
                #expect(say["queue"] == "webhook")
                #expect(say["stream"] == false)
                #expect(say["schema"]?["required"] == ["text"])
                let bytes = try #require(echo["routes"]?.arrayValue?.first { $0["path"] == "/v1/echo/bytes" })
                #expect(bytes["stream"] == true)
                let open = try #require(echo["routes"]?.arrayValue?.first { $0["path"] == "/v1/echo/open" })
                #expect(open["auth"] == false)
            }
        }
    }

    @Test func setupTestReportsWritableStorage() async throws {
        let manifest = """
            {"version":1,"modules":[{"name":"toolkit","plugin":"toolkit","prefix":"/v1/toolkit","routes":[
              {"method":"GET","path":"/test","handler":"test"}]}]}
            """
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("routehost-test-\(UUID().uuidString)").path
        try await TestHost.application(manifest: manifest, environment: ["LOCAL_STORAGE_PATH": storage]).test(.router) { client in
            try await client.execute(uri: "/v1/toolkit/test", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .ok)
                let report = try #require(response.json["response"])
                #expect(report["storage"]?["writable"] == true)
                #expect(report["api_keys"] == 1)
                #expect(!String(buffer: response.body).contains(TestHost.apiKey))
            }
        }
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("routehost-file-\(UUID().uuidString)")
        try Data("x".utf8).write(to: blocker)
        try await TestHost.application(manifest: manifest, environment: ["LOCAL_STORAGE_PATH": blocker.path]).test(.router) { client in
            try await client.execute(uri: "/v1/toolkit/test", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .internalServerError)
                #expect(response.json["message"]?.stringValue?.contains("LOCAL_STORAGE_PATH") == true)
            }
        }
    }

    @Test func openAPIDocumentDescribesEveryRoute() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let document = response.json
                #expect(document["openapi"] == "3.1.0")
                #expect(document["components"]?["securitySchemes"]?["ApiKeyAuth"]?["name"] == "X-API-Key")
                let say = try #require(document["paths"]?["/v1/echo/say"]?["post"])
                #expect(say["requestBody"]?["content"]?["application/json"]?["schema"]?["required"] == ["text"])
                #expect(say["responses"]?["202"] != nil)
                #expect(say["security"] != nil)
                let open = try #require(document["paths"]?["/v1/echo/open"]?["get"])
                #expect(open["security"] == nil)
                #expect(document["paths"]?["/v1/echo/bytes"]?["post"]?["responses"]?["200"]?["content"]?["application/octet-stream"] != nil)
                let operationIDs = (document["paths"]?.objectValue?.values ?? []).flatMap { item in
                    (item.objectValue?.values ?? []).compactMap { $0["operationId"]?.stringValue }
                }
                #expect(operationIDs.count == Set(operationIDs).count, "\(operationIDs)")
                #expect(operationIDs.contains("get_v1_echo_open"))
            }
        }
    }
}
