import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// An in-process YouTube downloader service on `127.0.0.1`, port 0, for tests.
///
/// It speaks the downloader's protocol (`GET /healthz`, `GET /`, `POST /v1/media/youtube/info`,
/// `/mp3`, `/mp4`) and misbehaves on request: each ``Route`` has a ``Behavior``. It counts
/// requests per route, keeps their JSON bodies, and records how each stream ended (complete,
/// client closed, dropped, stalled) with the bytes it sent. Media bodies are
/// ``DeterministicBytes`` generated on the fly, so any size costs no memory.
///
/// ```swift
/// try await FakeDownloader.withRunning { fake in
///     fake.set(.failTimes(2, status: 503), for: .mp3)
///     // point the host's YOUTUBE_SERVICE_URL at fake.baseURL ...
///     try await fake.waitUntil { $0.count(.mp3) == 3 }
/// }
/// ```
public final class FakeDownloader: Sendable {
    public enum Route: String, Sendable, CaseIterable {
        case healthz = "/healthz"
        case root = "/"
        case info = "/v1/media/youtube/info"
        case mp3 = "/v1/media/youtube/mp3"
        case mp4 = "/v1/media/youtube/mp4"
    }

    public enum Behavior: Sendable {
        /// Answer as the real service does.
        case normal
        /// Wait before sending the head, then answer normally.
        case slowHead(Duration)
        /// Fail `count` times with `status` (JSON body, optional `Retry-After`), then answer normally.
        case failTimes(Int, status: Int = 500, retryAfter: String? = nil)
        /// Fail every time with `status`.
        case alwaysFail(status: Int = 500, retryAfter: String? = nil)
        /// Answer with `status`, `body` and `contentType` (4xx in JSON or plain text, ...).
        case answer(status: Int, body: String, contentType: String = "application/json", headers: [String: String] = [:])
        /// Send the media head (with `Content-Length` if the media says so), then close.
        case closeAfterHead
        /// Send `bytes` of the media body, then close the connection.
        case dropAfter(bytes: Int)
        /// Send `bytes` of the media body, then send nothing more (until the fake stops).
        case stallAfter(bytes: Int)
        /// A 200 with an empty body, with or without `Content-Length: 0`.
        case emptyBody(contentLength: Bool)
        /// JSON routes (`/healthz`, `/`, `/info`): the normal answer, chunked, in writes of `piece`
        /// bytes with `pause` after each (a slow but steady answer); with `stallAfter`, only that
        /// many bytes, then nothing more (until the fake stops). Media routes answer normally.
        case trickle(piece: Int, pause: Duration, stallAfter: Int? = nil)
        /// Wait until `gate` opens before the head, then answer normally.
        case heldUntil(TestGate)
    }

    /// What the media routes send.
    public struct Media: Sendable {
        public var size: Int
        public var title: String?
        public var duration: String?
        public var contentDisposition: String?
        public var contentType: String?
        /// Whether `Content-Length` is sent (else the body is chunked).
        public var sendsContentLength: Bool
        /// Whether `Range` requests are honoured (only with a known length).
        public var acceptsRanges: Bool
        public var chunkSize: Int
        /// A pause between chunks (a slow but steady upstream).
        public var chunkDelay: Duration?

        public init(
            size: Int = 256 * 1024, title: String? = "Test Video", duration: String? = "212", contentDisposition: String? = nil,
            contentType: String? = nil, sendsContentLength: Bool = true, acceptsRanges: Bool = true,
            chunkSize: Int = 32 * 1024, chunkDelay: Duration? = nil
        ) {
            self.size = size
            self.title = title
            self.duration = duration
            self.contentDisposition = contentDisposition
            self.contentType = contentType
            self.sendsContentLength = sendsContentLength
            self.acceptsRanges = acceptsRanges
            self.chunkSize = min(chunkSize, DeterministicBytes.maxChunk)
            self.chunkDelay = chunkDelay
        }
    }

    /// How one media stream ended, as the fake saw it.
    public struct StreamRecord: Sendable {
        public enum Outcome: String, Sendable {
            case complete, clientClosed, dropped, stalled, closedAfterHead
        }
        public var route: Route
        public var outcome: Outcome
        /// Media bytes sent. For a stream the client closed: those the fake's socket accepted
        /// (``SocketWriteCounter``), not those merely handed to its body writer.
        public var bytesSent: Int
    }

    /// Everything counted so far.
    public struct Stats: Sendable {
        public var requests: [Route: Int] = [:]
        public var bodies: [Route: [JSONValue]] = [:]
        public var headers: [Route: [HTTPFields]] = [:]
        public var streams: [StreamRecord] = []
        /// Requests being answered right now (heads not sent yet included).
        public var inFlight = 0
        /// Connections closed, per media route, after carrying a request of it: seen when the
        /// peer closes, even while the fake waits between chunks (`chunkDelay`).
        public var closedMediaConnections: [Route: Int] = [:]

        public func count(_ route: Route) -> Int { requests[route] ?? 0 }
        public func lastBody(_ route: Route) -> JSONValue? { bodies[route]?.last }
        public func lastHeaders(_ route: Route) -> HTTPFields? { headers[route]?.last }
    }

    private struct State {
        var behaviors: [Route: Behavior] = [:]
        var delays: [Route: Duration] = [:]
        var failuresServed: [Route: Int] = [:]
        var media = Media()
        var stats = Stats()
        /// The socket counter of the latest media stream per route, and its count when it began.
        var liveStreams: [Route: (counter: SocketWriteCounter, before: Int)] = [:]
        var waiters: [(id: Int, predicate: @Sendable (Stats) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter = 0
    }

    public let bytes = DeterministicBytes()
    private let state = NIOLockedValueBox(State())
    private let task = NIOLockedValueBox<Task<Void, any Error>?>(nil)
    private let portBox = NIOLockedValueBox(0)

    /// The port the fake listens on.
    public var port: Int { portBox.withLockedValue { $0 } }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init() {}

    /// Starts a fake, runs `body`, and stops the fake (also when `body` throws).
    ///
    /// - Parameter socketBufferBytes: `SO_SNDBUF` and `SO_RCVBUF` of every connection the fake
    ///   accepts (set on its listening socket, which they inherit); nil: the kernel's autotuning.
    public static func withRunning<T: Sendable>(
        socketBufferBytes: Int? = nil, _ body: (FakeDownloader) async throws -> T
    ) async throws -> T {
        let fake = try await start(socketBufferBytes: socketBufferBytes)
        do {
            let result = try await body(fake)
            await fake.stop()
            return result
        } catch {
            await fake.stop()
            throw error
        }
    }

    /// Starts a fake; call ``stop()`` when done.
    public static func start(socketBufferBytes: Int? = nil) async throws -> FakeDownloader {
        let fake = FakeDownloader()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fake-downloader")
        logger.logLevel = .critical
        let app = Application(
            router: fake.makeRouter(),
            server: .http1(additionalChannelHandlers: [SocketWriteCounter()]),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                if let socketBufferBytes { await SocketBuffers.set(socketBufferBytes, on: channel) }
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await app.run()
        }
        fake.task.withLockedValue { $0 = task }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            _ = await task.result
            throw FakeDownloaderError.couldNotStart
        }
        fake.portBox.withLockedValue { $0 = port }
        return fake
    }

    /// Stops the server; streams in progress (stalled ones too) are cancelled.
    public func stop() async {
        guard let task = task.withLockedValue({ task in defer { task = nil }; return task }) else { return }
        task.cancel()
        _ = await task.result
    }

    // MARK: Settings and counters

    /// Media bytes the fake's socket has accepted so far for the latest stream of `route`.
    public func acceptedBytes(_ route: Route) -> Int {
        guard let live = state.withLockedValue({ $0.liveStreams[route] }) else { return 0 }
        return live.counter.acceptedBytes - live.before
    }

    public func set(_ behavior: Behavior, for routes: Route...) {
        state.withLockedValue { state in
            for route in routes {
                state.behaviors[route] = behavior
                state.failuresServed[route] = 0
            }
        }
    }

    /// Delays every answer of `routes` by `delay` (after counting the request), whatever the behaviour.
    public func setDelay(_ delay: Duration?, for routes: Route...) {
        state.withLockedValue { state in
            for route in routes { state.delays[route] = delay }
        }
    }

    public var media: Media {
        get { state.withLockedValue { $0.media } }
        set { state.withLockedValue { $0.media = newValue } }
    }

    public var stats: Stats { state.withLockedValue { $0.stats } }

    public func count(_ route: Route) -> Int { stats.count(route) }

    /// Waits until `predicate` holds for the stats (checked at every change).
    ///
    /// - Throws: ``FakeDownloaderError/timedOut`` after `timeout`.
    public func waitUntil(timeout: Duration = .seconds(10), _ predicate: @escaping @Sendable (Stats) -> Bool) async throws {
        let satisfied = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    self.state.withLockedValue { state in
                        if predicate(state.stats) {
                            continuation.resume()
                        } else {
                            state.nextWaiter += 1
                            state.waiters.append((state.nextWaiter, predicate, continuation))
                        }
                    }
                }
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            if !first { self.releaseWaiters() }
            return first
        }
        if !satisfied { throw FakeDownloaderError.timedOut(stats) }
    }

    private func releaseWaiters() {
        let waiters = state.withLockedValue { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    private func update(_ change: (inout Stats) -> Void) {
        let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            change(&state.stats)
            let stats = state.stats
            var ready: [CheckedContinuation<Void, Never>] = []
            state.waiters.removeAll { waiter in
                guard waiter.predicate(stats) else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    // MARK: Serving

    private func makeRouter() -> Router<FakeRequestContext> {
        let router = Router(context: FakeRequestContext.self)
        router.get("/healthz") { request, context in try await self.answer(.healthz, request, context) }
        router.get("/") { request, context in try await self.answer(.root, request, context) }
        for route in [Route.info, .mp3, .mp4] {
            router.post(RouterPath(route.rawValue)) { request, context in try await self.answer(route, request, context) }
        }
        return router
    }

    private func answer(_ route: Route, _ request: Request, _ context: FakeRequestContext) async throws -> Response {
        let request = request
        let body = try await request.body.collect(upTo: 1 << 20)
        let json = (try? JSONParser.parse(body.readableBytesView)) ?? .null
        let (behavior, failing, media, delay) = state.withLockedValue { state -> (Behavior, Bool, Media, Duration?) in
            let behavior = state.behaviors[route] ?? .normal
            var failing = false
            if case .failTimes(let count, _, _) = behavior, state.failuresServed[route, default: 0] < count {
                state.failuresServed[route, default: 0] += 1
                failing = true
            }
            return (behavior, failing, state.media, state.delays[route])
        }
        update { stats in
            stats.requests[route, default: 0] += 1
            stats.bodies[route, default: []].append(json)
            stats.headers[route, default: []].append(request.headers)
            stats.inFlight += 1
        }
        defer { update { $0.inFlight -= 1 } }
        if let delay { try await Task.sleep(for: delay) }
        switch behavior {
        case .failTimes(_, let status, let retryAfter) where failing:
            return failure(route, status: status, retryAfter: retryAfter)
        case .alwaysFail(let status, let retryAfter):
            return failure(route, status: status, retryAfter: retryAfter)
        case .answer(let status, let text, let contentType, let extra):
            var headers: HTTPFields = [.contentType: contentType]
            for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        case .slowHead(let delay):
            try await Task.sleep(for: delay)
        case .heldUntil(let gate):
            await gate.wait()
        default:
            break
        }
        switch route {
        case .healthz:
            return jsonResponse(behavior: behavior, ["status": "healthy", "service": "youtube-downloader", "version": "1.0.0", "uptime": 12.5,
                                 "timestamp": .string(Date().formatted(.iso8601))])
        case .root:
            return jsonResponse(behavior: behavior, ["service": "youtube-downloader", "version": "1.0.0",
                                 "endpoints": ["/healthz", "/v1/media/youtube/info", "/v1/media/youtube/mp3", "/v1/media/youtube/mp4"]])
        case .info:
            let url = json["url"]?.stringValue ?? ""
            let id = url.components(separatedBy: "v=").last ?? ""
            return jsonResponse(behavior: behavior, [
                "success": true,
                "data": [
                    "videoId": .string(id), "title": .string(media.title ?? "Test Video"), "description": "A video",
                    "lengthSeconds": "212", "viewCount": "1000",
                    "author": ["name": "Someone", "channelUrl": "https://www.youtube.com/@someone"],
                    "uploadDate": "2024-01-01", "thumbnails": [["url": "https://i.ytimg.com/vi/x/default.jpg", "width": 120, "height": 90]],
                    "isLiveContent": false,
                    "formats": ["audioFormats": [["itag": 140, "mimeType": "audio/mp4"]], "videoFormats": [["itag": 18, "mimeType": "video/mp4"]]],
                ],
                "timestamp": .string(Date().formatted(.iso8601)),
                "cache": ["hit": false, "age": 0],
            ])
        case .mp3, .mp4:
            let counter = try? await context.channel.pipeline.handler(type: SocketWriteCounter.self).get()
            context.channel.closeFuture.whenComplete { _ in self.update { $0.closedMediaConnections[route, default: 0] += 1 } }
            return mediaResponse(route, request: request, behavior: behavior, media: media, counter: counter)
        }
    }

    private func failure(_ route: Route, status: Int, retryAfter: String?) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = retryAfter }
        let body: JSONValue = route == .healthz
            ? ["status": "unhealthy", "service": "youtube-downloader"]
            : ["success": false, "error": "Simulated failure", "message": .string("HTTP \(status) from the fake"), "stack": "at secret.js:1"]
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
    }

    private func jsonResponse(behavior: Behavior = .normal, _ body: JSONValue) -> Response {
        let bytes = body.serialized()
        guard case .trickle(let piece, let pause, let stallAfter) = behavior else {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let limit = min(stallAfter ?? bytes.count, bytes.count)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
            var sent = 0
            while sent < limit {
                let size = min(max(piece, 1), limit - sent)
                try await writer.write(ByteBuffer(bytes: bytes[sent..<sent + size]))
                sent += size
                try await Task.sleep(for: pause)
            }
            if sent < bytes.count {
                try await Task.sleep(for: .seconds(3600))
                throw FakeDownloaderError.simulated
            }
            try await writer.finish(nil)
        })
    }

    private func mediaResponse(_ route: Route, request: Request, behavior: Behavior, media: Media, counter: SocketWriteCounter?) -> Response {
        var headers: HTTPFields = [.contentType: media.contentType ?? (route == .mp3 ? "audio/mpeg" : "video/mp4")]
        if let title = media.title { headers[HTTPField.Name("X-Video-Title")!] = title }
        if let duration = media.duration { headers[HTTPField.Name("X-Video-Duration")!] = duration }
        if let disposition = media.contentDisposition { headers[.contentDisposition] = disposition }
        if case .emptyBody(let contentLength) = behavior {
            if contentLength { headers[.contentLength] = "0" }
            return Response(status: .ok, headers: headers, body: contentLength ? ResponseBody() : ResponseBody { writer in
                try await writer.finish(nil)
            })
        }
        var start = 0
        var length = media.size
        var status = HTTPResponse.Status.ok
        if media.sendsContentLength && media.acceptsRanges {
            headers[.acceptRanges] = "bytes"
            if let range = request.headers[.range] {
                guard let (first, last) = Self.parseRange(range, size: media.size) else {
                    headers[.contentRange] = "bytes */\(media.size)"
                    return Response(status: .rangeNotSatisfiable, headers: headers, body: .init())
                }
                start = first
                length = last - first + 1
                status = .partialContent
                headers[.contentRange] = "bytes \(first)-\(last)/\(media.size)"
            }
        }
        let contentLength = media.sendsContentLength ? length : nil
        let limit: Int
        let ending: StreamRecord.Outcome
        switch behavior {
        case .closeAfterHead: (limit, ending) = (0, .closedAfterHead)
        case .dropAfter(let bytes): (limit, ending) = (min(bytes, length), .dropped)
        case .stallAfter(let bytes): (limit, ending) = (min(bytes, length), .stalled)
        default: (limit, ending) = (length, .complete)
        }
        let generator = bytes
        let offset = start
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: contentLength) { writer in
            var sent = 0
            let acceptedBefore = counter?.acceptedBytes ?? 0
            if let counter { self.state.withLockedValue { $0.liveStreams[route] = (counter, acceptedBefore) } }
            do {
                while sent < limit {
                    let size = min(media.chunkSize, limit - sent)
                    try await writer.write(generator.chunk(at: offset + sent, length: size))
                    sent += size
                    if let delay = media.chunkDelay { try await Task.sleep(for: delay) }
                }
            } catch {
                // The writer fails once the connection is closed, when every write still pending has
                // failed too: the counter holds what reached the socket.
                let accepted = counter.map { $0.acceptedBytes - acceptedBefore } ?? sent
                self.update { $0.streams.append(StreamRecord(route: route, outcome: .clientClosed, bytesSent: accepted)) }
                throw error
            }
            self.update { $0.streams.append(StreamRecord(route: route, outcome: ending, bytesSent: sent)) }
            switch ending {
            case .complete:
                try await writer.finish(nil)
            case .stalled:
                try await Task.sleep(for: .seconds(3600))
                throw FakeDownloaderError.simulated
            default:
                throw FakeDownloaderError.simulated
            }
        })
    }

    /// `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range) → inclusive bounds, nil when unsatisfiable.
    static func parseRange(_ value: String, size: Int) -> (Int, Int)? {
        guard value.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = value.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0 else { return nil }
            return (max(0, size - suffix), size - 1)
        }
        guard let start = Int(first), start < size else { return nil }
        let end = last.isEmpty ? size - 1 : min(Int(last) ?? -1, size - 1)
        return end >= start ? (start, end) : nil
    }
}

public enum FakeDownloaderError: Error, CustomStringConvertible {
    case couldNotStart
    case timedOut(FakeDownloader.Stats)
    case simulated

    public var description: String {
        switch self {
        case .couldNotStart: "the fake downloader did not start"
        case .timedOut(let stats): "timed out waiting; requests: \(stats.requests), streams: \(stats.streams)"
        case .simulated: "simulated failure"
        }
    }
}
