import Foundation
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// `MAX_CONNECTIONS_PER_CLIENT`, IPv6 clients counted per /64, the open-file limit.
@Suite struct ClientConnectionLimitTests {
    /// A raw connection from `source` (a loopback address) that sends nothing.
    func idleConnection(port: Int, from source: String = "127.0.0.1") async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(host: "127.0.0.1", port: port).get()
    }

    /// A keep-alive connection on which one `GET /health` has been answered.
    func answeredConnection(port: Int, from source: String) async throws -> any Channel {
        let collector = SlowClientTests.ResponseCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")).get()
        while collector.count("HTTP/1.1 200") < 1, channel.isActive { await Task.yield() }
        return channel
    }

    /// Whether `channel` is closed by the host within `limit` (it is left open otherwise).
    func isClosed(_ channel: any Channel, within limit: Duration) async throws -> Bool {
        let (closed, signal) = AsyncStream.makeStream(of: Void.self)
        channel.closeFuture.whenComplete { _ in
            signal.yield()
            signal.finish()
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in closed { return true }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }

    @Test func aClientPastItsShareIsClosedAtOnceWhileOthersAreServed() async throws {
        let app = try TestHost.application(environment: ["MAX_CONNECTIONS_PER_CLIENT": "3", "IDLE_TIMEOUT_SECONDS": "600"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // A client of its own (the test client's connections come from 127.0.0.1).
            let address = "127.0.0.3"
            var held: [any Channel] = []
            // Each answered once, so the host has counted all three before the fourth arrives.
            for _ in 0..<3 { held.append(try await answeredConnection(port: port, from: address)) }
            let extra = try await idleConnection(port: port, from: address)
            #expect(try await isClosed(extra, within: .seconds(10)), "the fourth connection from one address is closed")
            for channel in held { #expect(channel.isActive, "the three within the share stay open") }

            // Another address is its own client.
            let other = try await idleConnection(port: port, from: "127.0.0.2")
            #expect(try await !isClosed(other, within: .milliseconds(300)))
            try await other.close()

            // A closed connection frees its place.
            try await held.removeFirst().close()
            var admitted = false
            for _ in 0..<50 where !admitted {
                let again = try await idleConnection(port: port, from: address)
                admitted = try await !isClosed(again, within: .milliseconds(200))
                try? await again.close()
            }
            #expect(admitted)
            for channel in held { try await channel.close() }
        }
    }

    @Test func trustedProxiesAreNotCounted() async throws {
        let app = try TestHost.application(environment: [
            "MAX_CONNECTIONS_PER_CLIENT": "2", "TRUSTED_PROXIES": "127.0.0.1", "IDLE_TIMEOUT_SECONDS": "600",
        ])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            var held: [any Channel] = []
            for _ in 0..<4 { held.append(try await idleConnection(port: port)) }
            let last = try #require(held.last)
            #expect(try await !isClosed(last, within: .milliseconds(300)))
            for channel in held { try await channel.close() }
        }
    }

    @Test(arguments: [
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("[2001:db8:1:3::1]", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("192.0.2.7", "192.0.2.7"),
        ("unknown", "unknown"),
    ])
    func ipv6ClientsAreCountedPer64(_ address: String, _ bucket: String) {
        #expect(IPAddress.clientBucket(address) == bucket)
    }

    @Test func rateLimitsCountAnIPv6NetworkAsOneClient() async throws {
        let app = try TestHost.application(environment: ["RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.0/8,::1"])
        try await app.test(.live) { client in
            for hop in ["2001:db8:0:1::1", "2001:db8:0:1::2"] {
                try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: hop]) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: "2001:db8:0:1:ffff::9"]) {
                #expect($0.status == .tooManyRequests, "a third address in the same /64 shares its bucket")
            }
            try await client.execute(uri: "/v1/echo/open", method: .get, headers: [.xForwardedFor: "2001:db8:0:2::1"]) {
                #expect($0.status == .ok, "another /64 is another client")
            }
        }
    }

    @Test func failedLoginsCountAnIPv6NetworkAsOneClient() async throws {
        let app = try TestHost.application(environment: ["AUTH_FAILURE_LIMIT": "2", "RATE_LIMIT_PER_MINUTE": "0", "TRUSTED_PROXIES": "127.0.0.0/8,::1"])
        try await app.test(.live) { client in
            for hop in ["2001:db8:0:1::1", "2001:db8:0:1::2"] {
                try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xForwardedFor: hop, .init("X-API-Key")!: "wrong-key-000000"]) {
                    #expect($0.status == .unauthorized)
                }
            }
            var headers = TestHost.keyHeader
            headers[.xForwardedFor] = "2001:db8:0:1:ffff::9"
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: headers) {
                #expect($0.status == .tooManyRequests, "another address of the same /64 is blocked, its valid key included")
            }
            headers[.xForwardedFor] = "2001:db8:0:2::1"
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: headers) { #expect($0.status == .ok) }
        }
    }

    @Test func anOpenFileLimitTooLowForMaxConnectionsIsRaisedOrReported() throws {
        var limit = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let logs = CapturedLogs()
        let beyond = Int(min(limit.rlim_max, rlim_t(Int32.max / 2))) + 1
        let inForce = FileDescriptorLimit.raise(toServe: beyond, logger: logs.logger())
        #expect(inForce != nil)
        #expect(logs.entries.contains { $0.level == .warning && $0.message.contains("MAX_CONNECTIONS=\(beyond) needs about") && $0.message.contains("ulimit -n") })
        let fine = CapturedLogs()
        FileDescriptorLimit.raise(toServe: 16, logger: fine.logger())
        #expect(fine.entries.isEmpty)
    }
}
