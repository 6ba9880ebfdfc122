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
                #expect(health.json?["reason"]?.stringValue == reason)

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
@Suite struct EmbeddedUnitTests {
    @Test func extraAllowedHostsMatchExactly() throws {
        let hosts = try ExtraAllowedHosts(list: ["127.0.0.1", "Mirror.Example:8443"])
        #expect(YouTubeTarget("http://127.0.0.1:5555/watch/x", extraHosts: hosts)?.url == "http://127.0.0.1:5555/watch/x")
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
