import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A fast fake of the YouTube downloader service, for the benchmarks (`Benchmarks/run.sh`).
///
/// Everything is answered from memory so that the fake is never the bottleneck: the `info`
/// answer is serialized once at startup, and media bodies are slices of one preallocated
/// buffer (no copy, no generation per request).
///
/// ```
/// fake-downloader --port 0 --media-size 1073741824
/// fake-downloader listening on 127.0.0.1:41234
/// ```
///
/// Routes:
/// - `GET /healthz`, `GET /`: the downloader's health and service info.
/// - `POST /v1/media/youtube/info`: a realistic info answer (about 3 KB).
/// - `POST /v1/media/youtube/mp4`, `/mp3`: `size` bytes with `Content-Length`; `size` is the
///   query parameter `?size=N` when given, else the current default (`--media-size`, changed
///   with `POST /_bench/media?size=N`).
/// - `POST /webhook`: a webhook receiver; counts deliveries (and those whose envelope says
///   `"code":200`).
/// - `GET /_bench/stats`: the counters as JSON; `POST /_bench/reset` zeroes them.
///
/// Caveat: it binds only to 127.0.0.1 and answers every media request the same bytes.
@main
struct FakeDownloaderCommand {
    static func main() async throws {
        var port = 3001
        var mediaSize = 128 << 20
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--port": port = Int(arguments.next() ?? "") ?? port
            case "--media-size": mediaSize = Int(arguments.next() ?? "") ?? mediaSize
            default:
                FileHandle.standardError.write(Data("usage: fake-downloader [--port N] [--media-size BYTES]\n".utf8))
                exit(2)
            }
        }
        let state = FakeState(mediaSize: mediaSize)
        var logger = Logger(label: "fake-downloader")
        logger.logLevel = .error
        let app = Application(
            router: makeRouter(state),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                FileHandle.standardOutput.write(Data("fake-downloader listening on 127.0.0.1:\(bound)\n".utf8))
            },
            logger: logger)
        try await app.runService()
    }
}

final class FakeState: Sendable {
    let mediaSize: Atomic<Int>
    let info = Atomic<Int>(0)
    let media = Atomic<Int>(0)
    let mediaBytes = Atomic<Int>(0)
    let healthz = Atomic<Int>(0)
    let webhooks = Atomic<Int>(0)
    let webhooksOK = Atomic<Int>(0)
    let started = Date()
    /// One megabyte of pseudo-random bytes; media bodies are slices of it.
    let chunk: ByteBuffer
    let infoBody: ByteBuffer

    init(mediaSize: Int) {
        self.mediaSize = Atomic(mediaSize)
        var generator = SplitMix64(seed: 0x5EED)
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in words.indices { words[index] = generator.next() }
        }
        chunk = ByteBuffer(bytes: bytes)
        infoBody = ByteBuffer(string: FakeState.infoJSON())
    }

    func statsJSON() -> String {
        """
        {"info":\(info.load(ordering: .relaxed)),"media":\(media.load(ordering: .relaxed)),\
        "media_bytes":\(mediaBytes.load(ordering: .relaxed)),"healthz":\(healthz.load(ordering: .relaxed)),\
        "webhooks":\(webhooks.load(ordering: .relaxed)),"webhooks_ok":\(webhooksOK.load(ordering: .relaxed)),\
        "media_size":\(mediaSize.load(ordering: .relaxed))}
        """
    }

    func reset() {
        info.store(0, ordering: .relaxed)
        media.store(0, ordering: .relaxed)
        mediaBytes.store(0, ordering: .relaxed)
        healthz.store(0, ordering: .relaxed)
        webhooks.store(0, ordering: .relaxed)
        webhooksOK.store(0, ordering: .relaxed)
    }

    /// An info answer shaped like the real service's (formats, thumbnails, long media URLs).
    static func infoJSON() -> String {
        func format(_ itag: Int, _ mime: String, _ quality: String, _ bitrate: Int, _ length: Int, video: Bool) -> String {
            let url = "https://rr3---sn-4g5e6nsz.googlevideo.com/videoplayback?expire=1764100000&ei=AbCdEfGhIjKlMnOp&ip=203.0.113.7&id=o-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop&itag=\(itag)&source=youtube&requiressl=yes&mime=\(mime.replacingOccurrences(of: "/", with: "%2F"))&gir=yes&clen=\(length)&dur=212.091&lmt=1700000000000000&keepalive=yes&c=WEB&sig=AOq0QJ8wRQIhAKbench"
            var fields = "\"itag\":\(itag),\"mimeType\":\"\(mime); codecs=\\\"\(video ? "avc1.640028" : "mp4a.40.2")\\\"\",\"bitrate\":\(bitrate),\"contentLength\":\"\(length)\",\"url\":\"\(url)\",\"approxDurationMs\":\"212091\""
            if video {
                fields += ",\"qualityLabel\":\"\(quality)\",\"width\":\(quality == "1080p" ? 1920 : quality == "720p" ? 1280 : 854),\"height\":\(Int(quality.dropLast()) ?? 480),\"fps\":30,\"hasAudio\":false,\"hasVideo\":true"
            } else {
                fields += ",\"audioQuality\":\"\(quality)\",\"audioSampleRate\":\"48000\",\"audioChannels\":2,\"hasAudio\":true,\"hasVideo\":false"
            }
            return "{\(fields)}"
        }
        let audio = [
            format(140, "audio/mp4", "AUDIO_QUALITY_MEDIUM", 130_000, 3_433_235, video: false),
            format(251, "audio/webm", "AUDIO_QUALITY_MEDIUM", 140_000, 3_558_132, video: false),
            format(139, "audio/mp4", "AUDIO_QUALITY_LOW", 49_000, 1_287_114, video: false),
        ]
        let video = [
            format(137, "video/mp4", "1080p", 4_400_000, 78_113_432, video: true),
            format(136, "video/mp4", "720p", 2_300_000, 40_004_112, video: true),
            format(135, "video/mp4", "480p", 1_150_000, 20_102_443, video: true),
            format(134, "video/mp4", "360p", 640_000, 11_038_001, video: true),
            format(133, "video/mp4", "240p", 300_000, 5_880_320, video: true),
            format(160, "video/mp4", "144p", 110_000, 2_391_118, video: true),
        ]
        let thumbnails = [(120, 90, "default"), (320, 180, "mqdefault"), (480, 360, "hqdefault"), (1280, 720, "maxresdefault")].map {
            "{\"url\":\"https://i.ytimg.com/vi/dQw4w9WgXcQ/\($0.2).jpg\",\"width\":\($0.0),\"height\":\($0.1)}"
        }
        return """
            {"success":true,"data":{"videoId":"dQw4w9WgXcQ","title":"Benchmark Video — Never Gonna Give You Up (Official Music Video)",\
            "description":"The official video for “Never Gonna Give You Up”. Subscribe to the channel and listen to more of the best music. This description is long enough to look like a real one, with links https://example.com/a and https://example.com/b and a few lines of text.",\
            "lengthSeconds":"212","viewCount":"1634567890","author":{"name":"Benchmark Channel","channelUrl":"https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw"},\
            "uploadDate":"2009-10-25","thumbnails":[\(thumbnails.joined(separator: ","))],"isLiveContent":false,\
            "formats":{"audioFormats":[\(audio.joined(separator: ","))],"videoFormats":[\(video.joined(separator: ","))]}},\
            "timestamp":"2026-11-25T09:00:00.000Z"}
            """
    }
}

/// A tiny deterministic generator for the media bytes.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func makeRouter(_ state: FakeState) -> Router<BasicRequestContext> {
    let router = Router()
    let json: HTTPFields = [.contentType: "application/json"]
    router.get("/healthz") { _, _ in
        state.healthz.add(1, ordering: .relaxed)
        let uptime = Int(Date().timeIntervalSince(state.started))
        return Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string:
            "{\"status\":\"healthy\",\"service\":\"youtube-downloader\",\"version\":\"bench\",\"uptime\":\(uptime),\"timestamp\":\"2026-11-25T09:00:00.000Z\"}")))
    }
    router.get("/") { _, _ in
        Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string:
            "{\"service\":\"youtube-downloader\",\"version\":\"bench\",\"endpoints\":[\"/healthz\",\"/v1/media/youtube/info\",\"/v1/media/youtube/mp3\",\"/v1/media/youtube/mp4\"]}")))
    }
    router.post("/v1/media/youtube/info") { request, _ in
        _ = try await request.body.collect(upTo: 1 << 20)
        state.info.add(1, ordering: .relaxed)
        return Response(status: .ok, headers: json, body: .init(byteBuffer: state.infoBody))
    }
    for (path, type, ext) in [("/v1/media/youtube/mp4", "video/mp4", "mp4"), ("/v1/media/youtube/mp3", "audio/mpeg", "mp3")] {
        router.post(RouterPath(path)) { request, _ in
            _ = try await request.body.collect(upTo: 1 << 20)
            state.media.add(1, ordering: .relaxed)
            let size = request.uri.queryParameters["size"].flatMap { Int(String($0)) } ?? state.mediaSize.load(ordering: .relaxed)
            let chunk = state.chunk
            let headers: HTTPFields = [
                .contentType: type,
                .contentDisposition: "attachment; filename=\"Benchmark Video.\(ext)\"",
                HTTPField.Name("X-Video-Title")!: "Benchmark Video",
                HTTPField.Name("X-Video-Duration")!: "212",
            ]
            return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: size) { writer in
                var remaining = size
                while remaining > 0 {
                    let count = min(remaining, chunk.readableBytes)
                    try await writer.write(chunk.getSlice(at: chunk.readerIndex, length: count)!)
                    remaining -= count
                    state.mediaBytes.add(count, ordering: .relaxed)
                }
                try await writer.finish(nil)
            })
        }
    }
    router.post("/webhook") { request, _ in
        let body = try await request.body.collect(upTo: 4 << 20)
        state.webhooks.add(1, ordering: .relaxed)
        if String(buffer: body).contains("\"code\":200") { state.webhooksOK.add(1, ordering: .relaxed) }
        return Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: "{\"received\":true}")))
    }
    router.get("/_bench/stats") { _, _ in
        Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: state.statsJSON())))
    }
    router.post("/_bench/reset") { _, _ in
        state.reset()
        return Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: state.statsJSON())))
    }
    router.post("/_bench/media") { request, _ in
        if let size = request.uri.queryParameters["size"].flatMap({ Int(String($0)) }), size >= 0 {
            state.mediaSize.store(size, ordering: .relaxed)
        }
        return Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: state.statsJSON())))
    }
    return router
}
