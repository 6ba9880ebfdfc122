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
                // 20 s until the next token, less the time these requests took (seconds, rounded up).
                #expect((18...20).contains(response.headers[.retryAfter].flatMap { Int($0) } ?? 0), "\(response.headers[.retryAfter] ?? "none")")
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
        // The global bucket holds 100 and refills one a minute, so its count cannot move during the test.
        let app = try TestHost.application(manifest: manifest, environment: ["RATE_LIMIT_PER_MINUTE": "1", "RATE_LIMIT_BURST": "100"])
        try await app.test(.live) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/e/tight", method: .get, headers: TestHost.keyHeader) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.rateLimitLimit] == "2")
                }
            }
            try await client.execute(uri: "/e/tight", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .tooManyRequests)
                #expect((28...30).contains(response.headers[.retryAfter].flatMap { Int($0) } ?? 0), "\(response.headers[.retryAfter] ?? "none")")
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

    @Test func errorAnswersOfLimitedRoutesCarryTheHeaders() async throws {
        let app = try TestHost.application(environment: ["RATE_LIMIT_PER_MINUTE": "5"])
        try await app.test(.live) { client in
            try await client.execute(uri: "/v1/echo/say", method: .post, headers: TestHost.jsonHeaders(), body: #"{"text": 5}"#.buffer) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.rateLimitRemaining] == "4")
            }
            try await client.execute(uri: "/v1/echo/crash-plain", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .internalServerError)
                #expect(response.headers[.rateLimitRemaining] == "3")
            }
        }
    }

    @Test func theBucketRefillsWithTime() async throws {
        let manifest = """
            {"version": 1, "modules": [{"name": "echo", "plugin": "echo", "prefix": "/e", "config": {"greeting": "hi"}, "routes": [
              {"method": "GET", "path": "/p", "handler": "plain", "rate_limit": "2/second"}]}]}
            """
        let app = try TestHost.application(manifest: manifest, environment: ["RATE_LIMIT_PER_MINUTE": "0"])
        try await app.test(.live) { client in
            // a loaded machine may refill a token between requests, so count until the first refusal
            var allowed = 0
            var refusal: TestResponse?
            while refusal == nil && allowed < 10 {
                let response = try await client.execute(uri: "/e/p", method: .get, headers: TestHost.keyHeader)
                if response.status == .ok { allowed += 1 } else { refusal = response }
            }
            #expect(allowed >= 2 && allowed < 10)
            #expect(refusal?.status == .tooManyRequests)
            #expect(refusal?.headers[.retryAfter] == "1")
            // the behaviour under test is the passing of time: 0.6 s refills at least one token
            try await Task.sleep(for: .milliseconds(600))
            try await client.execute(uri: "/e/p", method: .get, headers: TestHost.keyHeader) { #expect($0.status == .ok) }
        }
    }
}
