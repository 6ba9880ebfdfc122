import AsyncHTTPClient
import Foundation
import JSONSchema
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RouteHost

/// A RouteHost server on `127.0.0.1`, port 0, for tests over real sockets.
///
/// ```swift
/// try await LiveHost.withRunning(manifest: json, catalog: .withBuiltIns([EchoModule.self])) { host in
///     let answer = try await host.request(.POST, "/v1/echo", json: #"{"a":1}"#)
///     #expect(answer.status == 200)
/// }
/// ```
///
/// The host gets the API key ``apiKey`` (sent by ``request(_:_:json:headers:key:)``), a job
/// store in a fresh temporary folder (unless `LOCAL_STORAGE_PATH` is given) whose workers run
/// queued jobs, and logs at `ROUTEHOST_TEST_LOG_LEVEL` (default `critical`). It is stopped
/// (cancelled, then its modules shut down) when `body` returns or throws.
public struct LiveHost: Sendable {
    public let server: RouteHostServer
    public let port: Int
    public let apiKey: String
    /// A client for ``request(_:_:json:headers:key:)``: no redirects, no decompression.
    public let client: HTTPClient

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Loads `manifest` (JSON text; schema files relative to `baseDirectory`), starts the host,
    /// runs `body`, and stops the host.
    ///
    /// - Parameter socketBufferBytes: `SO_SNDBUF` and `SO_RCVBUF` of every client connection the
    ///   host accepts (see ``SocketBuffers``); nil: the kernel's autotuning.
    /// - Parameter clock: the time of the modules' breakers and health caches (an adjustable one
    ///   lets a test move it on instead of sleeping).
    public static func withRunning<T: Sendable>(
        manifest: String, baseDirectory: String = FileManager.default.currentDirectoryPath,
        environment: [String: String] = [:], catalog: PluginCatalog, apiKey: String = "test-key",
        socketBufferBytes: Int? = nil, clock: HostClock = .system, _ body: (LiveHost) async throws -> T
    ) async throws -> T {
        var values = environment
        values["API_KEY"] = values["API_KEY"] ?? apiKey
        // Webhook receivers in tests are on loopback, which webhooks may reach only when listed.
        values["WEBHOOK_ALLOWED_HOSTS"] = values["WEBHOOK_ALLOWED_HOSTS"] ?? "127.0.0.1"
        // A nearly full disk on a test machine must not turn every health check degraded.
        values["DISK_FREE_MIN_PERCENT"] = values["DISK_FREE_MIN_PERCENT"] ?? "0"
        values["LOCAL_STORAGE_PATH"] = values["LOCAL_STORAGE_PATH"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("routehost-live-\(UUID().uuidString)").path
        let env = EnvironmentValues(values)
        let loaded = try ManifestLoader(environment: env).load(bytes: Array(manifest.utf8), path: "routes.json", baseDirectory: baseDirectory)
        var logger = Logger(label: "routehost-test")
        logger.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["ROUTEHOST_TEST_LOG_LEVEL"] ?? "") ?? .critical
        let server = try RouteHostServer(manifest: loaded, catalog: catalog, environment: env, logger: logger, clock: clock)
        return try await run(server: server, apiKey: values["API_KEY"] ?? apiKey, socketBufferBytes: socketBufferBytes, body)
    }

    /// Like ``withRunning(manifest:baseDirectory:environment:catalog:apiKey:_:)`` with a manifest file.
    public static func withRunning<T: Sendable>(
        manifestPath: String, environment: [String: String] = [:], catalog: PluginCatalog, apiKey: String = "test-key",
        socketBufferBytes: Int? = nil, clock: HostClock = .system, _ body: (LiveHost) async throws -> T
    ) async throws -> T {
        let text = try String(contentsOfFile: manifestPath, encoding: .utf8)
        let directory = URL(fileURLWithPath: manifestPath).deletingLastPathComponent().path
        return try await withRunning(
            manifest: text, baseDirectory: directory, environment: environment, catalog: catalog, apiKey: apiKey,
            socketBufferBytes: socketBufferBytes, clock: clock, body)
    }

    private static func run<T: Sendable>(
        server: RouteHostServer, apiKey: String, socketBufferBytes: Int?, _ body: (LiveHost) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let services = server.makeServiceGroup(host: "127.0.0.1", port: 0, handlesSignals: false) { channel in
            if let socketBufferBytes { await SocketBuffers.set(socketBufferBytes, on: channel) }
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        }
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)), decompression: .disabled))
        let result: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }
                try? await services.run()
            }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { return .failure(LiveHostError.couldNotStart) }
            let host = LiveHost(server: server, port: port, apiKey: apiKey, client: client)
            do {
                return .success(try await body(host))
            } catch {
                return .failure(error)
            }
        }
        try? await client.shutdown()
        await server.shutdown()
        return try result.get()
    }

    /// A buffered answer.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPFields
        public var body: ByteBuffer

        public var text: String { String(buffer: body) }
        public var json: JSONValue? { try? JSONParser.parse(body.readableBytesView) }
    }

    /// Sends a request with the API key (unless `key` is nil) and collects the answer (≤ 64 MiB).
    public func request(
        _ method: HTTPRequest.Method, _ path: String, json: String? = nil, headers: HTTPFields = [:], key: String? = "",
        timeout: Duration = .seconds(30)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method.rawValue)
        if let key { request.headers.add(name: "X-API-Key", value: key.isEmpty ? apiKey : key) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        let body = try await response.body.collect(upTo: 64 << 20)
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return Answer(status: Int(response.status.code), headers: fields, body: body)
    }
}

public enum LiveHostError: Error {
    case couldNotStart
}
