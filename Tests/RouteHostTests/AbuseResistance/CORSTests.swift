import HTTPTypes
import HummingbirdTesting
import RouteHost
import Testing

@Suite struct CORSTests {
    let environment = ["ALLOWED_ORIGINS": "https://app.example.com, https://other.example"]

    @Test func preflightFromAnAllowedOrigin() async throws {
        try await TestHost.application(environment: environment).test(.router) { client in
            let headers: HTTPFields = [.origin: "https://app.example.com", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "x-api-key, content-type"]
            try await client.execute(uri: "/v1/echo/say", method: .options, headers: headers) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(response.headers[.accessControlAllowMethods] == "POST")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("X-API-Key") == true)
                #expect(response.headers[.vary] == "Origin")
            }
        }
    }

    @Test func preflightFromAnotherOriginIsRefusedWithoutCORSHeaders() async throws {
        try await TestHost.application(environment: environment).test(.router) { client in
            let headers: HTTPFields = [.origin: "https://evil.example", .accessControlRequestMethod: "POST"]
            try await client.execute(uri: "/v1/echo/say", method: .options, headers: headers) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
                #expect(response.headers[.accessControlAllowMethods] == nil)
            }
        }
    }

    @Test func simpleRequestsGetTheOriginOnlyWhenAllowed() async throws {
        try await TestHost.application(environment: environment).test(.router) { client in
            var headers = TestHost.keyHeader
            headers[.origin] = "https://other.example"
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: headers) { response in
                #expect(response.headers[.accessControlAllowOrigin] == "https://other.example")
                #expect(response.headers[.accessControlExposeHeaders]?.contains("X-Request-Id") == true)
                #expect(response.headers[.vary] == "Origin")
            }
            headers[.origin] = "https://evil.example"
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
            headers[.origin] = "https://other.example"
            headers[.xAPIKey] = "wrong"
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: headers) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.accessControlAllowOrigin] == "https://other.example")
            }
        }
    }

    @Test func noCORSWithoutConfiguredOrigins() async throws {
        try await TestHost.application().test(.router) { client in
            var headers = TestHost.keyHeader
            headers[.origin] = "https://app.example.com"
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: headers) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test func errorAnswersCarryCORSHeadersToo() async throws {
        try await TestHost.application(environment: environment).test(.router) { client in
            var headers = TestHost.jsonHeaders()
            headers[.origin] = "https://app.example.com"
            try await client.execute(uri: "/v1/echo/say", method: .post, headers: headers, body: #"{"text": 5}"#.buffer) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
            }
            try await client.execute(uri: "/v1/nowhere", method: .get, headers: headers) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(response.headers[.vary] == "Origin")
            }
            try await client.execute(uri: "/v1/echo/crash-plain", method: .get, headers: headers) { response in
                #expect(response.status == .internalServerError)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
            }
        }
    }
}
