import Foundation
import HTTPTypes
import JSONSchema
import RouteHost
import RouteHostTestSupport
import Testing
import YouTubePlugin

extension LiveYouTubeTests {
    /// `YOUTUBE_BACKEND=auto` in each situation, and the unavailable module (no real tools needed:
    /// scripts stand in for them).
    @Suite struct BackendSelectionTests {
        func fakeTools() throws -> (directory: String, ytdlp: String, ffmpeg: String) {
            let directory = try EmbeddedHarness.temporaryDirectory()
            let ytdlp = try EmbeddedHarness.script("yt-dlp", in: directory, "#!/bin/sh\nexit 1\n")
            let ffmpeg = try EmbeddedHarness.script("ffmpeg", in: directory, "#!/bin/sh\nexit 1\n")
            return (directory, ytdlp, ffmpeg)
        }

        @Test func autoUsesTheServiceWhenYOUTUBE_SERVICE_URLIsSet() async throws {
            let tools = try fakeTools()
            defer { try? FileManager.default.removeItem(atPath: tools.directory) }
            try await EmbeddedHarness.run(["YOUTUBE_SERVICE_URL": "http://127.0.0.1:9", "PATH": tools.directory]) { host in
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["backend"]?["type"] == "service")
                #expect(document.json?["backend"]?["url"] == "http://127.0.0.1:9")
            }
        }

        @Test func autoUsesTheEmbeddedBackendWhenTheToolsAreFound() async throws {
            let tools = try fakeTools()
            defer { try? FileManager.default.removeItem(atPath: tools.directory) }
            // Found on PATH.
            try await EmbeddedHarness.run(["PATH": tools.directory]) { host in
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["backend"]?["type"] == "embedded")
                #expect(document.json?["backend"]?["yt_dlp"]?.stringValue == tools.ytdlp)
                let health = try await host.request(.get, "/health", key: nil)
                #expect(health.text.contains("embedded"), "\(health.text)")
            }
            // Named explicitly.
            try await EmbeddedHarness.run(["PATH": "/nonexistent", "YOUTUBE_YTDLP_PATH": tools.ytdlp, "YOUTUBE_FFMPEG_PATH": tools.ffmpeg]) { host in
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["backend"]?["type"] == "embedded")
                #expect(document.json?["backend"]?["ffmpeg"]?.stringValue == tools.ffmpeg)
            }
        }

        @Test func withoutServiceOrToolsTheModuleIsUnavailableAndSaysWhy() async throws {
            try await EmbeddedHarness.run(["PATH": "/nonexistent"]) { host in
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.status == 200)
                #expect(document.json?["backend"]?["type"] == "unavailable")
                let reason = document.json?["backend"]?["reason"]?.stringValue ?? ""
                #expect(reason.contains("YOUTUBE_SERVICE_URL is not set"), "\(reason)")
                #expect(reason.contains("yt-dlp was not found on PATH") && reason.contains("ffmpeg was not found on PATH"), "\(reason)")
                #expect(document.json?["backend"]?["fix"]?.stringValue?.contains("pip install yt-dlp") == true)

                let health = try await host.request(.get, "/v1/media/youtube/health")
                #expect(health.status == 503)
                #expect(health.json?["status"] == "unavailable")
                #expect(health.json?["error"]?.stringValue == "YouTube backend unavailable: \(reason)")
                #expect(health.json?["url"] == .null)
                #expect(document.json?["microservice_healthy"] == false)
                #expect(document.json?["microservice_url"] == .null)
                #expect(document.json?["microservice_info"] == .object([:]))

                let overall = try await host.request(.get, "/health", key: nil)
                #expect(overall.text.contains("unhealthy") && overall.text.contains("yt-dlp was not found"), "\(overall.text)")

                let stream = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(stream.status == 503)
                #expect(stream.json?["code"] == "backend_unavailable")
                #expect(stream.json?["error"]?.stringValue?.contains("yt-dlp was not found") == true)
                let info = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                #expect(info.status == 503)
                #expect(info.json?["message"]?["fix"] != nil)
            }
            // An explicit path that is not there names the variable.
            try await EmbeddedHarness.run(["PATH": "/nonexistent", "YOUTUBE_BACKEND": "embedded", "YOUTUBE_YTDLP_PATH": "/nope/yt-dlp"]) { host in
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["backend"]?["reason"]?.stringValue?.contains("YOUTUBE_YTDLP_PATH=/nope/yt-dlp is not an executable file") == true)
            }
        }

        @Test func serviceModeIgnoresTheToolsAndBadModesAreRefused() async throws {
            let tools = try fakeTools()
            defer { try? FileManager.default.removeItem(atPath: tools.directory) }
            try await EmbeddedHarness.run(["PATH": tools.directory, "YOUTUBE_BACKEND": "service"]) { host in
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["backend"]?["type"] == "service")
                #expect(document.json?["backend"]?["url"] == "http://localhost:3001")
            }
            await #expect(throws: (any Error).self) {
                try await EmbeddedHarness.run(["YOUTUBE_BACKEND": "sometimes"]) { _ in }
            }
            await #expect(throws: (any Error).self) {
                try await EmbeddedHarness.run(["PATH": tools.directory, "YOUTUBE_MP3_BITRATE": "loud"]) { _ in }
            }
        }

        @Test func extraHostsAreAcceptedOnlyWhenListed() async throws {
            let tools = try fakeTools()
            defer { try? FileManager.default.removeItem(atPath: tools.directory) }
            try await EmbeddedHarness.run(["PATH": tools.directory, "YOUTUBE_EXTRA_ALLOWED_HOSTS": ""]) { host in
                for url in ["http://127.0.0.1:8080/watch/x", "http://localhost/x", "file:///etc/passwd"] {
                    let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: #"{"url":"\#(url)"}"#)
                    #expect(answer.status == 400, "\(url)")
                }
            }
            await #expect(throws: (any Error).self) {
                try await EmbeddedHarness.run(["PATH": tools.directory, "YOUTUBE_EXTRA_ALLOWED_HOSTS": "*"]) { _ in }
            }
        }
    }
}

/// Pure functions of the embedded backend.
/// Credentials in the service URL reach no message.
@Suite struct ServiceURLRedactionTests {
    @Test func urlsAreRedactedWhetherTheyParseOrNot() {
        #expect(UpstreamConfiguration.redacted("ftp://relay:s3cr3t@10.0.0.1/x?token=abc") == "ftp://…@10.0.0.1/x")
        #expect(UpstreamConfiguration.redacted("http://host:3001/") == "http://host:3001/")
        #expect(UpstreamConfiguration.redacted(URL(string: "http://u:p@host:3001/?k=v")!) == "http://host:3001/")
    }

    @Test func aRefusedServiceURLIsReportedWithoutItsCredentials() throws {
        let environment = EnvironmentValues([
            "API_KEY": String(repeating: "k", count: 24), "YOUTUBE_BACKEND": "service", "YOUTUBE_SERVICE_URL": "ftp://relay:s3cr3t@10.0.0.1/x",
            "LOCAL_STORAGE_PATH": FileManager.default.temporaryDirectory.appendingPathComponent("routehost-redact-\(UUID().uuidString)").path,
        ])
        do {
            _ = try RouteHostServer(
                manifestPath: YouTubeHarness.repositoryRoot.appendingPathComponent("routes.json").path,
                catalog: .withBuiltIns([YouTubeModule.self]), environment: environment, isServing: false)
            Issue.record("an ftp:// service URL was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("'ftp://…@10.0.0.1/x' is not an http:// or https:// URL"), "\(text)")
            #expect(!text.contains("s3cr3t") && !text.contains("relay:"))
        }
    }
}

@Suite struct EmbeddedUnitTests {
    @Test func extraAllowedHostsMatchExactly() throws {
        let hosts = try ExtraAllowedHosts(list: ["127.0.0.1:*", "Mirror.Example:8443", "plain.example"])
        #expect(YouTubeTarget("http://127.0.0.1:5555/watch/x", extraHosts: hosts)?.url == "http://127.0.0.1:5555/watch/x")
        // Without a port, the standard ports only.
        #expect(YouTubeTarget("https://plain.example/v", extraHosts: hosts) != nil)
        #expect(YouTubeTarget("http://plain.example:80/v", extraHosts: hosts) != nil)
        #expect(YouTubeTarget("http://plain.example:8080/v", extraHosts: hosts) == nil)
        #expect(YouTubeTarget("https://plain.example:22/v", extraHosts: hosts) == nil)
        #expect(hosts.descriptions == ["127.0.0.1:*", "mirror.example:8443", "plain.example"])
        #expect(YouTubeTarget("https://mirror.example:8443/v", extraHosts: hosts) != nil)
        #expect(YouTubeTarget("https://mirror.example/v", extraHosts: hosts) == nil)
        #expect(YouTubeTarget("https://evil.mirror.example:8443/v", extraHosts: hosts) == nil)
        #expect(YouTubeTarget("http://user@127.0.0.1/x", extraHosts: hosts) == nil)
        #expect(YouTubeTarget("ftp://127.0.0.1/x", extraHosts: hosts) == nil)
        #expect(YouTubeTarget("http://127.0.0.1/a b", extraHosts: hosts) == nil)
        #expect(YouTubeTarget("http://127.0.0.1/x", extraHosts: .none) == nil)
        #expect(YouTubeTarget("https://youtu.be/dQw4w9WgXcQ", extraHosts: .none)?.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        for bad in ["*", "http://x", "a/b", "x@y", ":80", "host:99999"] {
            #expect(throws: ExtraAllowedHostsError.self, "\(bad)") { try ExtraAllowedHosts(list: [bad]) }
        }
    }
}

/// The mapping of yt-dlp's JSON, the mp4 plans and the error lines, on YouTube-like data.
@Suite struct EmbeddedMappingTests {
    static func format(_ id: String, _ ext: String, v: String, a: String, height: Int? = nil, tbr: Double? = nil, abr: Double? = nil, proto: String = "https") -> JSONValue {
        var object: JSONObject = ["format_id": .string(id), "ext": .string(ext), "vcodec": .string(v), "acodec": .string(a),
                                  "protocol": .string(proto), "url": .string("https://media.example/\(id)")]
        if let height { object["height"] = .number(JSONNumber(height)); object["width"] = .number(JSONNumber(height * 16 / 9)) }
        if let tbr { object["tbr"] = .number(JSONNumber(tbr)) }
        if let abr { object["abr"] = .number(JSONNumber(abr)) }
        return .object(object)
    }

    static let youtubeLike: JSONValue = [
        "id": "dQw4w9WgXcQ", "title": "Never Gonna Give You Up", "description": "The video", "duration": 212.4,
        "view_count": 1_600_000_000, "channel": "Rick Astley", "channel_url": "https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw",
        "upload_date": "20091025", "live_status": "not_live",
        "thumbnails": [["url": "https://i.ytimg.com/vi/x/default.jpg", "width": 120, "height": 90], ["url": "https://i.ytimg.com/vi/x/hq.jpg"]],
        "formats": [
            format("sb0", "mhtml", v: "none", a: "none", proto: "mhtml"),
            format("139", "m4a", v: "none", a: "mp4a.40.5", abr: 48),
            format("140", "m4a", v: "none", a: "mp4a.40.2", abr: 129),
            format("251", "webm", v: "none", a: "opus", abr: 135),
            format("18", "mp4", v: "avc1.42001E", a: "mp4a.40.2", height: 360, tbr: 500),
            format("134", "mp4", v: "avc1.4d401e", a: "none", height: 360, tbr: 300),
            format("136", "mp4", v: "avc1.4d401f", a: "none", height: 720, tbr: 1500),
            format("137", "mp4", v: "avc1.640028", a: "none", height: 1080, tbr: 3000),
            format("248", "webm", v: "vp9", a: "none", height: 1080, tbr: 2500),
            format("160", "mp4", v: "avc1.4d400c", a: "none", height: 144, tbr: 100),
        ],
    ]

    @Test func mapsToTheServiceDataShape() throws {
        let info = YouTubeVideoInfoProbe(Self.youtubeLike)
        let data = info.serviceData
        #expect(data["videoId"] == "dQw4w9WgXcQ")
        #expect(data["lengthSeconds"] == "212")
        #expect(data["viewCount"] == "1600000000")
        #expect(data["author"] == ["name": "Rick Astley", "channelUrl": "https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw"])
        #expect(data["uploadDate"] == "2009-10-25")
        #expect(data["isLiveContent"] == false)
        #expect(data["thumbnails"] == [["url": "https://i.ytimg.com/vi/x/default.jpg", "width": 120, "height": 90], ["url": "https://i.ytimg.com/vi/x/hq.jpg"]])
        let audio = try #require(data["formats"]?["audioFormats"]?.arrayValue)
        #expect(audio.map { $0["itag"] } == [139, 140, 251])
        #expect(audio[1]["mimeType"] == "audio/mp4; codecs=\"mp4a.40.2\"")
        #expect(audio[1]["container"] == "mp4")
        #expect(audio[1]["audioBitrate"] == 129)
        #expect(audio[1]["hasVideo"] == false && audio[1]["hasAudio"] == true)
        let video = try #require(data["formats"]?["videoFormats"]?.arrayValue)
        #expect(video.count == 6, "the storyboard is left out")
        #expect(video[0]["mimeType"] == "video/mp4; codecs=\"avc1.42001E, mp4a.40.2\"")
        #expect(video[0]["qualityLabel"] == "360p")
        #expect(video[0]["bitrate"] == 500_000)
        #expect(video[0]["hasAudio"] == true)
        #expect(video[1]["hasAudio"] == false)
    }

    @Test func choosesProgressiveFirstThenMerges() {
        let info = YouTubeVideoInfoProbe(Self.youtubeLike)
        #expect(info.plan("highest") == "progressive 18")
        #expect(info.plan("lowest") == "progressive 18")
        #expect(info.plan("360p") == "progressive 18")
        #expect(info.plan("720p") == "merge 136+140")
        #expect(info.plan("1080p") == "merge 137+140", "the MP4 video, not the WebM one")
        #expect(info.plan("highestvideo") == "merge 137+140")
        #expect(info.plan("lowestvideo") == "merge 160+140")
        #expect(info.plan("2160p") == nil)
        var dashOnly = Self.youtubeLike
        if case .object(var object) = dashOnly, let formats = object["formats"]?.arrayValue {
            object["formats"] = .array(formats.filter { $0["format_id"] != "18" })
            dashOnly = .object(object)
        }
        #expect(YouTubeVideoInfoProbe(dashOnly).plan("highest") == "merge 137+140")
        #expect(YouTubeVideoInfoProbe(dashOnly).plan("lowest") == "merge 160+139")
    }

    @Test func errorLinesLoseTheirPrefixes() {
        #expect(YouTubeVideoInfoProbe.errorLine("WARNING: x\nERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in if you've been granted access\n")
            == "Private video. Sign in if you've been granted access")
        #expect(YouTubeVideoInfoProbe.errorLine("ERROR: Unsupported URL: https://example.com/") == "Unsupported URL: https://example.com/")
        #expect(YouTubeVideoInfoProbe.errorLine("Traceback ...") == nil)
    }
}
