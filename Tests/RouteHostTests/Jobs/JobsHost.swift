import AsyncHTTPClient
import NIOHTTP1
import Foundation
import Hummingbird
import JSONSchema
import Logging
import NIOCore
import RouteHost
import RouteHostTestSupport
import ServiceLifecycle

/// A RouteHost with the ``JobTestModule`` mounted, served on a free loopback port with its job
/// workers running, and a real SQLite store in a temporary folder.
final class JobsHost: Sendable {
    static let apiKey = "test-key-0123456789"

    static let manifest = """
        {
          "version": 1,
          "modules": [
            { "name": "toolkit", "plugin": "toolkit", "prefix": "/v1/toolkit",
              "routes": [
                { "method": "GET", "path": "/test", "handler": "test" },
                { "method": "POST", "path": "/job/status", "handler": "job_status",
                  "schema": { "type": "object", "required": ["job_id"], "properties": { "job_id": { "type": "string" } } } },
                { "method": "POST", "path": "/jobs/status", "handler": "jobs_status", "body": "optional",
                  "schema": { "type": "object", "properties": { "since_seconds": { "type": "integer", "minimum": 0 } } } } ] },
            { "name": "jobtest", "plugin": "jobtest", "prefix": "/v1/test",
              "routes": [
                { "method": "POST", "path": "/work", "handler": "work", "queue": "webhook" },
                { "method": "POST", "path": "/sync", "handler": "work" } ] }
          ]
        }
        """

    let server: RouteHostServer
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(server: RouteHostServer, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.group = group
        self.task = task
    }

    /// The environment of a host on `storage`, with `settings` on top.
    static func environment(storage: String, _ settings: [String: String]) -> EnvironmentValues {
        // Webhook receivers in tests are on loopback, which webhooks may reach only when listed.
        var values = [
            "API_KEY": apiKey, "LOCAL_STORAGE_PATH": storage, "WEBHOOK_RETRY_DELAY": "0.01", "LOG_LEVEL": "error",
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            // A nearly full disk on a test machine must not turn every health check degraded.
            "DISK_FREE_MIN_PERCENT": "0",
        ]
        values.merge(settings) { _, new in new }
        return EnvironmentValues(values)
    }

    /// Runs `body` with a started host on `storage` (its jobs in `store` when given); the host
    /// is stopped (gracefully) afterwards.
    static func with<T>(
        storage: String, _ settings: [String: String] = [:], store: (any JobStore)? = nil, _ body: (JobsHost) async throws -> T
    ) async throws -> T {
        let host = try await start(storage: storage, settings, store: store)
        do {
            let result = try await body(host)
            await host.stop()
            return result
        } catch {
            await host.stop()
            throw error
        }
    }

    /// Runs `body` with a started host whose jobs are kept in a fresh store of `kind` (a
    /// PostgreSQL database of its own for ``StoreKind/postgresql``).
    static func with<T>(
        _ kind: StoreKind, _ settings: [String: String] = [:], _ body: (JobsHost) async throws -> T
    ) async throws -> T {
        try await TemporaryDirectory.with { storage in
            switch kind {
            case .sqlite:
                return try await with(storage: storage, settings, body)
            case .postgresql:
                return try await TestPostgres.withDatabase { url in
                    try await with(storage: storage, settings.merging(["DATABASE_URL": url]) { _, new in new }, body)
                }
            }
        }
    }

    static func start(storage: String, _ settings: [String: String] = [:], store: (any JobStore)? = nil) async throws -> JobsHost {
        let environment = environment(storage: storage, settings)
        let manifestPath = (storage as NSString).appendingPathComponent("routes.json")
        try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: manifestPath))
        var logger = Logger(label: "test-host")
        logger.logLevel = .critical
        let jobs = try store.map { store in
            DurableJobService(
                store: store, configuration: try HostConfiguration(environment: environment), queueID: 1, logger: logger, metrics: nil,
                sharedQueueLengthFreshness: .zero)
        }
        let server = try RouteHostServer(
            manifestPath: manifestPath, catalog: .withBuiltIns([JobTestModule.self]), environment: environment, logger: logger, jobs: jobs)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let group = server.makeServiceGroup(host: "127.0.0.1", port: 0, handlesSignals: false) { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        }
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            await server.shutdown()
            throw CancellationError()
        }
        return JobsHost(server: server, port: port, group: group, task: task)
    }

    /// Graceful shutdown (as SIGTERM), then the host's own shutdown.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await server.shutdown()
    }
}

/// Requests to a running host (in-process or a child process), with the test API key.
protocol JobHostClient: Sendable {
    var baseURL: String { get }
}

extension JobHostClient {
    /// POSTs `body` to `path` with an API key (the test key unless given) and `headers`;
    /// returns the status, headers and JSON.
    func post(_ path: String, _ body: JSONValue, key: String = JobsHost.apiKey, headers: [String: String] = [:]) async throws -> JobsResponse {
        try await post(path, text: String(decoding: body.serialized(), as: UTF8.self), key: key, headers: headers)
    }

    /// POSTs `text` as the body (nil: no body and no `Content-Type`, as `curl -X POST` sends).
    func post(_ path: String, text: String?, key: String = JobsHost.apiKey, headers: [String: String] = [:]) async throws -> JobsResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: key)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let text {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: text))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return JobsResponse(status: Int(response.status.code), headers: response.headers, json: try JSONParser.parse(Array(buffer: bytes)))
    }

    /// GETs `path` with the API key; returns the body as text.
    func get(_ path: String) async throws -> String {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "X-API-Key", value: JobsHost.apiKey)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    /// GETs `path` with the API key; returns the status, headers and JSON.
    func getResponse(_ path: String) async throws -> JobsResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "X-API-Key", value: JobsHost.apiKey)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return JobsResponse(status: Int(response.status.code), headers: response.headers, json: try JSONParser.parse(Array(buffer: bytes)))
    }

    /// The `response` of `POST /v1/toolkit/job/status`.
    func status(of jobID: String) async throws -> JSONValue {
        let answer = try await post("/v1/toolkit/job/status", ["job_id": .string(jobID)])
        guard answer.status == 200, let response = answer.json["response"] else {
            throw TestFailure("job status of \(jobID): HTTP \(answer.status) \(answer.json.serializedString())")
        }
        return response
    }

    /// Polls job status until `condition` holds (at most `timeout`).
    @discardableResult
    func waitForStatus(
        of jobID: String, timeout: Duration = .seconds(20), until condition: (JSONValue) -> Bool
    ) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = try await status(of: jobID)
            if condition(status) { return status }
            guard ContinuousClock.now < deadline else { throw TestTimeout("job \(jobID); last status \(status.serializedString())") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

extension JobsHost: JobHostClient {}
extension ChildHost: JobHostClient {}

struct JobsResponse {
    var status: Int
    var headers: HTTPHeaders
    var json: JSONValue
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A fresh temporary folder, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("routehost-jobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs `body` with a fresh folder, removed afterwards.
    static func with<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        return try await body(directory.path)
    }
}

extension JSONValue {
    /// The keys of an object, in order.
    var keys: [String] { objectValue?.keys ?? [] }
}
