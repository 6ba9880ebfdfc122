import Foundation
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RouteHost
import RouteHostTestSupport
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

    /// A raw connection to the host whose answers a ``ResponseCollector`` gathers.
    func collectingConnection(port: Int) async throws -> (any Channel, ResponseCollector) {
        let collector = ResponseCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).get()
        return (channel, collector)
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
        // Deadlines of 1 s: a busy machine can take a few hundred milliseconds to read a head
        // sent at once, which must not count as a slow client.
        let app = try TestHost.application(environment: ["REQUEST_HEAD_TIMEOUT_SECONDS": "1"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let slow = try await rawConnection(port: port, sending: "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: a")
            let other = try await ConnectionLimitTests().exchange(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(other.hasPrefix("HTTP/1.1 200"))
            #expect(try await closes(slow, within: .seconds(10)))
        }
    }

    @Test func aBusyKeepAliveConnectionOutlivesItsFirstDeadlineThenAStalledHeadIsCut() async throws {
        let app = try TestHost.application(environment: ["REQUEST_HEAD_TIMEOUT_SECONDS": "1"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let (channel, collector) = try await collectingConnection(port: port)
            // Requests keep coming for three head timeouts, 0.3 s apart: each answer moves the
            // deadline on, so the first one passing must not close the connection (and a gap has
            // 0.7 s of slack for a slow machine).
            for sent in 1...10 {
                try await channel.writeAndFlush(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")).get()
                while collector.count("HTTP/1.1 200") < sent, channel.isActive { await Task.yield() }
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(collector.count("HTTP/1.1 200") == 10)
            #expect(channel.isActive)
            try await channel.writeAndFlush(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a")).get()
            #expect(try await closes(channel, within: .seconds(10)))
        }
    }

    /// A request answered before its body was read (here a 401) still times the next head:
    /// once the body has arrived, a stalled head is cut at the head timeout, not the idle one.
    @Test func theHeadDeadlineFollowsAnEarlyAnswer() async throws {
        let app = try TestHost.application(environment: ["REQUEST_HEAD_TIMEOUT_SECONDS": "1", "IDLE_TIMEOUT_SECONDS": "600"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let (channel, collector) = try await collectingConnection(port: port)
            let head = "POST /v1/echo/say HTTP/1.1\r\nHost: x\r\nX-API-Key: wrong\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
            try await channel.writeAndFlush(ByteBuffer(string: head)).get()
            while collector.count("HTTP/1.1 401") < 1, channel.isActive { await Task.yield() }
            #expect(collector.count("HTTP/1.1 401") == 1)
            // The body after the answer, then a head that never ends.
            try await channel.writeAndFlush(ByteBuffer(string: #"{"text":"x"}"# + "GET /health HTTP/1.1\r\nX-Slow: a")).get()
            #expect(try await closes(channel, within: .seconds(10)))
        }
    }

    final class ResponseCollector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let received = NIOLockedValueBox("")
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let chunk = String(buffer: unwrapInboundIn(data))
            received.withLockedValue { $0 += chunk }
        }
        /// Everything received so far.
        var text: String { received.withLockedValue { $0 } }
        /// How many times `needle` occurs in what was received.
        func count(_ needle: String) -> Int {
            received.withLockedValue { $0.components(separatedBy: needle).count - 1 }
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

    @Test func aLongResponseIsNotCutByTheHeadDeadline() async throws {
        let app = try TestHost.application(environment: ["REQUEST_HEAD_TIMEOUT_SECONDS": "1"])
        try await app.test(.live) { client in
            // a raw connection that sends at once (the test client may sit idle past the deadline)
            let request = "GET /v1/echo/slow-bytes HTTP/1.1\r\nHost: x\r\nX-API-Key: \(TestHost.apiKey)\r\nConnection: close\r\n\r\n"
            let answer = try await ConnectionLimitTests().exchange(port: try #require(client.port), request)
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(answer.hasSuffix("0\r\n\r\n"), "the chunked body ends properly")
            #expect(answer.contains("\r\n5\r\n"), "every chunk arrived")
        }
    }

    @Test func aPipelinedRequestBehindALongResponseIsAnswered() async throws {
        let app = try TestHost.application(environment: ["REQUEST_HEAD_TIMEOUT_SECONDS": "1"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let request = "GET /v1/echo/slow-bytes HTTP/1.1\r\nHost: x\r\nX-API-Key: \(TestHost.apiKey)\r\n\r\n"
            let answer = try await ConnectionLimitTests().exchange(port: port, request + request.replacingOccurrences(of: "Host: x", with: "Host: x\r\nConnection: close"))
            #expect(answer.components(separatedBy: "HTTP/1.1 200").count == 3, "\(answer)")
        }
    }

    @Test func aBodyAnnouncedTooLargeIsRefusedBeforeItIsSent() async throws {
        let app = try TestHost.application(environment: ["MAX_BODY_BYTES": "1000"])
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let head = "POST /v1/echo/say HTTP/1.1\r\nHost: x\r\nX-API-Key: \(TestHost.apiKey)\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n"
            let answer = try await ConnectionLimitTests().exchange(port: port, head)
            #expect(answer.hasPrefix("HTTP/1.1 413"))
            #expect(answer.contains("MAX_BODY_BYTES"))
        }
    }
}

/// Inputs the HTTP parser or the connection limits reject, through real sockets.
@Suite struct ConnectionLimitTests {
    /// Sends `request` on a new connection and returns everything the server answers until it closes.
    func exchange(port: Int, _ request: String) async throws -> String {
        let collector = SlowClientTests.ResponseCollector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        try await channel.closeFuture.get()
        return collector.text
    }


    @Test func oversizedHeadersGetJSON431AndTheServerGoesOn() async throws {
        let app = try TestHost.application()
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let huge = String(repeating: "a", count: 100_000)
            let answer = try await exchange(port: port, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: \(huge)\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 431"))
            #expect(answer.lowercased().contains("x-request-id: "))
            #expect(answer.lowercased().contains("x-frame-options: deny"))
            #expect(answer.contains(#"{"message":"Request header fields too large"#))
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func garbageGetsJSON400() async throws {
        let app = try TestHost.application()
        try await app.test(.live) { client in
            let answer = try await exchange(port: try #require(client.port), "NOT HTTP AT ALL\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 400"))
            #expect(answer.contains(#"{"message":"Malformed HTTP request"#))
        }
    }

    @Test func connectionsBeyondTheCapWaitUntilOneCloses() async throws {
        try await LiveHost.withRunning(
            manifest: TestHost.echoManifest, environment: ["MAX_CONNECTIONS": "1"], catalog: .withBuiltIns([EchoModule.self])
        ) { host in
            let holder = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: host.port).get()
            try await holder.writeAndFlush(ByteBuffer(string: "GET /health HTTP/1.1\r\nHost: x\r\n")).get()
            let answered = NIOLockedValueBox(false)
            let waiting = Task {
                let answer = try await exchange(port: host.port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answered.withLockedValue { $0 = true }
                return answer
            }
            // a negative check: nothing to await, so give the host time to (wrongly) answer
            try await Task.sleep(for: .milliseconds(300))
            #expect(answered.withLockedValue { $0 } == false)
            try await holder.close()
            let answer = try await waiting.value
            #expect(answer.hasPrefix("HTTP/1.1 200"))
        }
    }
}
