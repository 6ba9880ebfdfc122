import HummingbirdTesting
import JSONSchema
import RouteHost
import Testing

/// Rate limiting through real sockets (the peer is 127.0.0.1).
@Suite struct RateLimitTests {
    @Test func globalLimitIsExactAndAnnounced() async throws {
        let app = try TestHost.application(environment: ["RATE_LIMIT_PER_MINUTE": "3"])
        try await app.test(.live) { client in
            for remaining in ["2", "1", "0"] {
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: TestHost.keyHeader) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.rateLimitLimit] == "3")
                    #expect(response.headers[.rateLimitRemaining] == remaining)
                    #expect(response.headers[.rateLimitReset].flatMap(Int.init) ?? 0 > 0)
                }
            }
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.json == ["message": "Too Many Requests"])
                #expect(response.headers[.retryAfter] == "20")
                #expect(response.headers[.xRequestID] != nil)
            }
            // one bucket per client across all routes
            try await client.execute(uri: "/v1/toolkit/authenticate", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .tooManyRequests)
            }
            // probes are never throttled
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func routeLimitIsASeparateBucket() async throws {
        let manifest = """
            {"version": 1, "modules": [{"name": "echo", "plugin": "echo", "prefix": "/e", "config": {"greeting": "hi"}, "routes": [
              {"method": "GET", "path": "/tight", "handler": "plain", "rate_limit": "2/minute"},
              {"method": "GET", "path": "/loose", "handler": "plain"}]}]}
            """
        let app = try TestHost.application(manifest: manifest, environment: ["RATE_LIMIT_PER_MINUTE": "100"])
        try await app.test(.live) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/e/tight", method: .get, headers: TestHost.keyHeader) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.rateLimitLimit] == "2")
                }
            }
            try await client.execute(uri: "/e/tight", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "30")
            }
            try await client.execute(uri: "/e/loose", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.rateLimitRemaining] == "96")
            }
        }
    }

    @Test func eachKeyHasItsOwnBucket() async throws {
        let app = try TestHost.application(environment: ["API_KEY": "", "API_KEYS": "key-a,key-b", "RATE_LIMIT_PER_MINUTE": "1"])
        try await app.test(.live) { client in
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "key-a"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "key-a"]) { #expect($0.status == .tooManyRequests) }
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: "key-b"]) { #expect($0.status == .ok) }
        }
    }

    @Test func spoofedForwardedForIsIgnoredFromUntrustedPeers() async throws {
        let app = try TestHost.application(environment: ["RATE_LIMIT_PER_MINUTE": "1"])
        try await app.test(.live) { client in
            try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: "198.51.100.1"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: "198.51.100.2"]) { #expect($0.status == .tooManyRequests) }
        }
    }

    @Test func forwardedForIsHonouredFromTrustedProxies() async throws {
        let app = try TestHost.application(environment: ["RATE_LIMIT_PER_MINUTE": "1", "TRUSTED_PROXIES": "127.0.0.0/8,::1"])
        try await app.test(.live) { client in
            try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: "198.51.100.1"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: "198.51.100.2"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: "198.51.100.1"]) { #expect($0.status == .tooManyRequests) }
        }
    }

    @Test func zeroDisablesRateLimiting() async throws {
        let app = try TestHost.application(environment: ["RATE_LIMIT_PER_MINUTE": "0"])
        try await app.test(.router) { client in
            for _ in 0..<5 {
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: TestHost.keyHeader) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.rateLimitLimit] == nil)
                }
            }
        }
    }
}

