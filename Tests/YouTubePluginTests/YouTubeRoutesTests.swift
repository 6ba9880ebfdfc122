import AsyncHTTPClient
import Foundation
import HTTPTypes
import JSONSchema
import NIOCore
import RouteHost
import RouteHostTestSupport
import Testing
import YouTubePlugin

extension LiveYouTubeTests {
    /// Relay behaviour over real sockets: the live host with the repository's routes.json, relaying
    /// to a fake downloader. Serialized: the timing bounds assume the machine is not shared by
    /// another test.
    @Suite struct RoutesTests {
        // MARK: Input

        @Test func infoPutsTheDownloadersWholeAnswerInTheEnvelopeAndNormalisesTheURL() async throws {
            try await YouTubeHarness.run { host, fake in
                let answer = try await host.request(.post, "/v1/media/youtube/info", json: #"{"url":"https://youtu.be/dQw4w9WgXcQ?t=42","id":"ref-1"}"#)
                #expect(answer.status == 200)
                let envelope = try #require(answer.json)
                #expect(envelope["code"] == 200)
                #expect(envelope["id"] == "ref-1")
                #expect(envelope["message"] == "success")
                #expect(envelope["endpoint"] == "/v1/media/youtube/info")
                // As the original: the downloader's JSON as it came, every member in its order.
                let response = try #require(envelope["response"]?.objectValue)
                #expect(response.keys == ["success", "data", "timestamp", "cache"])
                #expect(response["success"] == true)
                #expect(response["cache"] == ["hit": false, "age": 0])
                #expect(response["data"]?.objectValue?.keys.first == "videoId")
                #expect(response["data"]?["videoId"] == "dQw4w9WgXcQ")
                #expect(response["data"]?["author"]?["name"] == "Someone")
                #expect(fake.stats.lastBody(.info) == ["url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"])
            }
        }

        @Test func queuedInfoIsDeliveredToTheWebhookWithTheSameJobID() async throws {
            try await WebhookReceiver.with { receiver in
                try await YouTubeHarness.run { host, fake in
                    let body = #"{"url":"https://youtu.be/dQw4w9WgXcQ","id":"queued-1","webhook_url":"\#(receiver.url)"}"#
                    let accepted = try await host.request(.post, "/v1/media/youtube/info", json: body)
                    #expect(accepted.status == 202)
                    let jobID = try #require(accepted.json?["job_id"]?.stringValue)
                    #expect(accepted.json?["message"] == "processing")
                    #expect(accepted.json?["id"] == "queued-1")
                    try await receiver.waitForDeliveries(1)
                    let delivered = try #require(receiver.successes.first?.json)
                    #expect(delivered["job_id"] == .string(jobID))
                    #expect(delivered["code"] == 200)
                    #expect(delivered["id"] == "queued-1")
                    #expect(delivered["response"]?["data"]?["videoId"] == "dQw4w9WgXcQ")
                    #expect(delivered["response"]?["success"] == true)
                    #expect(fake.count(.info) == 1)
                    let status = try await host.request(.post, "/v1/toolkit/job/status", json: #"{"job_id":"\#(jobID)"}"#)
                    #expect(status.json?["response"]?["job_status"] == "done")
                    #expect(status.json?["response"]?["response"]?["response"]?["data"]?["videoId"] == "dQw4w9WgXcQ")
                }
            }
        }

        @Test func invalidURLsAndQualitiesAre400WithoutAnyUpstreamCall() async throws {
            try await YouTubeHarness.run { host, fake in
                let bad = [
                    ("/v1/media/youtube/info", #"{"url":"https://vimeo.com/123"}"#),
                    ("/v1/media/youtube/mp3", #"{"url":"https://youtube.com/watch?v=short"}"#),
                    ("/v1/media/youtube/mp4", #"{"url":"https://youtu.be/dQw4w9WgXcQ","quality":"999p"}"#),
                    ("/v1/media/youtube/mp3", #"{"url":"https://youtu.be/dQw4w9WgXcQ","quality":"highest"}"#),
                    ("/v1/media/youtube/mp3", #"{"url":42}"#),
                ]
                for (path, body) in bad {
                    let answer = try await host.request(.post, path, json: body)
                    #expect(answer.status == 400, "\(path) \(body)")
                    let message = answer.json?["message"]?.stringValue ?? answer.json?["message"]?.stringValue ?? ""
                    #expect(message.hasPrefix("Invalid payload: "), "\(answer.text)")
                }
                let info = try await host.request(.post, "/v1/media/youtube/info", json: #"{"url":"https://vimeo.com/123"}"#)
                #expect(info.json?["message"]?.stringValue?.contains("YouTube video URL") == true)
                #expect(fake.count(.info) + fake.count(.mp3) + fake.count(.mp4) == 0)
            }
        }

        @Test func qualityDefaultsAndIsForwarded() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.media.size = 1000
                _ = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body("https://m.youtube.com/shorts/dQw4w9WgXcQ"))
                #expect(fake.stats.lastBody(.mp3) == ["url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "quality": "highestaudio"])
                _ = try await host.request(.post, "/v1/media/youtube/mp4", json: #"{"url":"https://youtu.be/dQw4w9WgXcQ","quality":"720p"}"#)
                #expect(fake.stats.lastBody(.mp4) == ["url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "quality": "720p"])
                _ = try await host.request(.post, "/v1/media/youtube/mp4", json: #"{"url":"https://youtu.be/dQw4w9WgXcQ"}"#)
                #expect(fake.stats.lastBody(.mp4)?["quality"] == "highest")
            }
        }

        /// The original integration's discovery and health documents, from the health cache, with
        /// the service URL's credentials kept out of both.
        @Test func discoveryAndHealthAnswerTheOriginalsShapesWithoutSecrets() async throws {
            try await FakeDownloader.withRunning { fake in
                var environment = YouTubeHarness.fastSettings
                environment["YOUTUBE_RETRY_ATTEMPTS"] = "4"
                environment["YOUTUBE_SERVICE_URL"] = "http://relay:s3cr3t@127.0.0.1:\(fake.port)"
                try await LiveHost.withRunning(
                    manifestPath: YouTubeHarness.repositoryRoot.appendingPathComponent("routes.json").path, environment: environment,
                    catalog: .withBuiltIns([YouTubeModule.self])
                ) { host in
                    // Health waits for the first probe (started with the host); discovery never does.
                    let health = try await host.request(.get, "/v1/media/youtube/health")
                    #expect(health.status == 200)
                    let healthy = try #require(health.json?.objectValue)
                    #expect(Array(healthy.keys.prefix(4)) == ["status", "microservice", "url", "timeout"])
                    #expect(healthy["status"] == "healthy")
                    #expect(healthy["microservice"]?["service"] == "youtube-downloader")
                    #expect(healthy["microservice"]?["status"] == "healthy")
                    #expect(healthy["url"] == .string(fake.baseURL))
                    #expect(healthy["timeout"] == 5)

                    let answer = try await host.request(.get, "/v1/media/youtube")
                    #expect(answer.status == 200)
                    let document = try #require(answer.json?.objectValue)
                    #expect(Array(document.keys.prefix(7)) == [
                        "service", "version", "microservice_url", "microservice_healthy", "microservice_info", "endpoints", "configuration",
                    ])
                    #expect(document["service"] == "YouTube Integration")
                    #expect(document["version"] == .string(RouteHostVersion.current))
                    #expect(document["microservice_url"] == .string(fake.baseURL))
                    #expect(document["microservice_healthy"] == true)
                    #expect(document["microservice_info"]?["service"] == "youtube-downloader")
                    #expect(document["microservice_info"]?["endpoints"]?.arrayValue?.count == 4)
                    #expect(document["endpoints"] == [
                        "/v1/media/youtube": "GET - Service information",
                        "/v1/media/youtube/health": "GET - Health check",
                        "/v1/media/youtube/info": "POST - Get video information",
                        "/v1/media/youtube/mp3": "POST - Download audio as MP3 (streaming)",
                        "/v1/media/youtube/mp4": "POST - Download video as MP4 (streaming)",
                    ])
                    #expect(document["configuration"]?["timeout"] == 5)
                    #expect(document["configuration"]?["retry_attempts"] == 4)
                    #expect(document["configuration"]?["retry_delay"] == 0.01)
                    #expect(document["backend"]?["circuit"]?["state"] == "closed")
                    #expect(document["routes"]?.arrayValue?.count == 5)
                    for text in [health.text, answer.text] {
                        #expect(!text.contains("s3cr3t") && !text.contains("relay@"), "\(text)")
                        #expect(!text.contains(host.apiKey))
                    }
                    #expect(fake.count(.healthz) == 1 && fake.count(.root) == 1, "discovery reads the cache")

                    // Unhealthy: 503 with the reason, and discovery says so without details.
                    fake.set(.alwaysFail(status: 503), for: .healthz)
                    let unhealthy = try await host.request(.get, "/v1/media/youtube/health?refresh=true")
                    #expect(unhealthy.status == 503)
                    let failed = try #require(unhealthy.json?.objectValue)
                    #expect(Array(failed.keys.prefix(3)) == ["status", "error", "url"])
                    #expect(failed["status"] == "unhealthy")
                    #expect(failed["error"] == "HTTP 503 (unhealthy)")
                    let later = try await host.request(.get, "/v1/media/youtube")
                    #expect(later.json?["microservice_healthy"] == false)
                    #expect(later.json?["microservice_info"] == .object([:]))

                    let unauthenticated = try await host.request(.get, "/v1/media/youtube", key: nil)
                    #expect(unauthenticated.status == 401)
                }
            }
        }

        /// The checks the original integration's live test script makes, and its clients' job
        /// calls, against the repository's routes.json and a downloader: they pass unchanged.
        @Test func theOriginalIntegrationsLiveChecksPass() async throws {
            try await YouTubeHarness.run { host, _ in
                // 1. Service discovery lists the five endpoints by full path.
                let discovery = try await host.request(.get, "/v1/media/youtube")
                #expect(discovery.status == 200)
                let endpoints = try #require(discovery.json?["endpoints"]?.objectValue)
                for path in ["/v1/media/youtube", "/v1/media/youtube/health", "/v1/media/youtube/info",
                             "/v1/media/youtube/mp3", "/v1/media/youtube/mp4"] {
                    #expect(endpoints[path] != nil, "\(path) in endpoints")
                }
                // 2. Health.
                let health = try await host.request(.get, "/v1/media/youtube/health")
                #expect(health.status == 200)
                #expect(health.json?["status"] == "healthy")
                // 3. No key, no service.
                #expect(try await host.request(.get, "/v1/media/youtube", key: nil).status == 401)
                // 4. A URL that is not YouTube's.
                #expect(try await host.request(.post, "/v1/media/youtube/info", json: #"{"url":"https://vimeo.com/123456"}"#).status == 400)
                // 5. A YouTube URL: the downloader's answer, read as response.data.videoId.
                let info = try await host.request(.post, "/v1/media/youtube/info", json: #"{"url":"https://www.youtube.com/watch?v=dQw4w9WgXcQ"}"#)
                #expect(info.status == 200)
                #expect(info.json?["response"]?["success"] == true)
                #expect(info.json?["response"]?["data"]?["videoId"] == "dQw4w9WgXcQ")
                let jobID = try #require(info.json?["job_id"]?.stringValue)

                // The job calls of its clients' smoke scripts.
                var noBody = HTTPClientRequest(url: host.baseURL + "/v1/toolkit/jobs/status")
                noBody.method = .POST
                noBody.headers.add(name: "X-API-Key", value: host.apiKey)
                let window = try await host.client.execute(noBody, timeout: .seconds(30))
                #expect(window.status == .ok)
                let listed = try JSONParser.parse(Array(buffer: try await window.body.collect(upTo: 1 << 20)))
                #expect(listed["response"]?[jobID] == "done")
                let ignored = try await host.request(.post, "/v1/toolkit/jobs/status", json: #"{"job_ids":["\#(jobID)"]}"#)
                #expect(ignored.status == 200)
                let unknown = try await host.request(.post, "/v1/toolkit/job/status", json: #"{"job_id":"test-123","id":"smoke"}"#)
                #expect(unknown.status == 404)
                #expect(unknown.json?["message"] == ["error": "Job not found", "job_id": "test-123"])
                #expect(unknown.json?["id"] == "smoke")
                let known = try await host.request(.post, "/v1/toolkit/job/status", json: #"{"job_id":"\#(jobID)"}"#)
                #expect(known.json?["response"]?["response"]?["response"]?["data"]?["videoId"] == "dQw4w9WgXcQ")
            }
        }

        // MARK: Retries

        @Test func retriesServerErrorsWithBackoffThenSucceeds() async throws {
            try await YouTubeHarness.run(["YOUTUBE_RETRY_DELAY": "0.05"]) { host, fake in
                fake.media.size = 10_000
                fake.set(.failTimes(2, status: 503), for: .mp3)
                let started = ContinuousClock.now
                let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                let elapsed = ContinuousClock.now - started
                #expect(answer.status == 200)
                #expect(answer.body.readableBytes == 10_000)
                #expect(fake.count(.mp3) == 3)
                // 0.05 s then 0.1 s, each plus up to 50 % jitter.
                #expect(elapsed >= .milliseconds(150))
                #expect(elapsed < .milliseconds(1500))
            }
        }

        @Test func gives502AfterTheLastAttemptWithoutLeakingTheUpstreamBody() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.set(.alwaysFail(status: 500), for: .mp3, .info)
                let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 502)
                #expect(answer.json == ["error": "YouTube service failed", "reason": "HTTP 500"])
                #expect(!answer.text.contains("Simulated") && !answer.text.contains("from the fake"))
                #expect(fake.count(.mp3) == 3)
                let info = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                #expect(info.status == 502)
                #expect(info.json?["code"] == 502)
                #expect(info.json?["message"]?["error"] == "YouTube service failed")
                #expect(!info.text.contains("secret.js") && !info.text.contains("Simulated"))
                #expect(fake.count(.info) == 3)
            }
        }

        @Test func honoursRetryAfterAndStopsWhenItIsTooLong() async throws {
            try await YouTubeHarness.run(["YOUTUBE_RETRY_AFTER_MAX": "5"]) { host, fake in
                fake.media.size = 100
                fake.set(.failTimes(1, status: 503, retryAfter: "1"), for: .mp3)
                let started = ContinuousClock.now
                let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 200)
                #expect(ContinuousClock.now - started >= .seconds(1))
                #expect(fake.count(.mp3) == 2)

                fake.set(.alwaysFail(status: 503, retryAfter: "120"), for: .mp4)
                let refused = try await host.request(.post, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(refused.status == 503)
                #expect(refused.headers[.retryAfter] == "120")
                #expect(fake.count(.mp4) == 1)
            }
        }

        @Test func refusedConnectionsAreRetriedThenA503() async throws {
            let closedPort = try await FakeDownloader.withRunning { $0.baseURL }
            try await YouTubeHarness.run(serviceURL: closedPort) { host, _ in
                let started = ContinuousClock.now
                let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 503)
                #expect(answer.json?["error"] == "YouTube service is currently unavailable")
                #expect(answer.json?["reason"] == "could not connect to the service")
                #expect(ContinuousClock.now - started < .seconds(2))
                let health = try await host.request(.get, "/v1/media/youtube/health")
                #expect(health.status == 503)
                #expect(health.json?["status"] == "unavailable")
                #expect(health.json?["error"] == "could not connect to the service")
                #expect(health.json?["url"] == .string(closedPort))
            }
        }

        @Test func aSlowHeadTimesOutPerAttemptAsA504() async throws {
            // A head that never comes, against a timeout long enough for any machine to reach the fake.
            try await YouTubeHarness.run(["YOUTUBE_SERVICE_TIMEOUT": "1", "YOUTUBE_RETRY_ATTEMPTS": "2"]) { host, fake in
                fake.set(.slowHead(.seconds(3600)), for: .info)
                let started = ContinuousClock.now
                let answer = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 504)
                #expect(answer.json?["message"]?["error"] == "YouTube service did not respond in time")
                #expect(fake.count(.info) == 2)
                #expect(ContinuousClock.now - started < .seconds(30), "two attempts of a second each, not the hour-long head")
            }
        }

        // MARK: Pass-through

        @Test func clientErrorsPassThroughWithTheirStatusAndJSON() async throws {
            try await YouTubeHarness.run { host, fake in
                let upstream = #"{"success":false,"error":"Video unavailable","message":"This video is private"}"#
                fake.set(.answer(status: 404, body: upstream), for: .mp3, .info)
                let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 404)
                #expect(answer.json == (try JSONParser.parse(upstream)))
                #expect(fake.count(.mp3) == 1)
                let info = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                #expect(info.status == 404)
                #expect(info.json?["code"] == 404)
                #expect(info.json?["message"]?["error"] == "Video unavailable")
                #expect(info.json?["response"] == .null)
            }
        }

        @Test func plainTextErrorsAreWrapped() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.set(.answer(status: 403, body: "Forbidden: region locked\n", contentType: "text/plain"), for: .mp4)
                let answer = try await host.request(.post, "/v1/media/youtube/mp4", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 403)
                #expect(answer.json == ["error": "Forbidden: region locked"])
                #expect(answer.headers[.contentType] == "application/json")
            }
        }

        @Test func tooManyRequestsPassesThroughWithRetryAfter() async throws {
            try await YouTubeHarness.run { host, fake in
                fake.set(.answer(status: 429, body: #"{"success":false,"error":"Too many requests"}"#, headers: ["Retry-After": "7"]), for: .mp3)
                let answer = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(answer.status == 429)
                #expect(answer.headers[.retryAfter] == "7")
                #expect(answer.json?["error"] == "Too many requests")
                #expect(fake.count(.mp3) == 1)
            }
        }

        // MARK: Circuit breaker

        /// The cool-down passes on an adjustable clock and the trial is held by a gate: nothing
        /// here depends on how fast the machine is.
        @Test func breakerOpensHalfOpensAndCloses() async throws {
            let settings = ["YOUTUBE_BREAKER_THRESHOLD": "2", "YOUTUBE_BREAKER_COOLDOWN": "30", "YOUTUBE_RETRY_ATTEMPTS": "2"]
            let clock = HostClock.adjustable()
            try await YouTubeHarness.run(settings, clock: clock) { host, fake in
                fake.media.size = 100
                fake.set(.alwaysFail(status: 500), for: .mp3)
                for _ in 0..<2 {
                    #expect(try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body()).status == 502)
                }
                #expect(fake.count(.mp3) == 4, "each request counts once, after its 2 attempts")
                let refused = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                #expect(refused.status == 503)
                #expect(refused.json == ["error": "YouTube service is currently unavailable"])
                #expect(refused.headers[.retryAfter] == "30")
                #expect(fake.count(.mp3) == 4, "refused without an upstream call")
                let discovery = try await host.request(.get, "/v1/media/youtube")
                #expect(discovery.json?["backend"]?["circuit"]?["state"] == "open")

                // Cool-down over: one trial, which fails: open again at once, one more upstream call.
                clock.advance(by: .seconds(30))
                #expect(try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body()).status == 502)
                #expect(fake.count(.mp3) == 5, "a trial is a single attempt")
                #expect(try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body()).status == 503)

                // The next trial is held; a second request during it is refused; the trial's success closes.
                clock.advance(by: .seconds(30))
                let gate = TestGate()
                fake.set(.heldUntil(gate), for: .mp3)
                async let trial = host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                try await fake.waitUntil { $0.count(.mp3) == 6 }
                #expect(try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body()).status == 503)
                gate.open()
                #expect(try await trial.status == 200)
                let closed = try await host.request(.get, "/v1/media/youtube")
                #expect(closed.json?["backend"]?["circuit"]?["state"] == "closed")
                #expect(try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body()).status == 200)
            }
        }

        // MARK: Health

        /// Lifetimes pass on an adjustable clock and probes are held by gates, so that every step
        /// is an event the test waits for, not a window it must hit.
        @Test func healthIsCachedAndRefreshable() async throws {
            let clock = HostClock.adjustable()
            try await YouTubeHarness.run(["YOUTUBE_HEALTH_TTL": "10"], clock: clock) { host, fake in
                // The first probe starts with the host; health waits for it, then answers from the cache.
                for _ in 0..<5 {
                    let answer = try await host.request(.get, "/v1/media/youtube/health")
                    #expect(answer.status == 200)
                    #expect(answer.json?["status"] == "healthy")
                    #expect(answer.json?["microservice"]?["service"] == "youtube-downloader")
                }
                #expect(fake.count(.healthz) == 1)
                _ = try await host.request(.get, "/v1/media/youtube/health?refresh=true")
                #expect(fake.count(.healthz) == 2)

                // Streams, info and the host's /health never probe.
                fake.media.size = 100
                _ = try await host.request(.post, "/v1/media/youtube/mp3", json: YouTubeHarness.mp3Body())
                _ = try await host.request(.post, "/v1/media/youtube/info", json: YouTubeHarness.mp3Body())
                let healthyHost = try await host.request(.get, "/health", key: nil)
                #expect(healthyHost.json?["modules"]?["youtube"]?["status"] == "healthy")
                #expect(healthyHost.json?["status"] == "healthy")
                #expect(fake.count(.healthz) == 2)

                // Stale: answered at once from the cache (the probe it starts is held), refreshed behind.
                let gate = TestGate()
                fake.set(.heldUntil(gate), for: .healthz)
                clock.advance(by: .seconds(10))
                let stale = try await host.request(.get, "/v1/media/youtube/health", timeout: .seconds(10))
                #expect(stale.status == 200)
                try await fake.waitUntil { $0.count(.healthz) == 3 }
                gate.open()
                // Joins the held probe or follows it: healthy either way, and no probe is left in flight.
                #expect(try await host.request(.get, "/v1/media/youtube/health?refresh=true").status == 200)

                // A forced refresh sees the failure; the host reports the module unhealthy.
                fake.set(.alwaysFail(status: 503), for: .healthz)
                let unhealthy = try await host.request(.get, "/v1/media/youtube/health?refresh=true")
                #expect(unhealthy.status == 503)
                #expect(unhealthy.json?["status"] == "unhealthy")
                #expect(unhealthy.json?["error"] == "HTTP 503 (unhealthy)")
                let hostHealth = try await host.request(.get, "/health", key: nil)
                #expect(hostHealth.json?["modules"]?["youtube"]?["status"] == "unhealthy")
                #expect(hostHealth.json?["status"] == "degraded")

                // Failures are kept a fifth of the lifetime (2 s), then refreshed the same way.
                fake.set(.normal, for: .healthz)
                let probes = fake.count(.healthz)
                clock.advance(by: .seconds(1.9))
                #expect(try await host.request(.get, "/v1/media/youtube/health").status == 503)
                #expect(fake.count(.healthz) == probes, "still fresh")
                clock.advance(by: .seconds(0.1))
                #expect(try await host.request(.get, "/v1/media/youtube/health").status == 503, "the stale failure, at once")
                try await fake.waitUntil { $0.count(.healthz) == probes + 1 }
                #expect(try await host.request(.get, "/v1/media/youtube/health?refresh=true").status == 200)
                let recovered = try await host.request(.get, "/health", key: nil)
                #expect(recovered.json?["modules"]?["youtube"]?["status"] == "healthy")
                #expect(recovered.json?["status"] == "healthy")
            }
        }
    }
}
