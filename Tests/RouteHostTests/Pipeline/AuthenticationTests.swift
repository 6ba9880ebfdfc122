import HTTPTypes
import HummingbirdTesting
import JSONSchema
import RouteHost
import Testing

@Suite struct AuthenticationTests {
    @Test func validKeyIsAuthorizedWithTheEnvelope() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/toolkit/authenticate", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .ok)
                let body = response.json
                #expect(body["response"] == "Authorized")
                #expect(body["code"] == 200)
                #expect(body["message"] == "success")
                #expect(body["endpoint"] == "/v1/toolkit/authenticate")
            }
        }
    }

    @Test func headerNameIsCaseInsensitive() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [HTTPField.Name("x-api-KEY")!: TestHost.apiKey]) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test(arguments: [nil, "wrong", "", TestHost.apiKey + "x", String(TestHost.apiKey.dropLast())])
    func wrongOrMissingKeyIsBare401(key: String?) async throws {
        try await TestHost.application().test(.router) { client in
            var headers: HTTPFields = [:]
            if let key { headers[.xAPIKey] = key }
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: headers) { response in
                #expect(response.status == .unauthorized)
                #expect(response.json == ["message": "Unauthorized"])
            }
        }
    }

    @Test func authenticateAnswersTheEnvelopeOnFailure() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/toolkit/authenticate", method: .get, headers: [.xAPIKey: "nope"]) { response in
                #expect(response.status == .unauthorized)
                let body = response.json
                #expect(body["code"] == 401)
                #expect(body["message"] == "Unauthorized")
                #expect(body["response"] == .null)
            }
        }
    }

    @Test func authRunsBeforeTheBodyIsRead() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/say", method: .post, headers: [.contentType: "text/plain"], body: "not json".buffer) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func rotatedKeysAreAllAccepted() async throws {
        let app = try TestHost.application(environment: ["API_KEY": "", "API_KEYS": "old-key, new-key"])
        try await app.test(.router) { client in
            for key in ["old-key", "new-key"] {
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: key]) { response in
                    #expect(response.status == .ok)
                }
            }
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "old-key,new-key"]) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func openRoutesNeedNoKey() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/open", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json["status"] == "healthy")
            }
        }
    }

    @Test func repeatedFailuresFromOneAddressAreThrottled() async throws {
        let app = try TestHost.application(environment: ["AUTH_FAILURE_LIMIT": "3"])
        try await app.test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "guess"]) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "guess"]) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter].flatMap(Int.init) ?? 0 >= 1)
            }
        }
    }

    /// A blocked address learns nothing while it is blocked, not even that a guess was right.
    @Test func aBlockedAddressIsRefusedEvenWithAValidKey() async throws {
        for rateLimit in ["0", "600"] {
            let app = try TestHost.application(environment: ["AUTH_FAILURE_LIMIT": "2", "RATE_LIMIT_PER_MINUTE": rateLimit])
            try await app.test(.router) { client in
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: TestHost.keyHeader) { #expect($0.status == .ok) }
                for _ in 0..<2 {
                    try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "guess"]) { #expect($0.status == .unauthorized) }
                }
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "guess"]) { #expect($0.status == .tooManyRequests) }
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: TestHost.keyHeader) { response in
                    #expect(response.status == .tooManyRequests, "rate limit \(rateLimit)")
                    #expect(response.headers[.retryAfter] != nil)
                }
            }
        }
    }

    @Test func keySetComparesDigests() {
        let keys = APIKeySet(["alpha", "beta"])
        #expect(keys.identify("alpha") != nil)
        #expect(keys.identify("beta") != nil)
        #expect(keys.identify("alpha") != keys.identify("beta"))
        #expect(keys.identify("gamma") == nil)
        #expect(keys.identify("alph") == nil && keys.identify("alpha ") == nil && keys.identify("ALPHA") == nil)
        #expect(keys.identify("beta") == APIKeySet(["beta"]).identify("beta"), "the fingerprint depends on the key only")
        #expect(keys.identify(nil) == nil)
        #expect(APIKeySet([]).identify("") == nil)
        #expect(!"\(keys.identify("alpha")!)".contains("alpha"))
    }

    @Test func generatedKeysAreLongAndDistinct() {
        let first = APIKeySet.generateKey()
        #expect(first.count >= 40)
        #expect(first != APIKeySet.generateKey())
    }
}
