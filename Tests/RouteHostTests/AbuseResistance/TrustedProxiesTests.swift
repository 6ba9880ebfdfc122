import RouteHost
import Testing

@Suite struct TrustedProxiesTests {
    @Test func forwardedForIsIgnoredFromUntrustedPeers() throws {
        let proxies = try TrustedProxies(parsing: ["10.0.0.0/8"])
        #expect(proxies.clientAddress(peer: "203.0.113.9", forwardedFor: "1.2.3.4") == "203.0.113.9")
    }

    @Test func rightMostUntrustedHopIsTheClient() throws {
        let proxies = try TrustedProxies(parsing: ["10.0.0.0/8", "127.0.0.1", "::1"])
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: "6.6.6.6, 1.2.3.4, 10.9.9.9") == "1.2.3.4")
        #expect(proxies.clientAddress(peer: "::1", forwardedFor: "2001:db8::1") == "2001:db8::1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "garbage") == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: nil) == "127.0.0.1")
    }

    /// Some proxies write a hop with its port; without reading it, every client shared the
    /// proxy's bucket.
    @Test func hopsWithPortsOrBracketsAreTheirAddress() throws {
        let proxies = try TrustedProxies(parsing: ["127.0.0.1"])
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "1.2.3.4:5678") == "1.2.3.4")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "[2001:db8::1]:443") == "2001:db8::1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "[2001:db8::1]") == "2001:db8::1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "5.6.7.8, 127.0.0.1:80") == "5.6.7.8")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "1.2.3.4:http") == "127.0.0.1", "not a port")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: "[2001:db8::1]x") == "127.0.0.1")
    }

    @Test func cidrMatching() throws {
        let proxies = try TrustedProxies(parsing: ["192.168.4.0/22", "2001:db8::/32"])
        #expect(proxies.isTrusted("192.168.7.255"))
        #expect(!proxies.isTrusted("192.168.8.0"))
        #expect(proxies.isTrusted("2001:db8:ffff::1"))
        #expect(!proxies.isTrusted("2001:db9::1"))
        #expect(proxies.isTrusted("::ffff:192.168.5.1"))
        let mapped = try TrustedProxies(parsing: ["::ffff:10.0.0.0/104"])
        #expect(mapped.isTrusted("10.200.0.1") && mapped.isTrusted("::ffff:10.1.2.3"))
        #expect(!mapped.isTrusted("11.0.0.1"))
    }

    @Test func invalidEntriesAreRejectedWithTheVariableName() {
        #expect(throws: EnvironmentError.self) { try TrustedProxies(parsing: ["10.0.0.0/33"]) }
        #expect(throws: EnvironmentError.self) { try TrustedProxies(parsing: ["proxy.local"]) }
        do {
            _ = try TrustedProxies(parsing: ["nope"])
        } catch {
            #expect(error.description.hasPrefix("TRUSTED_PROXIES=nope is not valid"))
        }
    }
}
