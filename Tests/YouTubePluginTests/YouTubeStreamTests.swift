import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import RouteHost
import RouteHostTestSupport
import Testing
import YouTubePlugin

extension LiveYouTubeTests {
    /// Streaming over real sockets: headers, Range, disconnects, failures after the head.
    @Suite struct StreamTests {
        @Test func relaysTheBodyWithItsHeaders() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.media = .init(size: 300_000, title: "Never Gonna Give You Up", duration: "212")
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "content-type") == "audio/mpeg")
                #expect(response.headers.first(name: "content-length") == "300000")
                #expect(response.headers.first(name: "x-video-title") == "Never Gonna Give You Up")
                #expect(response.headers.first(name: "x-video-duration") == "212")
                #expect(response.headers.first(name: "accept-ranges") == "bytes")
                #expect(response.headers.first(name: "content-disposition")
                    == "attachment; filename=\"Never Gonna Give You Up.mp3\"; filename*=UTF-8''Never%20Gonna%20Give%20You%20Up.mp3")
                #expect(response.headers.first(name: "x-request-id") != nil)
                let (verifier, error) = await YouTubeHarness.consume(response)
                #expect(error == nil)
                #expect(verifier.count == 300_000 && verifier.isExact)
            }
        }

        @Test func chunkedUpstreamsStayChunked() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.media = .init(size: 200_000, sendsContentLength: false)
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "content-length") == nil)
                #expect(response.headers.first(name: "content-type") == "video/mp4")
                let (verifier, error) = await YouTubeHarness.consume(response)
                #expect(error == nil)
                #expect(verifier.count == 200_000 && verifier.isExact)
            }
        }

        @Test func nonASCIITitlesGetSafeFileNames() async throws {
            try await YouTubeHarness.run { host, fake in
                let title = "日本語 \"Live\", 🎵 naïve\\path"
                fake.media = .init(size: 10, title: title)
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                let disposition = try #require(response.headers.first(name: "content-disposition"))
                #expect(disposition.unicodeScalars.allSatisfy { $0.isASCII })
                #expect(ContentDisposition.filename(in: disposition) == "日本語 \"Live\", 🎵 naïve_path.mp3")
                #expect(disposition.hasPrefix("attachment; filename=\"_ 'Live', _ naive_path.mp3\"; filename*=UTF-8''"))
                let forwarded = try #require(response.headers.first(name: "x-video-title"))
                #expect(forwarded.removingPercentEncoding == title)
                _ = await YouTubeHarness.consume(response)

                fake.media = .init(size: 10, title: "ignored", contentDisposition: "attachment; filename*=UTF-8''%E6%9D%B1%E4%BA%AC.m4a")
                let named = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(named.headers.first(name: "content-disposition") == "attachment; filename=\"dQw4w9WgXcQ.m4a\"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC.m4a")
                _ = await YouTubeHarness.consume(named)

                fake.media = .init(size: 10, title: nil)
                let untitled = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(untitled.headers.first(name: "content-disposition") == "attachment; filename=\"dQw4w9WgXcQ.mp4\"; filename*=UTF-8''dQw4w9WgXcQ.mp4")
                _ = await YouTubeHarness.consume(untitled)
            }
        }

        @Test func rangeRequestsAreForwardedAndPartialContentRelayed() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.media = .init(size: 1_000_000)
                let response = try await YouTubeHarness.stream(
                    host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body(), headers: [.range: "bytes=1000-200999"])
                #expect(response.status == .partialContent)
                #expect(response.headers.first(name: "content-range") == "bytes 1000-200999/1000000")
                #expect(response.headers.first(name: "content-length") == "200000")
                let (verifier, error) = await YouTubeHarness.consume(response, from: 1000)
                #expect(error == nil)
                #expect(verifier.count == 201_000 && verifier.isExact)
                #expect(fake.stats.lastHeaders(.mp4)?[.range] == "bytes=1000-200999")

                let unsatisfiable = try await host.request(.post, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body(), headers: [.range: "bytes=5000000-"])
                #expect(unsatisfiable.status == 416)
                #expect(unsatisfiable.headers[.contentRange] == "bytes */1000000")
                #expect(unsatisfiable.json?["error"] != nil)
            }
        }

        @Test func anEmptyBodyIsRelayedOnlyWithContentLengthZero() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.set(.emptyBody(contentLength: true), for: .mp3)
                let empty = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(empty.status == .ok)
                #expect(empty.headers.first(name: "content-length") == "0")
                let (verifier, error) = await YouTubeHarness.consume(empty)
                #expect(error == nil && verifier.count == 0)

                fake.set(.emptyBody(contentLength: false), for: .mp3)
                let broken = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                let (_, brokenError) = await YouTubeHarness.consume(broken)
                #expect(brokenError != nil, "a chunked empty body must not look like a complete answer")
            }
        }

        @Test(arguments: [true, false])
        func aDropAfterTheHeadIsAnIncompleteTransferAndNotRetried(contentLength: Bool) async throws {
            try await YouTubeHarness.run { host, fake in
                fake.media = .init(size: 1_000_000, sendsContentLength: contentLength)
                fake.set(.dropAfter(bytes: 100_000), for: .mp3)
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(response.status == .ok)
                let (verifier, error) = await YouTubeHarness.consume(response)
                #expect(error != nil, "the client must see an incomplete transfer")
                #expect(verifier.count <= 100_000 && verifier.isExact)
                #expect(fake.count(.mp3) == 1)

                fake.set(.closeAfterHead, for: .mp3)
                let closed = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                let (_, closedError) = await YouTubeHarness.consume(closed)
                #expect(closedError != nil)
                #expect(fake.count(.mp3) == 2)
            }
        }

        @Test(arguments: [true, false])
        func aStallAfterTheHeadEndsAfterTheIdleTimeout(contentLength: Bool) async throws {
            try await YouTubeHarness.run(["YOUTUBE_STREAM_IDLE_TIMEOUT": "0.3"]) { host, fake in
                fake.media = .init(size: 1_000_000, sendsContentLength: contentLength)
                fake.set(.stallAfter(bytes: 50_000), for: .mp4)
                let started = ContinuousClock.now
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                let (verifier, error) = await YouTubeHarness.consume(response)
                let elapsed = ContinuousClock.now - started
                #expect(error != nil)
                #expect(verifier.count == 50_000 && verifier.isExact)
                #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(3))
            }
        }

        @Test func aSlowButSteadyUpstreamIsNotKilled() async throws {
            // 30 chunks 100 ms apart: three idle limits in all, with gaps a tenth of one.
            try await YouTubeHarness.run(["YOUTUBE_STREAM_IDLE_TIMEOUT": "1"]) { host, fake in
                fake.media = .init(size: 30 * 1000, chunkSize: 1000, chunkDelay: .milliseconds(100))
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                let (verifier, error) = await YouTubeHarness.consume(response)
                #expect(error == nil)
                #expect(verifier.count == 30_000 && verifier.isExact)
            }
        }

        @Test func aSlowClientIsNotMistakenForAStalledUpstream() async throws {
            // The client pauses for three idle limits; the upstream is fast, so no wait for it nears one.
            try await YouTubeHarness.run(["YOUTUBE_STREAM_IDLE_TIMEOUT": "1"]) { host, fake in
                fake.media = .init(size: 8 << 20)
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                var verifier = DeterministicBytes.Verifier()
                var paused = false
                for try await chunk in response.body {
                    verifier.feed(chunk)
                    if !paused && verifier.count > 1 << 20 {
                        paused = true
                        try await Task.sleep(for: .seconds(3))
                    }
                }
                #expect(verifier.count == 8 << 20 && verifier.isExact)
            }
        }

        /// Backpressure reaches the upstream: while the client reads nothing, the fake's socket
        /// accepts no more than the buffers on the way hold (fixed, as in the disconnect test), so
        /// memory stays constant whatever the size. The second of pause is a chance for a broken
        /// relay to read on; the bound does not depend on it.
        @Test func aPausedClientPausesTheUpstreamInConstantMemory() async throws {
            let buffer = 64 << 10
            let settings = ["YOUTUBE_STREAM_IDLE_TIMEOUT": "30", "YOUTUBE_RECEIVE_BUFFER_BYTES": String(buffer)]
            try await YouTubeHarness.run(settings, socketBufferBytes: buffer) { host, fake in
                fake.media = .init(size: 4 << 30, chunkSize: DeterministicBytes.maxChunk)
                let before = Self.residentBytes()
                let client = try await PausingClient.start(
                    port: host.port, request: DisconnectingClient.post("/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body(), apiKey: host.apiKey),
                    pauseAfter: 1 << 20, receiveBuffer: buffer)
                await client.paused()
                try await Task.sleep(for: .seconds(1))
                let received = client.received
                let accepted = fake.acceptedBytes(.mp4)
                let inSockets = 4 * SocketBuffers.capacity(ofSetting: buffer)
                // One more upstream read: on a loaded machine the channel's event loop can lag
                // behind the body writer for a read (``StreamRelay/heldBytesLimit``'s caveat).
                let lag = UpstreamClient.largestRead
                let bound = received + inSockets + StreamRelay.heldBytesLimit + 2 * (64 << 10) + DeterministicBytes.maxChunk + lag
                print("paused client: upstream sent \(accepted) bytes for \(received) read (bound \(bound)); resident memory grew by \((Self.residentBytes() - before) >> 20) MiB")
                #expect(accepted <= bound, "the upstream must be held back")
                #expect(fake.stats.streams.isEmpty, "and not finished")
                try await client.resume(until: received + (4 << 20))
                #expect(fake.acceptedBytes(.mp4) > accepted, "and the stream resumes")
                await client.close()
            }
        }

        /// This process's resident memory (Linux), 0 elsewhere.
        static func residentBytes() -> Int {
            guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
            let fields = text.split(separator: " ")
            return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
        }

        /// The upstream stops as soon as the client's connection closes, not at a later write: what
        /// it sent beyond the client's last read is bounded by buffers alone. Every socket on the
        /// path has a fixed buffer (the test client's, the host's two, the fake's), so the bound
        /// holds whatever the speed of the machine; without cancellation all 4 GiB flow.
        @Test func aClientDisconnectCancelsTheUpstreamRequest() async throws {
            let buffer = 64 << 10
            let settings = ["YOUTUBE_RECEIVE_BUFFER_BYTES": String(buffer)]
            try await YouTubeHarness.run(settings, socketBufferBytes: buffer) { host, fake in
                fake.media = .init(size: 4 << 30)
                let reading = try await DisconnectingClient.read(
                    port: host.port, request: DisconnectingClient.post("/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body(), apiKey: host.apiKey),
                    limit: 1 << 20, receiveBuffer: buffer)
                #expect(reading.head.hasPrefix("HTTP/1.1 200"), "\(reading.head.prefix(200))")
                try await fake.waitUntil(timeout: .seconds(30)) { $0.streams.contains { $0.route == .mp4 } }
                let record = try #require(fake.stats.streams.first { $0.route == .mp4 })
                #expect(record.outcome == .clientClosed)
                // Sockets: the test client's receive buffer, the host's send buffer to it, the host's
                // receive buffer from the fake, the fake's send buffer. Then what the relay holds, and
                // each server's write buffer (NIO's high watermark) with the fake's chunk in hand.
                let inSockets = 4 * SocketBuffers.capacity(ofSetting: buffer)
                let inWriteBuffers = 2 * (64 << 10) + fake.media.chunkSize
                let bound = reading.received + inSockets + StreamRelay.heldBytesLimit + inWriteBuffers
                print("disconnect: upstream stopped after \(record.bytesSent) bytes (client read \(reading.received), bound \(bound))")
                #expect(record.bytesSent <= bound, "the upstream sent \(record.bytesSent) bytes, more than the buffers hold (\(bound))")
            }
        }

        /// A client that leaves while the upstream is silent is noticed by its connection closing,
        /// not by a write: there is nothing to write. Without that, the upstream request would stay
        /// open until the read-idle timeout (here 10 minutes).
        @Test func aClientLeavingASilentStreamCancelsTheUpstreamAtOnce() async throws {
            try await YouTubeHarness.run(["YOUTUBE_STREAM_IDLE_TIMEOUT": "600"]) { host, fake in
                fake.media = .init(size: 1 << 20, chunkSize: 16 << 10, chunkDelay: .seconds(3600))
                let reading = try await DisconnectingClient.read(
                    port: host.port, request: DisconnectingClient.post("/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body(), apiKey: host.apiKey),
                    limit: 16 << 10, receiveBuffer: 64 << 10)
                #expect(reading.head.hasPrefix("HTTP/1.1 200"), "\(reading.head.prefix(200))")
                try await fake.waitUntil(timeout: .seconds(30)) { $0.closedMediaConnections[.mp3, default: 0] == 1 }
            }
        }

        @Test func aLargeStreamIsRelayedByteExact() async throws {
            let size = ProcessInfo.processInfo.environment["ROUTEHOST_LARGE_STREAM_BYTES"].flatMap { Int($0) } ?? 1 << 30
            try await YouTubeHarness.run { host, fake in
                fake.media = .init(size: size, chunkSize: DeterministicBytes.maxChunk)
                let started = ContinuousClock.now
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(response.headers.first(name: "content-length") == String(size))
                let (verifier, error) = await YouTubeHarness.consume(response)
                let seconds = (ContinuousClock.now - started).secondsValue
                #expect(error == nil)
                #expect(verifier.count == size)
                #expect(verifier.isExact, "first difference at byte \(verifier.firstMismatch ?? -1)")
                print("large stream: \(size) bytes in \(String(format: "%.2f", seconds)) s = \(String(format: "%.1f", Double(size) / seconds / 1_048_576)) MiB/s")
            }
        }
    }
}
