import AsyncHTTPClient
import Foundation
import HTTPTypes
import JSONSchema
import NIOCore
import RouteHost
import RouteHostTestSupport
import Testing
import YouTubePlugin

#if canImport(Glibc)
import Glibc
#endif

extension LiveYouTubeTests {
    /// The embedded backend with the real yt-dlp and ffmpeg, against ffmpeg-made media on a
    /// loopback site (`YOUTUBE_EXTRA_ALLOWED_HOSTS=127.0.0.1:*`). Offline.
    @Suite(.enabled(if: EmbeddedTools.enabled, "needs yt-dlp, ffmpeg and ffprobe on PATH"))
    struct EmbeddedBackendTests {
        func fixtures() throws -> MediaFixtures {
            _ = try EmbeddedTools.require()
            return try MediaFixtures.shared.get()
        }

        @Test func infoMapsYtDlpFieldsToTheServiceShape() async throws {
            let media = try fixtures()
            try await FixtureSite.withRunning(media) { site in
                try await EmbeddedHarness.run { host in
                    let answer = try await host.request(.post, "/v1/media/youtube/info", json: #"{"url":"\#(site.page("fixture"))","id":"r1"}"#)
                    #expect(answer.status == 200, "\(answer.text)")
                    // The downloader's shape: clients of the original read response.data.videoId.
                    let response = try #require(answer.json?["response"])
                    #expect(response.objectValue?.keys == ["success", "data", "timestamp"])
                    #expect(response["success"] == true)
                    let timestamp = try #require(response["timestamp"]?.stringValue)
                    #expect((try? Date(timestamp, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true))) != nil, "\(timestamp)")
                    let data = try #require(response["data"])
                    #expect(data["videoId"] == "fixture")
                    #expect(data["title"]?.stringValue == FixtureSite.title)
                    #expect(data["description"] == "A test description")
                    #expect(data["lengthSeconds"] == "3")
                    #expect(data["viewCount"] == "1234")
                    #expect(data["author"]?["name"] == "Fixture Channel")
                    #expect(data["author"]?["channelUrl"] == .null)
                    #expect(data["uploadDate"] == "2024-03-05")
                    #expect(data["thumbnails"]?[0]?["url"]?.stringValue == "\(site.host)/thumb.jpg")
                    #expect(data["isLiveContent"] == false)
                    let video = try #require(data["formats"]?["videoFormats"]?[0])
                    #expect(video["container"] == "mp4")
                    #expect(video["hasVideo"] == true)
                    #expect(data["formats"]?["audioFormats"]?.arrayValue?.isEmpty == true)

                    let discovery = try await host.request(.get, "/v1/media/youtube")
                    #expect(discovery.json?["backend"]?["type"] == "embedded")
                    #expect(discovery.json?["configuration"]?["YOUTUBE_MP3_BITRATE"] == "192k")
                }
            }
        }

        /// Discovery and health describe the tools in the original's fields: no URL, healthy
        /// while yt-dlp and ffmpeg start; a tool that cannot start makes both say so.
        @Test func discoveryAndHealthDescribeTheTools() async throws {
            let tools = try EmbeddedTools.require()
            try await EmbeddedHarness.run { host in
                let health = try await host.request(.get, "/v1/media/youtube/health")
                #expect(health.status == 200, "\(health.text)")
                #expect(health.json?["status"] == "healthy")
                #expect(health.json?["url"] == .null)
                #expect(health.json?["timeout"] == 20)
                #expect(health.json?["microservice"]?["tools"]?["yt-dlp"]?["path"] == .string(tools.ytdlp))
                #expect(health.json?["microservice"]?["tools"]?["yt-dlp"]?["version"] == "2026.10.26")
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["service"] == "YouTube Integration")
                #expect(document.json?["microservice_url"] == .null)
                #expect(document.json?["microservice_healthy"] == true)
                #expect(document.json?["microservice_info"]?["tools"]?["ffmpeg"]?["path"] == .string(tools.ffmpeg))
                #expect(document.json?["endpoints"]?["/v1/media/youtube/mp3"] == "POST - Download audio as MP3 (streaming)")
                #expect(document.json?["configuration"]?["timeout"] == 20)
                #expect(document.json?["configuration"]?["retry_attempts"] == 0)
                // The JavaScript runtime yt-dlp gets: the first of deno, node, quickjs, bun on PATH.
                let runtime = ["deno", "node", "qjs", "bun"].lazy.compactMap(EmbeddedTools.find).first
                if let runtime {
                    #expect(document.json?["microservice_info"]?["js_runtime"]?["path"] == .string(runtime))
                }
            }
            // A PATH with the tools but no JavaScript runtime: reported, with the fix, and the module degraded.
            let bare = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: bare) }
            for (name, path) in [("yt-dlp", tools.ytdlp), ("ffmpeg", tools.ffmpeg)] {
                try FileManager.default.createSymbolicLink(atPath: bare + "/" + name, withDestinationPath: path)
            }
            try await EmbeddedHarness.run(["PATH": bare, "YOUTUBE_YTDLP_PATH": tools.ytdlp, "YOUTUBE_FFMPEG_PATH": tools.ffmpeg]) { host in
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["microservice_info"]?["js_runtime"]?["missing"] == true, "\(document.text)")
                #expect(document.json?["backend"]?["js_runtime"]?["fix"]?.stringValue?.contains("scripts/setup") == true)
                let overall = try await host.request(.get, "/health", key: nil)
                #expect(overall.json?["modules"]?["youtube"]?["status"] == "degraded", "\(overall.text)")
                #expect(overall.json?["modules"]?["youtube"]?["fix"]?.stringValue?.contains("deno") == true)
            }
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let broken = try EmbeddedHarness.script("yt-dlp", in: directory, "#!/nonexistent/interpreter\n")
            try await EmbeddedHarness.run(["YOUTUBE_YTDLP_PATH": broken]) { host in
                let health = try await host.request(.get, "/v1/media/youtube/health")
                #expect(health.status == 503, "\(health.text)")
                #expect(health.json?["status"] == "unhealthy")
                #expect(health.json?["error"] == .string("yt-dlp at \(broken) cannot start"))
                #expect(health.json?["url"] == .null)
                let document = try await host.request(.get, "/v1/media/youtube")
                #expect(document.json?["microservice_healthy"] == false)
                #expect(document.json?["microservice_info"] == .object([:]))
            }
        }

        @Test func mp3IsRealMP3WithTheRelayHeaders() async throws {
            let media = try fixtures()
            let tools = try EmbeddedTools.require()
            try await FixtureSite.withRunning(media) { site in
                try await EmbeddedHarness.run(["YOUTUBE_MP3_BITRATE": "128k"]) { host in
                    let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: #"{"url":"\#(site.page("fixture"))"}"#)
                    #expect(answer.status == 200, "\(answer.text)")
                    #expect(answer.headers[.contentType] == "audio/mpeg")
                    #expect(answer.headers[HTTPField.Name("X-Video-Duration")!] == "3")
                    #expect(answer.headers[HTTPField.Name("X-Video-Title")!]?.removingPercentEncoding == FixtureSite.title)
                    let disposition = try #require(answer.headers[.contentDisposition])
                    #expect(ContentDisposition.filename(in: disposition) == "\(FixtureSite.title).mp3")
                    #expect(disposition.hasPrefix("attachment; filename=\"Fixture Video _One_.mp3\""))
                    let file = media.directory + "/out-\(UUID().uuidString).mp3"
                    try Data(answer.body.readableBytesView).write(to: URL(fileURLWithPath: file))
                    defer { try? FileManager.default.removeItem(atPath: file) }
                    let probe = String(decoding: try EmbeddedTools.run(tools.ffprobe, [
                        "-v", "error", "-show_entries", "stream=codec_name,bit_rate:format=format_name,duration", "-of", "default=nw=1", file,
                    ]), as: UTF8.self)
                    #expect(probe.contains("codec_name=mp3"), "\(probe)")
                    #expect(probe.contains("format_name=mp3"), "\(probe)")
                    #expect(probe.contains("bit_rate=128000"), "\(probe)")
                    let duration = probe.split(separator: "\n").first { $0.hasPrefix("duration=") }.flatMap { Double($0.dropFirst(9)) } ?? 0
                    #expect(abs(duration - 3) < 0.3, "\(probe)")
                }
            }
        }

        @Test func aProgressiveMP4IsStreamedByteForByte() async throws {
            let media = try fixtures()
            try await FixtureSite.withRunning(media) { site in
                try await EmbeddedHarness.run { host in
                    let answer = try await host.request(.post, "/v1/media/youtube/mp4", json: #"{"url":"\#(site.page("fixture"))","quality":"highest"}"#)
                    #expect(answer.status == 200, "\(answer.text)")
                    #expect(answer.headers[.contentType] == "video/mp4")
                    let expected = try Data(contentsOf: URL(fileURLWithPath: media.video))
                    #expect(Data(answer.body.readableBytesView) == expected)

                    let missing = try await host.request(.post, "/v1/media/youtube/mp4", json: #"{"url":"\#(site.page("fixture"))","quality":"1080p"}"#)
                    #expect(missing.status == 422)
                    #expect(missing.json?["code"] == "quality_unavailable")
                }
            }
        }

        @Test func aDisconnectKillsEveryChildAndTheCapAnswers429() async throws {
            let media = try fixtures()
            let tools = try EmbeddedTools.require()
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let pids = directory + "/pids"
            let ytdlp = try EmbeddedHarness.script("yt-dlp", in: directory, "#!/bin/sh\necho $$ >> \(pids)\nexec \(tools.ytdlp) \"$@\"\n")
            let ffmpeg = try EmbeddedHarness.script("ffmpeg", in: directory, "#!/bin/sh\necho $$ >> \(pids)\nexec \(tools.ffmpeg) \"$@\"\n")
            try await FixtureSite.withRunning(media) { site in
                try await EmbeddedHarness.run([
                    "YOUTUBE_YTDLP_PATH": ytdlp, "YOUTUBE_FFMPEG_PATH": ffmpeg, "YOUTUBE_MAX_CONCURRENT": "1",
                ]) { host in
                    let received = AsyncStream<Int>.makeStream()
                    let download = Task {
                        let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp3", json: #"{"url":"\#(site.page("slow"))"}"#)
                        var count = 0
                        for try await chunk in response.body {
                            count += chunk.readableBytes
                            received.continuation.yield(count)
                        }
                        return count
                    }
                    var iterator = received.stream.makeAsyncIterator()
                    let first = await iterator.next()
                    #expect((first ?? 0) > 0, "the mp3 stream started")

                    // The one slot is taken: 429 with Retry-After.
                    let busy = try await host.request(.post, "/v1/media/youtube/mp3", json: #"{"url":"\#(site.page("fixture"))"}"#)
                    #expect(busy.status == 429)
                    #expect(busy.json?["code"] == "busy")
                    #expect(busy.headers[.retryAfter] != nil)

                    let started = EmbeddedHarness.pids(in: pids)
                    // yt-dlp -J, the download and the encoder (plus the `--version` probes of discovery).
                    #expect(started.count >= 3, "\(started)")
                    let running = started.filter(EmbeddedHarness.isAlive)
                    #expect(running.count == 2, "the download and the encoder run while the client reads")

                    download.cancel()  // the client goes away
                    _ = await download.result
                    let deadline = ContinuousClock.now + .seconds(5)
                    while started.contains(where: EmbeddedHarness.isAlive), ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(started.filter(EmbeddedHarness.isAlive).isEmpty, "every child is gone after the disconnect")

                    // The slot is free again (it is released right after the children are reaped).
                    let again = try await EmbeddedHarness.notBusy { try await host.request(.post, "/v1/media/youtube/info", json: #"{"url":"\#(site.page("fixture"))"}"#) }
                    #expect(again.status == 200, "\(again.text)")
                }
            }
        }

        @Test func videoAndAudioOnlyFormatsAreMergedIntoFragmentedMP4() async throws {
            let media = try fixtures()
            let tools = try EmbeddedTools.require()
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await FixtureSite.withRunning(media) { site in
                let info: JSONValue = [
                    "id": "merged", "title": "Merged", "duration": 3,
                    "formats": [
                        ["format_id": "18", "ext": "mp4", "vcodec": "avc1.42c01e", "acodec": "mp4a.40.2", "height": 240, "protocol": "https",
                         "url": .string("\(site.host)/media/video.mp4")],
                        ["format_id": "136", "ext": "mp4", "vcodec": "avc1.4d401f", "acodec": "none", "height": 720, "protocol": "http",
                         "url": .string("\(site.host)/media/video-only.mp4")],
                        ["format_id": "140", "ext": "m4a", "vcodec": "none", "acodec": "mp4a.40.2", "abr": 64, "protocol": "http",
                         "url": .string("\(site.host)/media/audio.m4a")],
                    ],
                ]
                try info.serializedString().write(toFile: directory + "/info.json", atomically: true, encoding: .utf8)
                let ytdlp = try EmbeddedHarness.script("yt-dlp", in: directory, "#!/bin/sh\ncat \(directory)/info.json\n")
                try await EmbeddedHarness.run(["YOUTUBE_YTDLP_PATH": ytdlp, "YOUTUBE_FFMPEG_PATH": tools.ffmpeg]) { host in
                    let answer = try await host.request(.post, "/v1/media/youtube/mp4", json: #"{"url":"\#(site.page("x"))","quality":"720p"}"#)
                    #expect(answer.status == 200, "\(answer.text)")
                    #expect(answer.headers[.contentType] == "video/mp4")
                    let file = directory + "/merged.mp4"
                    try Data(answer.body.readableBytesView).write(to: URL(fileURLWithPath: file))
                    let probe = String(decoding: try EmbeddedTools.run(tools.ffprobe, [
                        "-v", "error", "-show_entries", "stream=codec_type,codec_name:format=format_name", "-of", "default=nw=1", file,
                    ]), as: UTF8.self)
                    #expect(probe.contains("codec_name=h264") && probe.contains("codec_name=aac"), "\(probe)")
                    #expect(probe.contains("format_name=mov,mp4"), "\(probe)")
                    // Fragmented: a moof box follows the moov.
                    #expect(answer.body.readableBytesView.firstRange(of: Array("moof".utf8)) != nil)
                }
            }
        }
    }

    /// The embedded backend's error paths with a scripted `yt-dlp` (no real tools needed).
    @Suite struct EmbeddedFailureTests {
        static let infoJSON = #"{"id":"abc","title":"Broken","duration":3,"formats":[{"format_id":"18","ext":"mp4","vcodec":"avc1","acodec":"mp4a","height":360,"protocol":"https","url":"http://127.0.0.1:9/x.mp4"}]}"#

        /// A fake yt-dlp: `mode` file `error` prints `stderr.txt` and exits 1; `midway` answers -J
        /// with a progressive format, then sends 200 kB and fails.
        func fakeTools(_ directory: String) throws -> [String: String] {
            try Self.infoJSON.write(toFile: directory + "/info.json", atomically: true, encoding: .utf8)
            let ytdlp = try EmbeddedHarness.script("yt-dlp", in: directory, """
                #!/bin/sh
                mode=$(cat \(directory)/mode)
                if [ "$mode" = error ]; then cat \(directory)/stderr.txt >&2; exit 1; fi
                if [ "$mode" = crash ]; then kill -SEGV $$; fi
                if [ "$mode" = args ]; then printf '%s\\n' "$*" >> \(directory)/args; fi
                for a in "$@"; do if [ "$a" = "-J" ]; then cat \(directory)/info.json; exit 0; fi; done
                cat > /dev/null
                if [ "$mode" = args ]; then exec head -c 5000 /dev/zero; fi
                if [ "$mode" = encfail ]; then exec head -c 2000000 /dev/zero; fi
                head -c 200000 /dev/zero
                echo "ERROR: unable to download video data: HTTP Error 403: Forbidden" >&2
                exit 1

                """)
            let ffmpeg = try EmbeddedHarness.script("ffmpeg", in: directory, "#!/bin/sh\necho 'pipe:0: Invalid data found when processing input' >&2\nexit 1\n")
            return ["YOUTUBE_YTDLP_PATH": ytdlp, "YOUTUBE_FFMPEG_PATH": ffmpeg]
        }

        @Test func aFailingEncoderIsBlamedNotTheDownloaderItStopped() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let environment = try fakeTools(directory)
            try "encfail".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
            try await EmbeddedHarness.run(environment) { host in
                let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 502)
                #expect(answer.json?["code"] == "conversion_failed", "\(answer.text)")
            }
        }

        @Test func aCrashIs502AndTheArgumentsAreSafe() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var environment = try fakeTools(directory)
            let cookies = directory + "/cookies.txt"
            try "# Netscape HTTP Cookie File\n".write(toFile: cookies, atomically: true, encoding: .utf8)
            environment["YOUTUBE_COOKIES_FILE"] = cookies
            try await EmbeddedHarness.run(environment) { host in
                try "crash".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
                let crashed = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                #expect(crashed.status == 502)
                #expect(crashed.json?["message"]?["code"] == "process_crashed", "\(crashed.text)")

                try "args".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
                let answer = try await host.request(.post, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 200)
                #expect(answer.body.readableBytes == 5000)
                let lines = try String(contentsOfFile: directory + "/args", encoding: .utf8).split(separator: "\n").map(String.init)
                let extract = try #require(lines.first { $0.contains("-J") })
                let download = try #require(lines.first { $0.contains("--load-info-json") })
                for line in [extract, download] {
                    #expect(line.contains("--ignore-config") && line.contains("--no-playlist") && line.contains("--cookies \(cookies)"), "\(line)")
                }
                #expect(extract.hasSuffix("-- https://www.youtube.com/watch?v=dQw4w9WgXcQ"), "the URL comes after --: \(extract)")
                #expect(download.contains("--retries 0") && download.contains("--fragment-retries 0") && download.contains("-f 18 -o -"), "\(download)")
            }
        }

        @Test func ytDlpMessagesBecomeClearErrorsWithMachineCodes() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let environment = try fakeTools(directory)
            try "error".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
            let cases: [(String, Int, String)] = [
                ("ERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in if you've been granted access to this video", 403, "video_private"),
                ("ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm your age. This video may be inappropriate for some users.", 403, "age_restricted"),
                ("ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you’re not a bot. Use --cookies-from-browser or --cookies", 403, "sign_in_required"),
                ("ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This video has been removed by the uploader", 404, "video_unavailable"),
                ("ERROR: Unsupported URL: https://example.com/", 400, "unsupported_url"),
                ("ERROR: [youtube] dQw4w9WgXcQ: This video is not available in your country", 451, "geo_restricted"),
                ("Traceback (most recent call last):\n  File \"x.py\"\nKeyError: 'x'", 502, "extraction_failed"),
            ]
            try await EmbeddedHarness.run(environment) { host in
                for (message, status, code) in cases {
                    try message.write(toFile: directory + "/stderr.txt", atomically: true, encoding: .utf8)
                    let stream = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                    #expect(stream.status == status, "\(message)")
                    #expect(stream.json?["code"]?.stringValue == code, "\(stream.text)")
                    #expect(stream.json?["error"]?.stringValue?.isEmpty == false)
                    if status < 500 {
                        #expect(stream.json?["reason"]?.stringValue?.hasPrefix("ERROR") == false, "\(stream.text)")
                    } else {
                        #expect(stream.json?["reason"] == nil, "no internals in a 502: \(stream.text)")
                    }
                    let info = try await host.request(.post, "/v1/media/youtube/info", json: #"{"url":"https://youtu.be/dQw4w9WgXcQ"}"#)
                    #expect(info.status == status)
                    #expect(info.json?["code"]?.intValue == status)
                    #expect(info.json?["message"]?["code"]?.stringValue == code, "\(info.text)")
                }
            }
        }

        /// A fake yt-dlp whose download sends 1000 bytes and then hangs, with a grandchild in its
        /// process group; every pid goes to `pids`. `-J` sleeps when the `mode` file says `slow-info`.
        func hangingTools(_ directory: String) throws -> [String: String] {
            try Self.infoJSON.write(toFile: directory + "/info.json", atomically: true, encoding: .utf8)
            let ytdlp = try EmbeddedHarness.script("yt-dlp", in: directory, """
                #!/bin/sh
                if [ "$1" = --version ]; then echo 2026.test; exit 0; fi
                echo $$ >> \(directory)/pids
                for a in "$@"; do if [ "$a" = "-J" ]; then
                  if [ "$(cat \(directory)/mode)" = slow-info ]; then sleep 30 & echo $! >> \(directory)/pids; wait; fi
                  if [ "$(cat \(directory)/mode)" = late-info ]; then sleep 1; fi
                  cat \(directory)/info.json; exit 0
                fi; done
                cat > /dev/null
                head -c 1000 /dev/zero
                sleep 30 & echo $! >> \(directory)/pids
                wait

                """)
            let ffmpeg = try EmbeddedHarness.script("ffmpeg", in: directory, "#!/bin/sh\nexit 1\n")
            return ["YOUTUBE_YTDLP_PATH": ytdlp, "YOUTUBE_FFMPEG_PATH": ffmpeg]
        }

        /// An `ffmpeg` that answers `-version`, records its PID in `directory/pids`, then runs `body`.
        func fakeFFmpeg(in directory: String, _ body: String) throws -> String {
            try EmbeddedHarness.script("ffmpeg", in: directory, """
                #!/bin/sh
                if [ "$1" = -version ]; then echo "ffmpeg version test"; exit 0; fi
                echo $$ >> \(directory)/pids
                \(body)

                """)
        }

        func waitUntilGone(_ pids: [Int32]) async throws -> [Int32] {
            let deadline = ContinuousClock.now + .seconds(5)
            while pids.contains(where: EmbeddedHarness.isAlive), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            return pids.filter(EmbeddedHarness.isAlive)
        }

        /// A client that leaves an mp3 stream while yt-dlp and ffmpeg are silent ends both at once:
        /// its connection closing is what tells, since there is no write to fail (the idle timeout
        /// is 10 minutes).
        @Test func aClientLeavingASilentMP3StreamEndsYtDlpAndFFmpegAtOnce() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var environment = try hangingTools(directory)
            environment["YOUTUBE_FFMPEG_PATH"] = try fakeFFmpeg(in: directory, """
                head -c 2000 /dev/zero
                sleep 30 & echo $! >> \(directory)/pids
                wait
                """)
            environment["YOUTUBE_STREAM_IDLE_TIMEOUT"] = "600"
            try "stall".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
            try await EmbeddedHarness.run(environment) { host in
                let reading = try await DisconnectingClient.read(
                    port: host.port, request: DisconnectingClient.post("/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body(), apiKey: host.apiKey),
                    limit: 1, receiveBuffer: 64 << 10)
                #expect(reading.head.hasPrefix("HTTP/1.1 200"), "\(reading.head.prefix(300))")
                // yt-dlp -J, the download and the encoder (the download's may be written a moment
                // after the encoder's first bytes; the sleeps later still).
                let pids = try await EmbeddedHarness.pids(atLeast: 3, in: directory + "/pids")
                #expect(pids.count >= 3, "\(pids)")
                #expect(try await waitUntilGone(pids).isEmpty, "yt-dlp and ffmpeg end when the client leaves")
                #expect(try await waitUntilGone(EmbeddedHarness.pids(in: directory + "/pids")).isEmpty, "and no late starter is left")
            }
        }

        /// A client that stops reading an mp3 stream is cut off after the stall timeout: its
        /// connection closed, yt-dlp and ffmpeg ended, the slot freed (they would otherwise hold
        /// it for as long as the client keeps its window shut).
        @Test(.timeLimit(.minutes(1))) func aClientThatStopsReadingIsCutOffAndTheToolsEnded() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var environment = try hangingTools(directory)
            environment["YOUTUBE_FFMPEG_PATH"] = try fakeFFmpeg(in: directory, "exec head -c 1000000000 /dev/zero")
            environment["YOUTUBE_STREAM_IDLE_TIMEOUT"] = "600"
            environment["YOUTUBE_CLIENT_STALL_TIMEOUT"] = "1"
            environment["YOUTUBE_MAX_CONCURRENT"] = "1"
            try "stall".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
            let buffer = 64 << 10
            try await EmbeddedHarness.run(environment, socketBufferBytes: buffer) { host in
                let client = try await PausingClient.start(
                    port: host.port, request: DisconnectingClient.post("/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body(), apiKey: host.apiKey),
                    pauseAfter: 64 << 10, receiveBuffer: buffer)
                await client.paused()
                let pids = try await EmbeddedHarness.pids(atLeast: 3, in: directory + "/pids")
                #expect(pids.count >= 3, "\(pids)")
                // The client reads nothing more: only the stall timeout can end the stream.
                #expect(try await waitUntilGone(pids).isEmpty, "the tools end with the stalled stream")
                // Now reading again, it finds what the kernel still held, then the server's close.
                await client.closed()
                let next = try await EmbeddedHarness.notBusy { try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body()) }
                #expect(next.status == 200, "the slot is free again: \(next.text)")
            }
        }

        @Test func timeoutsKillTheWholeProcessGroup() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var environment = try hangingTools(directory)
            environment["YOUTUBE_EXTRACT_TIMEOUT"] = "0.5"
            environment["YOUTUBE_STREAM_IDLE_TIMEOUT"] = "0.5"
            try await EmbeddedHarness.run(environment) { host in
                // yt-dlp -J that never answers: 504, and yt-dlp and its child are gone.
                try "slow-info".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
                let slow = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                #expect(slow.status == 504)
                #expect(slow.json?["message"]?["code"] == "timeout", "\(slow.text)")
                let extractors = EmbeddedHarness.pids(in: directory + "/pids")
                #expect(extractors.count == 2, "yt-dlp and its grandchild: \(extractors)")
                #expect(try await waitUntilGone(extractors).isEmpty)

                // A download that stalls after the head: the stream is aborted and the group killed.
                try "stall".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
                try "".write(toFile: directory + "/pids", atomically: true, encoding: .utf8)
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(response.status == .ok)
                var count = 0
                var failure: (any Error)?
                do {
                    for try await chunk in response.body { count += chunk.readableBytes }
                } catch {
                    failure = error
                }
                #expect(failure != nil && count == 1000, "\(count) bytes")
                let downloaders = EmbeddedHarness.pids(in: directory + "/pids")
                #expect(downloaders.count == 3, "-J, the download and its grandchild: \(downloaders)")
                #expect(try await waitUntilGone(downloaders).isEmpty)
            }
        }

        @Test func aClientGoneBeforeTheHeadLeavesNoChildrenAndFreesTheSlot() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var environment = try hangingTools(directory)
            environment["YOUTUBE_MAX_CONCURRENT"] = "1"
            // A client gone before the head is noticed when the head cannot be written.
            environment["YOUTUBE_STREAM_IDLE_TIMEOUT"] = "1"
            try "late-info".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
            try await EmbeddedHarness.run(environment) { host in
                var request = HTTPClientRequest(url: host.baseURL + "/v1/media/youtube/mp4")
                request.method = .POST
                request.headers.add(name: "X-API-Key", value: host.apiKey)
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: YouTubeHarness.mp3Body()))
                // The client gives up while yt-dlp -J is still working.
                await #expect(throws: (any Error).self) { _ = try await host.client.execute(request, timeout: .milliseconds(300)) }
                // yt-dlp -J, then (once it has answered) the download; then both must end.
                let pids = try await EmbeddedHarness.pids(atLeast: 2, in: directory + "/pids")
                #expect(pids.count >= 2, "\(pids)")
                #expect(try await waitUntilGone(pids).isEmpty, "nothing left running for a client that is gone")
                #expect(try await waitUntilGone(EmbeddedHarness.pids(in: directory + "/pids")).isEmpty, "nor a late starter")
                try "stall".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
                // The slot is released right after the children are reaped.
                let next = try await EmbeddedHarness.notBusy { try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body()) }
                #expect(next.status == 200, "the slot is free again: \(next.text)")
            }
        }

        @Test func shutdownKillsRunningChildren() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let environment = try hangingTools(directory)
            try "stall".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
            try await EmbeddedHarness.run(environment) { host in
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(response.status == .ok)
                var iterator = response.body.makeAsyncIterator()
                let first = try await iterator.next()
                #expect(first?.readableBytes == 1000)
                // The host stops with the stream in progress.
            }
            // The tools record their PIDs as they start; under load the last may not have started
            // when the stream's first bytes arrived, so read the list again once the first are gone.
            let pids = EmbeddedHarness.pids(in: directory + "/pids")
            #expect(pids.count >= 2, "\(pids)")
            #expect(try await waitUntilGone(pids).isEmpty, "no orphans after shutdown")
            #expect(try await waitUntilGone(EmbeddedHarness.pids(in: directory + "/pids")).isEmpty, "no late starter left either")
        }

        @Test func aFailureAfterTheHeadIsAnIncompleteTransfer() async throws {
            let directory = try EmbeddedHarness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let environment = try fakeTools(directory)
            try "midway".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
            try await EmbeddedHarness.run(environment) { host in
                let response = try await YouTubeHarness.stream(host, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "x-video-title") == "Broken")
                var count = 0
                var failure: (any Error)?
                do {
                    for try await chunk in response.body { count += chunk.readableBytes }
                } catch {
                    failure = error
                }
                #expect(failure != nil, "the client must see an incomplete transfer, got \(count) bytes and a clean end")
                #expect(count <= 200_000)
            }
        }
    }
}

extension JSONValue {
    var intValue: Int? { numberValue?.intValue }
}
