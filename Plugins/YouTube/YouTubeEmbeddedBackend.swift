import Foundation
import HTTPTypes
import Hummingbird
import JSONSchema
import Logging
import NIOCore
import RouteHost
import Synchronization

/// The embedded backend: yt-dlp and ffmpeg as child processes, no downloader service.
///
/// - `info`: `yt-dlp -J --no-playlist URL`, mapped to the service's answer
///   (`{"success": true, "data": ``YouTubeVideoInfo/serviceData``, "timestamp"}`).
/// - `mp3`: `yt-dlp -J` (title and duration for the head) and, started at the same time,
///   `yt-dlp --load-info-json - -f bestaudio/best -o -` (the JSON is fed to its standard input
///   once `-J` has it: no second extraction, and the tools' start-up overlaps it) piped into
///   `ffmpeg -i pipe:0 -vn -c:a libmp3lame -b:a <YOUTUBE_MP3_BITRATE> -f mp3 pipe:1`.
/// - `mp4`: a progressive MP4 format (``YouTubeMP4Plan``) streamed as yt-dlp downloads it
///   (byte for byte), else ffmpeg fetching the chosen video and audio formats and muxing them into
///   fragmented MP4 (`-c copy -movflags frag_keyframe+empty_moov`), which needs no seekable output.
///
/// The head is sent only once the pipeline has produced its first bytes, so every failure up to
/// then is a JSON answer (``YouTubeToolFailure``). After the head, a failed or stalled child
/// aborts the connection (the body writer throws): the client sees an incomplete transfer, never a
/// complete-looking truncated file. yt-dlp never retries a download (`--retries 0
/// --fragment-retries 0`): bytes already in the pipe cannot be taken back.
///
/// Children run in their own process groups and are killed (the whole group) when the client's
/// connection closes (``ClientConnection``), a timeout fires, or the host shuts down. At most `YOUTUBE_MAX_CONCURRENT` runs at once
/// (each info or stream counts one); beyond that, 429 with `Retry-After`.
final class YouTubeEmbeddedBackend: YouTubeBackend {
    let settings: YouTubeEmbeddedSettings
    let logger: Logger
    private let active = Mutex<[Int: ProcessPipeline]>([:])
    private let counters = Mutex((running: 0, nextID: 0, shutDown: false))
    private let versions = Mutex<JSONObject>([:])
    /// The tools' version probe, started with the module when it serves.
    private let versionProbe = Mutex<Task<Void, Never>?>(nil)

    static let busyRetryAfter = "5"
    static let maxInfoBytes = 64 << 20

    var kind: String { "embedded" }

    init(settings: YouTubeEmbeddedSettings, logger: Logger, probeVersions: Bool) {
        self.settings = settings
        self.logger = logger
        if probeVersions {
            versionProbe.withLock { $0 = Task { [self] in await self.probeVersions() } }
        }
    }

    // MARK: Routes

    func info(_ target: YouTubeTarget, _ request: HandlerRequest) async throws -> JSONValue {
        let slot = try acquire()
        defer { release(slot) }
        let (info, _) = try await extract(target, logger: request.logger)
        return ["success": true, "data": info.serviceData, "timestamp": .string(YouTubeModule.timestamp(Date()))]
    }

    func stream(_ media: YouTubeMedia, _ target: YouTubeTarget, quality: String, _ request: HandlerRequest) async throws -> Response {
        let slot = try acquire()
        var handedOver = false
        defer { if !handedOver { release(slot) } }
        let logger = request.logger

        // mp3 needs no choice of ours: its pipeline starts at once and gets the info JSON when
        // `yt-dlp -J` has it (the tools' start-up overlaps the extraction).
        var early: (pipeline: ProcessPipeline, id: Int)?
        if media == .mp3 {
            let format = quality == "lowestaudio" ? "worstaudio/worst" : "bestaudio/best"
            let pipeline = try await start([download(format: format), encodeMP3()], input: nil, holdInput: true)
            early = (pipeline, register(pipeline))
        }
        let info: YouTubeVideoInfo
        let raw: [UInt8]
        do {
            (info, raw) = try await extract(target, logger: logger)
        } catch {
            if let early {
                early.pipeline.terminate()
                unregister(early.id)
            }
            throw error
        }

        let commands: [ProcessPipeline.Command]
        let tools: [String]
        let input: [UInt8]?
        switch media {
        case .mp3:
            commands = []
            tools = ["yt-dlp", "ffmpeg"]
            input = raw
        case .mp4:
            guard let plan = YouTubeMP4Plan.choose(quality: quality, formats: info.formats) else {
                let heights = YouTubeMP4Plan.availableHeights(info.formats).map { "\($0)p" }
                var body: JSONObject = [
                    "error": .string("No MP4 format of this video matches quality '\(quality)'"), "code": "quality_unavailable",
                ]
                body["available"] = .array(heights.map(JSONValue.string))
                throw RouteFailure(.unprocessableContent, message: .object(body), body: .object(body))
            }
            switch plan {
            case .progressive(let format):
                commands = [download(format: format.id)]
                tools = ["yt-dlp"]
                input = raw
            case .merge(let video, let audio):
                commands = [mergeMP4(video: video, audio: audio)]
                tools = ["ffmpeg"]
                input = nil
            }
        }

        let pipeline: ProcessPipeline
        let id: Int
        if let early {
            pipeline = early.pipeline
            id = early.id
            pipeline.send(input: raw)
        } else {
            pipeline = try await start(commands, input: input)
            id = register(pipeline)
        }
        var registered = true
        defer { if registered { unregister(id) } }

        // The first bytes decide between a JSON error and a streamed answer.
        let first: ByteBuffer?
        do {
            first = try await withTimeout(settings.extractTimeout, pipeline: pipeline) { try await pipeline.next() }
        } catch let error as TimedOut {
            throw YouTubeToolFailure.make(.gatewayTimeout, "No media within \(YouTubeEmbeddedSettings.seconds(error.limit)) s", code: "timeout")
        } catch {
            pipeline.terminate()
            _ = await pipeline.exits()
            throw error
        }
        guard let first else {
            throw await failure(of: pipeline, tools: tools, emptyOutput: true)
        }

        var fields = HTTPFields()
        if let title = info.title { fields[YouTubeStreamHeaders.videoTitle] = title }
        if let duration = info.duration { fields[YouTubeStreamHeaders.videoDuration] = String(duration) }
        var headers = YouTubeStreamHeaders.make(upstream: fields, media: media, videoID: target.fallbackStem)
        if let title = info.title, let name = ContentDisposition.sanitize(title, maxBytes: 190) {
            headers[.contentDisposition] = ContentDisposition.attachment(filename: "\(name).\(media.fileExtension)", fallbackStem: target.fallbackStem)
        }
        headers[.contentType] = media.defaultContentType

        handedOver = true
        registered = false
        let idleTimeout = settings.idleTimeout
        let clientStallTimeout = settings.clientStallTimeout
        // Ends the run once, whether the body ran or not: Hummingbird drops the body unrun when
        // the head cannot be written (the client left during the extraction).
        let lease = StreamLease { [self] in
            pipeline.terminate()
            unregister(id)
            release(slot)
        }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { [connection = request.connection] writer in
                defer { lease.end() }
                // A client that leaves ends the children at once, not at the next failed write.
                let watch = connection.onClose { pipeline.terminate() }
                defer { watch.cancel() }
                // The tools silent for the idle timeout, or one write to the client waiting for the
                // stall timeout (it stopped reading: Hummingbird's idle timer does not run while a
                // response is written): either ends the children; a stalled client's connection is
                // closed, which fails the waiting write.
                let state = StreamWatch()
                let watchdog = Task {
                    let interval = min(max(min(idleTimeout, clientStallTimeout) / 4, .milliseconds(5)), .seconds(1))
                    while !Task.isCancelled {
                        try await Task.sleep(for: interval)
                        let now = ContinuousClock.now
                        if let since = pipeline.waitingSince, now - since >= idleTimeout {
                            state.stall.withLock { $0 = .tools }
                            pipeline.terminate()
                            return
                        }
                        if let since = state.writingSince.withLock({ $0 }), now - since >= clientStallTimeout {
                            state.stall.withLock { $0 = .client }
                            pipeline.terminate()
                            connection.close()
                            return
                        }
                    }
                }
                defer { watchdog.cancel() }
                func timed(_ write: () async throws -> Void) async throws {
                    state.writingSince.withLock { $0 = .now }
                    defer { state.writingSince.withLock { $0 = nil } }
                    try await write()
                }
                var bytes = first.readableBytes
                do {
                    try await timed { try await writer.write(first) }
                    while let chunk = try await pipeline.next() {
                        bytes += chunk.readableBytes
                        try await timed { try await writer.write(chunk) }
                    }
                } catch {
                    pipeline.terminate()
                    _ = await pipeline.exits()
                    switch state.stall.withLock({ $0 }) {
                    case .tools:
                        logger.error("embedded stream stalled", metadata: ["bytes": "\(bytes)", "idle_timeout": "\(idleTimeout)"])
                    case .client:
                        logger.notice("client stopped reading; connection closed, tools ended", metadata: [
                            "bytes": "\(bytes)", "client_stall_timeout": "\(clientStallTimeout.secondsValue)",
                        ])
                    case nil:
                        logger.info("embedded stream ended early (client gone or cancelled)", metadata: ["bytes": "\(bytes)"])
                    }
                    throw error
                }
                let endings = await pipeline.exits()
                if let index = endings.firstIndex(where: { !$0.isSuccess }) {
                    let stderr = await pipeline.stderr(of: index)
                    logger.error(
                        "embedded stream failed after the head",
                        metadata: ["tool": "\(tools[index])", "ending": "\(endings[index])", "bytes": "\(bytes)",
                                   "stderr": "\(stderr.suffix(500))"])
                    throw EmbeddedStreamFailure.childFailed(tool: tools[index], termination: endings[index])
                }
                try await timed { try await writer.finish(nil) }
            })
    }

    /// What a stream's watchdog saw: since when a write to the client has waited, and what stalled.
    final class StreamWatch: Sendable {
        let writingSince = Mutex<ContinuousClock.Instant?>(nil)
        let stall = Mutex<StreamStall?>(nil)
    }

    /// What stopped a stream after its head.
    enum StreamStall: Sendable {
        /// The tools wrote nothing for the idle timeout.
        case tools
        /// One write to the client waited for the client-stall timeout.
        case client
    }

    /// Runs `cleanup` once: at ``end()``, or when dropped without it.
    final class StreamLease: Sendable {
        private let cleanup: Mutex<(@Sendable () -> Void)?>

        init(_ cleanup: @escaping @Sendable () -> Void) {
            self.cleanup = Mutex(cleanup)
        }

        func end() {
            cleanup.withLock { cleanup in defer { cleanup = nil }; return cleanup }?()
        }

        deinit { end() }
    }

    /// Why a stream was aborted after its head.
    enum EmbeddedStreamFailure: Error {
        case childFailed(tool: String, termination: ChildProcess.Termination)
    }

    // MARK: yt-dlp -J

    /// Runs `yt-dlp -J`; returns the parsed info and its raw bytes.
    func extract(_ target: YouTubeTarget, logger: Logger) async throws -> (YouTubeVideoInfo, [UInt8]) {
        let command = ProcessPipeline.Command(settings.ytdlp, settings.ytdlpCommonArguments + ["-J", "--", target.url])
        let pipeline = try await start([command], input: nil)
        let id = register(pipeline)
        defer { unregister(id) }
        var raw: [UInt8] = []
        do {
            try await withTimeout(settings.extractTimeout, pipeline: pipeline) {
                while let chunk = try await pipeline.next() {
                    raw.append(contentsOf: chunk.readableBytesView)
                    if raw.count > Self.maxInfoBytes {
                        pipeline.terminate()
                        throw YouTubeToolFailure.make(.badGateway, "yt-dlp's answer is too large", code: "extraction_failed")
                    }
                }
            }
        } catch let error as TimedOut {
            throw YouTubeToolFailure.make(.gatewayTimeout, "yt-dlp did not answer within \(YouTubeEmbeddedSettings.seconds(error.limit)) s", code: "timeout")
        } catch {
            pipeline.terminate()
            _ = await pipeline.exits()
            throw error
        }
        let endings = await pipeline.exits()
        guard endings.allSatisfy(\.isSuccess) else {
            throw await failure(of: pipeline, tools: ["yt-dlp"], emptyOutput: false)
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(raw)
        } catch {
            logger.error("yt-dlp -J printed something that is not JSON", metadata: ["bytes": "\(raw.count)"])
            throw YouTubeToolFailure.make(.badGateway, "yt-dlp returned an invalid answer", code: "extraction_failed")
        }
        guard case .object = json, json["_type"]?.stringValue ?? "video" == "video" else {
            throw YouTubeToolFailure.make(.badRequest, "This URL is not a single video", code: "unsupported_url")
        }
        return (YouTubeVideoInfo(json), raw)
    }

    // MARK: Commands

    func download(format: String) -> ProcessPipeline.Command {
        ProcessPipeline.Command(
            settings.ytdlp,
            settings.ytdlpCommonArguments + [
                "--load-info-json", "-", "-f", format, "-o", "-",
                "--retries", "0", "--fragment-retries", "0", "--no-part", "--no-continue", "--no-mtime", "--quiet",
            ])
    }

    func encodeMP3() -> ProcessPipeline.Command {
        ProcessPipeline.Command(
            settings.ffmpeg,
            ["-hide_banner", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "pipe", "-i", "pipe:0", "-vn", "-sn", "-dn",
             "-c:a", "libmp3lame", "-b:a", settings.mp3Bitrate, "-f", "mp3", "pipe:1"])
    }

    func mergeMP4(video: YouTubeVideoInfo.Format, audio: YouTubeVideoInfo.Format) -> ProcessPipeline.Command {
        let timeout = String(Int64(settings.socketTimeout.secondsValue * 1_000_000))
        func input(_ format: YouTubeVideoInfo.Format) -> [String] {
            var arguments = ["-protocol_whitelist", "http,https,tcp,tls,crypto", "-rw_timeout", timeout]
            let headers = format.httpHeaders.filter { key, value in
                !key.contains(where: \.isNewline) && !value.contains(where: \.isNewline)
            }
            if !headers.isEmpty { arguments += ["-headers", headers.map { "\($0.0): \($0.1)\r\n" }.joined()] }
            return arguments + ["-i", format.url ?? ""]
        }
        return ProcessPipeline.Command(
            settings.ffmpeg,
            ["-hide_banner", "-nostdin", "-loglevel", "error"] + input(video) + input(audio)
                + ["-map", "0:v:0", "-map", "1:a:0", "-c", "copy", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1"])
    }

    // MARK: Processes

    private func start(_ commands: [ProcessPipeline.Command], input: [UInt8]?, holdInput: Bool = false) async throws -> ProcessPipeline {
        do {
            return try await ProcessPipeline.start(commands, input: input, holdInput: holdInput, environment: settings.childEnvironment)
        } catch {
            logger.error("cannot start the YouTube tools", metadata: ["error": "\(error)"])
            throw YouTubeToolFailure.make(.badGateway, "The YouTube tools could not be started", code: "process_failed")
        }
    }

    /// The failure of a pipeline that ended without (enough) output: the first tool that failed
    /// names it.
    private func failure(of pipeline: ProcessPipeline, tools: [String], emptyOutput: Bool) async -> RouteFailure {
        let endings = await pipeline.exits()
        // A writer that died of a closed pipe (SIGPIPE, or Python's "Broken pipe") is the victim of
        // its reader's failure: blame the reader.
        var failures: [(index: Int, stderr: String, victim: Bool)] = []
        for index in endings.indices where !endings[index].isSuccess {
            let stderr = await pipeline.stderr(of: index)
            let victim = endings[index] == .signalled(SIGPIPE) || stderr.lowercased().contains("broken pipe")
            failures.append((index, stderr, victim))
        }
        if let culprit = failures.first(where: { !$0.victim }) ?? failures.first {
            let ending = endings[culprit.index]
            logger.warning("\(tools[culprit.index]) failed", metadata: ["ending": "\(ending)", "stderr": "\(culprit.stderr.suffix(1000))"])
            return YouTubeToolFailure.failure(stderr: culprit.stderr, termination: ending, tool: tools[culprit.index])
        }
        return YouTubeToolFailure.make(.badGateway, emptyOutput ? "The tools produced no media" : "yt-dlp failed", code: "empty_output")
    }

    struct TimedOut: Error {
        var limit: Duration
    }

    /// Runs `body`, killing the pipeline and throwing ``TimedOut`` after `limit`; a cancelled task
    /// kills it too.
    private func withTimeout<T: Sendable>(_ limit: Duration, pipeline: ProcessPipeline, _ body: () async throws -> T) async throws -> T {
        let fired = Mutex(false)
        let timer = Task {
            try await Task.sleep(for: limit)
            fired.withLock { $0 = true }
            pipeline.terminate()
        }
        defer { timer.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await body()
            } onCancel: {
                pipeline.terminate()
            }
        } catch {
            if fired.withLock({ $0 }) {
                _ = await pipeline.exits()
                throw TimedOut(limit: limit)
            }
            throw error
        }
    }

    // MARK: Bookkeeping

    private func acquire() throws -> Int {
        let slot = counters.withLock { counters -> Int? in
            guard !counters.shutDown, counters.running < settings.maxConcurrent else { return nil }
            counters.running += 1
            counters.nextID += 1
            return counters.nextID
        }
        guard let slot else {
            throw RouteFailure(
                .tooManyRequests,
                message: ["error": .string("Too many YouTube downloads in progress (YOUTUBE_MAX_CONCURRENT=\(settings.maxConcurrent)); try again shortly"), "code": "busy"],
                body: ["error": .string("Too many YouTube downloads in progress (YOUTUBE_MAX_CONCURRENT=\(settings.maxConcurrent)); try again shortly"), "code": "busy"],
                headers: [HTTPField.Name("Retry-After")!: Self.busyRetryAfter])
        }
        return slot
    }

    private func release(_ slot: Int) {
        counters.withLock { $0.running -= 1 }
    }

    private func register(_ pipeline: ProcessPipeline) -> Int {
        let (id, shutDown) = counters.withLock { counters in
            counters.nextID += 1
            return (counters.nextID, counters.shutDown)
        }
        active.withLock { $0[id] = pipeline }
        if shutDown { pipeline.terminate() }
        return id
    }

    private func unregister(_ id: Int) {
        _ = active.withLock { $0.removeValue(forKey: id) }
    }

    /// The process ids of every running child (for tests and discovery).
    var activePIDs: [Int32] { active.withLock { $0.values.flatMap(\.pids) } }

    func shutdown() async {
        counters.withLock { $0.shutDown = true }
        let all = active.withLock { Array($0.values) }
        for pipeline in all { pipeline.terminate() }
        for pipeline in all { _ = await pipeline.exits() }
    }

    // MARK: Health and discovery

    private func probeVersions() async {
        for (name, path, arguments) in [("yt-dlp", settings.ytdlp, ["--version"]), ("ffmpeg", settings.ffmpeg, ["-version"])] {
            guard let pipeline = try? await ProcessPipeline.start([.init(path, arguments)], environment: settings.childEnvironment) else {
                versions.withLock { $0[name] = "cannot start" }
                continue
            }
            let id = register(pipeline)
            var text: [UInt8] = []
            _ = try? await withTimeout(.seconds(10), pipeline: pipeline) {
                while let chunk = try await pipeline.next(), text.count < 4096 { text.append(contentsOf: chunk.readableBytesView) }
            }
            pipeline.terminate()
            unregister(id)
            let line = String(decoding: text, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? "unknown"
            let version = name == "ffmpeg" ? (line.split(separator: " ").dropFirst(2).first.map(String.init) ?? line) : line
            versions.withLock { $0[name] = .string(version) }
        }
    }

    /// Healthy unless a tool's version probe found that it cannot start. Waits for that probe
    /// (started with the module: a second or two for yt-dlp's Python start-up, at most 10 s per
    /// tool); discovery does not, and counts the tools found at start-up as usable until it has run.
    func healthAnswer(refresh: Bool) async -> HandlerResponse {
        await versionProbe.withLock { $0 }?.value
        var object = JSONObject()
        if let broken = brokenTool() {
            object["status"] = "unhealthy"
            object["error"] = .string("\(broken.name) at \(broken.path) cannot start")
            object["url"] = .null
        } else {
            object["status"] = "healthy"
            object["microservice"] = .object(toolsDocument())
            object["url"] = .null
            object["timeout"] = .number(JSONNumber(settings.extractTimeout.secondsValue))
        }
        object["backend"] = "embedded"
        for (key, value) in backendDocument() where key != "type" { object[key] = value }
        return HandlerResponse(.object(object), status: object["status"] == "healthy" ? .ok : .serviceUnavailable)
    }

    func serviceStatus() -> YouTubeServiceStatus {
        let healthy = brokenTool() == nil
        return YouTubeServiceStatus(url: nil, healthy: healthy, info: healthy ? toolsDocument() : [:])
    }

    /// The tools as discovery's `microservice_info` and health's `microservice` show them.
    func toolsDocument() -> JSONObject {
        let known = versions.withLock { $0 }
        var tools = JSONObject()
        for (name, path) in [("yt-dlp", settings.ytdlp), ("ffmpeg", settings.ffmpeg)] {
            tools[name] = ["path": .string(path), "version": known[name] ?? "unknown"]
        }
        return ["service": "embedded", "description": "yt-dlp and ffmpeg run by RouteHost", "tools": .object(tools), "js_runtime": jsRuntimeDocument]
    }

    /// The JavaScript runtime yt-dlp gets, or that it has none and how to get one.
    var jsRuntimeDocument: JSONValue {
        guard let runtime = settings.jsRuntime else {
            return ["missing": true, "fix": .string(YouTubeEmbeddedSettings.jsRuntimeHint)]
        }
        return ["name": .string(runtime.name), "path": .string(runtime.path)]
    }

    private func brokenTool() -> (name: String, path: String)? {
        let known = versions.withLock { $0 }
        for (name, path) in [("yt-dlp", settings.ytdlp), ("ffmpeg", settings.ffmpeg)] where known[name] == "cannot start" {
            return (name, path)
        }
        return nil
    }

    func moduleHealth() async -> ModuleHealth {
        var details = JSONObject()
        details["backend"] = "embedded"
        let running = counters.withLock { $0.running }
        details["active"] = .number(JSONNumber(running))
        details["max_concurrent"] = .number(JSONNumber(settings.maxConcurrent))
        guard settings.jsRuntime != nil else {
            // The tools run, but real YouTube pages fail without a runtime for their challenges.
            details["reason"] = "no JavaScript runtime for yt-dlp (YouTube pages need one)"
            details["fix"] = .string(YouTubeEmbeddedSettings.jsRuntimeHint)
            return ModuleHealth(status: .degraded, details: details)
        }
        return ModuleHealth(status: .healthy, details: details)
    }

    func backendDocument() -> JSONObject {
        var object = JSONObject()
        object["type"] = "embedded"
        object["yt_dlp"] = .string(settings.ytdlp)
        object["ffmpeg"] = .string(settings.ffmpeg)
        object["versions"] = .object(versions.withLock { $0 })
        object["active"] = .number(JSONNumber(counters.withLock { $0.running }))
        object["max_concurrent"] = .number(JSONNumber(settings.maxConcurrent))
        object["js_runtime"] = jsRuntimeDocument
        return object
    }

    /// The settings, with the original's three keys: the extraction timeout, and no retries
    /// (bytes already streamed cannot be taken back).
    var configurationDocument: JSONValue {
        var object = settings.json.objectValue ?? [:]
        object["timeout"] = .number(JSONNumber(settings.extractTimeout.secondsValue))
        object["retry_attempts"] = 0
        object["retry_delay"] = 0
        return .object(object)
    }
}
