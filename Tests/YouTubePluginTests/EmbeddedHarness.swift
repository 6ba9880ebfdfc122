import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RouteHost
import RouteHostTestSupport
import Testing
import YouTubePlugin

#if canImport(Glibc)
import Glibc
#endif

/// The real tools for the embedded-backend tests, found on `PATH`.
///
/// Missing tools fail the tests in CI (`CI` set: `.ci/run` installs them) and skip them, with the
/// reason, on a developer machine without them.
enum EmbeddedTools {
    static let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"

    static func find(_ name: String) -> String? {
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static let ytdlp = find("yt-dlp")
    static let ffmpeg = find("ffmpeg")
    static let ffprobe = find("ffprobe")

    static var missing: [String] {
        [("yt-dlp", ytdlp), ("ffmpeg", ffmpeg), ("ffprobe", ffprobe)].filter { $0.1 == nil }.map(\.0)
    }

    static var isCI: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

    /// Run the test when the tools are here, or in CI (where it then fails in ``require()``).
    static let enabled: Bool = {
        if missing.isEmpty || isCI { return true }
        print("Embedded YouTube tests skipped: \(missing.joined(separator: ", ")) not found on PATH (pip install yt-dlp==2026.10.26; apt-get install ffmpeg)")
        return false
    }()

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// The tools' paths; throws a clear error when one is missing.
    static func require() throws -> (ytdlp: String, ffmpeg: String, ffprobe: String) {
        guard let ytdlp, let ffmpeg, let ffprobe else {
            throw Missing(description: "\(missing.joined(separator: ", ")) not installed: the embedded-backend tests need them (.ci/run installs yt-dlp with pip and ffmpeg with apt-get)")
        }
        return (ytdlp, ffmpeg, ffprobe)
    }

    /// Runs a command to its end; returns its standard output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Missing(description: "\(executable) \(arguments.joined(separator: " ")) failed with \(process.terminationStatus)")
        }
        return data
    }
}

/// Media made by ffmpeg once per test run, in a temporary directory.
final class MediaFixtures: Sendable {
    let directory: String

    /// A 3 s 320×240 H.264 + AAC progressive MP4 (moov first).
    var video: String { directory + "/video.mp4" }
    /// A 90 s 160×120 progressive MP4, served slowly for the disconnect test.
    var long: String { directory + "/long.mp4" }
    /// Video-only and audio-only files for the merge test.
    var videoOnly: String { directory + "/video-only.mp4" }
    var audioOnly: String { directory + "/audio.m4a" }

    static let shared = Result { try MediaFixtures() }

    /// Made once per machine (bump the version when the media change) and reused by later runs;
    /// made in a private directory and renamed into place, so concurrent runs never see half of it.
    static let version = "v2"

    private init() throws {
        let tools = try EmbeddedTools.require()
        let final = NSTemporaryDirectory() + "routehost-embedded-fixtures-\(Self.version)"
        let names = ["video.mp4", "long.mp4", "video-only.mp4", "audio.m4a"]
        if names.allSatisfy({ FileManager.default.fileExists(atPath: final + "/" + $0) }) {
            directory = final
            return
        }
        let directory = final + ".\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.make(in: directory, ffmpeg: tools.ffmpeg)
        if rename(directory, final) == 0 {
            self.directory = final
        } else if names.allSatisfy({ FileManager.default.fileExists(atPath: final + "/" + $0) }) {
            try? FileManager.default.removeItem(atPath: directory)
            self.directory = final
        } else {
            self.directory = directory
        }
    }

    private static func make(in directory: String, ffmpeg: String) throws {
        let common = ["-hide_banner", "-loglevel", "error", "-y"]
        try EmbeddedTools.run(ffmpeg, common + [
            "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
            "-movflags", "+faststart", "-shortest", directory + "/video.mp4",
        ])
        try EmbeddedTools.run(ffmpeg, common + [
            "-f", "lavfi", "-i", "testsrc=size=160x120:rate=5:duration=90", "-f", "lavfi", "-i", "sine=frequency=300:duration=90",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "48k",
            "-movflags", "+faststart", "-shortest", directory + "/long.mp4",
        ])
        try EmbeddedTools.run(ffmpeg, common + ["-i", directory + "/video.mp4", "-an", "-c", "copy", directory + "/video-only.mp4"])
        try EmbeddedTools.run(ffmpeg, common + ["-i", directory + "/video.mp4", "-vn", "-c", "copy", directory + "/audio.m4a"])
    }
}

/// A loopback site that yt-dlp's generic extractor understands offline: `/watch/NAME` is an HTML
/// page whose JSON-LD `VideoObject` points at `/media/FILE`; `/slow/FILE` sends a file in 4 KiB
/// pieces every 100 ms.
final class FixtureSite: Sendable {
    let port: Int
    private let task: Task<Void, any Error>

    var host: String { "http://127.0.0.1:\(port)" }
    func page(_ name: String) -> String { "\(host)/watch/\(name)" }

    static let title = "Fixture Vidéo «One»"

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    static func withRunning<T: Sendable>(_ fixtures: MediaFixtures, _ body: (FixtureSite) async throws -> T) async throws -> T {
        let router = Router()
        let directory = fixtures.directory
        let portBox = Mutex(0)
        router.get("/watch/:name") { request, context -> Response in
            let name = context.parameters.get("name") ?? "x"
            let port = portBox.withLock { $0 }
            let media = name == "slow" ? "/slow/long.mp4" : "/media/video.mp4"
            let html = """
                <!DOCTYPE html><html><head><title>\(name)</title>
                <script type="application/ld+json">
                {"@context":"https://schema.org","@type":"VideoObject","name":"\(title)","description":"A test description",
                 "thumbnailUrl":"http://127.0.0.1:\(port)/thumb.jpg","uploadDate":"2024-03-05T10:00:00Z","duration":"PT3S",
                 "contentUrl":"http://127.0.0.1:\(port)\(media)","author":{"@type":"Person","name":"Fixture Channel"},
                 "interactionStatistic":{"@type":"InteractionCounter","interactionType":{"@type":"WatchAction"},"userInteractionCount":1234}}
                </script></head><body><p>fixture</p></body></html>
                """
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        router.get("/media/:file") { request, context -> Response in
            let file = context.parameters.get("file") ?? ""
            guard !file.contains("/"), let data = FileManager.default.contents(atPath: directory + "/" + file) else {
                return Response(status: .notFound)
            }
            let type = file.hasSuffix(".m4a") ? "audio/mp4" : "video/mp4"
            return Response(status: .ok, headers: [.contentType: type, .contentLength: String(data.count)], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/slow/:file") { request, context -> Response in
            let file = context.parameters.get("file") ?? ""
            guard !file.contains("/"), let data = FileManager.default.contents(atPath: directory + "/" + file) else {
                return Response(status: .notFound)
            }
            return Response(
                status: .ok, headers: [.contentType: "video/mp4", .contentLength: String(data.count)],
                body: ResponseBody { writer in
                    var offset = 0
                    while offset < data.count {
                        let end = min(offset + 4096, data.count)
                        try await writer.write(ByteBuffer(bytes: data[offset..<end]))
                        offset = end
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    try await writer.finish(nil)
                })
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fixture-site")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw EmbeddedTools.Missing(description: "fixture site did not start")
        }
        portBox.withLock { $0 = port }
        let site = FixtureSite(port: port, task: task)
        do {
            let result = try await body(site)
            task.cancel()
            _ = await task.result
            return result
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
    }
}

import Synchronization

/// A live host with the repository's routes.json and the embedded backend.
enum EmbeddedHarness {
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "PATH": EmbeddedTools.path,
            "YOUTUBE_BACKEND": "auto",
            "YOUTUBE_EXTRA_ALLOWED_HOSTS": "127.0.0.1:*",
            "YOUTUBE_EXTRACT_TIMEOUT": "20",
            "YOUTUBE_STREAM_IDLE_TIMEOUT": "10",
            "LOCAL_STORAGE_PATH": NSTemporaryDirectory() + "routehost-embedded-tests",
        ]
        if let home = ProcessInfo.processInfo.environment["HOME"] { environment["HOME"] = home }
        return environment.merging(extra) { _, new in new }
    }

    static func run(_ extra: [String: String] = [:], socketBufferBytes: Int? = nil, _ body: (LiveHost) async throws -> Void) async throws {
        try await LiveHost.withRunning(
            manifestPath: YouTubeHarness.repositoryRoot.appendingPathComponent("routes.json").path, environment: environment(extra),
            catalog: .withBuiltIns([YouTubeModule.self]), socketBufferBytes: socketBufferBytes
        ) { host in
            try await body(host)
        }
    }

    /// A temporary directory with an executable script `name` whose text is `script`.
    static func script(_ name: String, in directory: String, _ script: String) throws -> String {
        let path = directory + "/" + name
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "routehost-embedded-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The PIDs recorded in `file`, once there are at least `count` (or after 10 s).
    static func pids(atLeast count: Int, in file: String) async throws -> [Int32] {
        let deadline = ContinuousClock.now + .seconds(10)
        var recorded = pids(in: file)
        while recorded.count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            recorded = pids(in: file)
        }
        return recorded
    }

    /// `request`'s answer once it is not `429` (the slot of a run just ended is released after
    /// its children are reaped), or the last `429` after 10 s.
    static func notBusy(_ request: () async throws -> LiveHost.Answer) async throws -> LiveHost.Answer {
        let deadline = ContinuousClock.now + .seconds(10)
        var answer = try await request()
        while answer.status == 429, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            answer = try await request()
        }
        return answer
    }

    /// Whether a process with `pid` still exists (zombies count).
    static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    static func pids(in file: String) -> [Int32] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline).compactMap { Int32($0) }
    }
}
