import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import RouteHost

/// The framework's limits for the benchmarks, with the default server configuration and no
/// middleware:
///
/// - `GET /ok` answers "ok": Hummingbird's own cost per request.
/// - `POST /relay` (with `--relay URL`) sends the request body to `URL` with AsyncHTTPClient and
///   answers with the upstream's status and body, untouched: the least a relaying route costs
///   on this stack (no key, no validation, no job record, no envelope).
/// - `GET /job` (with `--jobs DIR`) runs authenticate's handler as a synchronous job of RouteHost's
///   `DurableJobService` (its envelope, and its durable record in `DIR/jobs.sqlite`) and answers
///   with the envelope: the least an authenticate-like route costs with the job record the
///   contract asks for (no request id, security headers, key or rate limit).
///
/// ```
/// bare-hummingbird --port 0 --relay http://127.0.0.1:3001/v1/media/youtube/info --jobs /tmp/bare-jobs
/// bare-hummingbird listening on 127.0.0.1:41235
/// ```
@main
struct BareHummingbird {
    static func main() async throws {
        var port = 8081
        var relayURL: String?
        var jobsFolder: String?
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            if argument == "--port", let value = arguments.next().flatMap({ Int($0) }) {
                port = value
            } else if argument == "--relay", let value = arguments.next() {
                relayURL = value
            } else if argument == "--jobs", let value = arguments.next() {
                jobsFolder = value
            } else {
                FileHandle.standardError.write(Data("usage: bare-hummingbird [--port N] [--relay URL] [--jobs DIR]\n".utf8))
                exit(2)
            }
        }
        let router = Router()
        router.get("/ok") { _, _ in "ok" }
        var client: HTTPClient?
        if let relayURL {
            var settings = HTTPClient.Configuration(redirectConfiguration: .disallow, decompression: .disabled)
            settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
            settings.tracing.tracer = nil
            let relayClient = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: settings)
            client = relayClient
            router.post("/relay") { request, _ -> Response in
                var outgoing = HTTPClientRequest(url: relayURL)
                outgoing.method = .POST
                outgoing.headers.add(name: "Content-Type", value: "application/json")
                outgoing.body = .bytes(try await request.body.collect(upTo: 1 << 20))
                let answer = try await relayClient.execute(outgoing, timeout: .seconds(30))
                let body = try await answer.body.collect(upTo: 16 << 20)
                return Response(
                    status: .init(code: Int(answer.status.code)), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: body))
            }
        }
        var logger = Logger(label: "bare-hummingbird")
        logger.logLevel = .error
        if let jobsFolder {
            let configuration = try HostConfiguration(environment: EnvironmentValues(["LOCAL_STORAGE_PATH": jobsFolder]))
            let jobs = DurableJobService(
                store: SQLiteJobStore(storagePath: jobsFolder, logger: logger), configuration: configuration, queueID: 1, logger: logger)
            let requestLogger = logger
            router.get("/job") { request, _ -> Response in
                let id = RandomUUID.v4()
                let handlerRequest = HandlerRequest(
                    payload: .null, headers: request.headers, uri: request.uri, requestID: id, jobID: id,
                    endpoint: "/job", logger: requestLogger)
                let finished = await jobs.runNow(JobSubmission(request: handlerRequest, webhookURL: nil)) { _ in
                    HandlerResponse("Authorized")
                }
                return Response(
                    status: .init(code: finished.envelope.code), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: finished.body)))
            }
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("bare-hummingbird listening on 127.0.0.1:\(channel.localAddress?.port ?? 0)\n".utf8))
            },
            logger: logger)
        try await app.runService()
        try await client?.shutdown()
    }
}

