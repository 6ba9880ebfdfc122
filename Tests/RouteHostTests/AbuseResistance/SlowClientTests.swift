import HummingbirdTesting
import NIOCore
import NIOPosix
import RouteHost
import Testing

/// Slow and idle clients through real sockets.
@Suite struct SlowClientTests {
    /// Opens a raw connection to the host and sends `bytes`, nothing more.
    func rawConnection(port: Int, sending bytes: String) async throws -> any Channel {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: bytes)).get()
        return channel
    }

    /// Whether `channel` is closed by the other side within `limit`.
    func closes(_ channel: any Channel, within limit: Duration) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await channel.closeFuture.get()
                return true
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return false
            }
            let first = try await group.next()!
            group.cancelAll()
            if !first { try? await channel.close() }
            return first
        }
    }

    @Test func slowLorisIsDisconnectedWhileOthersAreServed() async throws {
        let app = try TestHost.application(environment: ["REQUEST_HEAD_TIMEOUT_SECONDS": "0.3"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let slow = try await rawConnection(port: port, sending: "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: a")
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
            #expect(try await closes(slow, within: .seconds(10)))
        }
    }

    @Test func slowBodyIsDisconnected() async throws {
        let app = try TestHost.application(environment: ["REQUEST_BODY_TIMEOUT_SECONDS": "0.3"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let head = "POST /v1/echo/say HTTP/1.1\r\nHost: localhost\r\nX-API-Key: \(TestHost.apiKey)\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\":"
            let slow = try await rawConnection(port: port, sending: head)
            #expect(try await closes(slow, within: .seconds(10)))
        }
    }

    @Test func aConnectionWaitingBetweenRequestsIsNotCutEarly() async throws {
        let app = try TestHost.application(environment: ["REQUEST_HEAD_TIMEOUT_SECONDS": "5"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let connection = try await rawConnection(port: port, sending: "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try await !closes(connection, within: .milliseconds(300)))
        }
    }
}
