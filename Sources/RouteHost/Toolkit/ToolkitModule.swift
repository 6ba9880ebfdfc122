import Foundation
import JSONSchema

/// The host's built-in module (`"plugin": "toolkit"`): authentication check, setup test,
/// discovery and job status. Mounted from routes.json like any other module, usually under
/// `/v1/toolkit`.
public struct ToolkitModule: RouteModule {
    public static let pluginName = "toolkit"
    public static let configurationKeys: [String]? = []

    let host: HostServices

    public init(configuration: EmptyModuleConfiguration, context: ModuleContext) throws {
        guard let host = context.host else {
            throw ModuleConfigurationError(message: "the toolkit module needs the host's services", fix: "mount it through RouteHostServer")
        }
        self.host = host
    }

    public var handlers: [String: RouteHandler] {
        [
            "authenticate": RouteHandler(kind: .envelope { _ in HandlerResponse("Authorized") }, envelopeOnAuthFailure: true),
            "test": .envelope { _ in try await setupTest() },
            "routes": .plain { _ in HandlerResponse(await RouteDiscovery(host: host).document()) },
            "job_status": RouteHandler(kind: .envelope { request in try await jobStatus(request) }, recordsJob: false),
            "jobs_status": RouteHandler(kind: .envelope { request in try await jobsStatus(request) }, recordsJob: false),
        ]
    }

    /// Checks that the host can write to `LOCAL_STORAGE_PATH` and reports the configuration.
    func setupTest() async throws -> HandlerResponse {
        let configuration = host.configuration
        let directory = URL(fileURLWithPath: configuration.storagePath, isDirectory: true)
        let probe = directory.appendingPathComponent(".routehost-test-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data("ok".utf8).write(to: probe)
            let readBack = try Data(contentsOf: probe)
            try FileManager.default.removeItem(at: probe)
            guard readBack == Data("ok".utf8) else { throw CocoaError(.fileReadCorruptFile) }
        } catch {
            throw RouteFailure(.internalServerError, "LOCAL_STORAGE_PATH '\(configuration.storagePath)' is not writable: \(error.localizedDescription) (point LOCAL_STORAGE_PATH at a writable folder)")
        }
        var report = JSONObject()
        report["storage"] = .object(JSONObject([("path", .string(directory.standardizedFileURL.path)), ("writable", true)]))
        report["api_keys"] = .number(JSONNumber(configuration.apiKeys.count))
        report["max_queue_length"] = configuration.maxQueueLength == 0 ? "unlimited" : .number(JSONNumber(configuration.maxQueueLength))
        report["queue_workers"] = .number(JSONNumber(configuration.queueWorkers))
        report["max_body_bytes"] = .number(JSONNumber(configuration.maxBodyBytes))
        report["modules"] = .array((host.registry?.modules ?? []).map { .string($0.manifest.name) })
        if let storage = await host.jobs.storageReport() { report["job_store"] = storage.json }
        return HandlerResponse(.object(report))
    }

    /// `{job_status, job_id, queue_id, process_id, response, webhook}` for `job_id`.
    ///
    /// `queue_id` and `process_id` name the process that ran the job, as its stored envelope
    /// says (`queue_id`, `pid`), so they stay right after a restart; a job not finished yet has
    /// no envelope and gets this process's.
    ///
    /// Any string `job_id` is accepted, as the original accepts it; one that is not a UUID names
    /// no job (ids are UUIDs) and gets the not-found answer without a lookup. Only the job store
    /// is ever read.
    func jobStatus(_ request: HandlerRequest) async throws -> HandlerResponse {
        guard let jobID = request.payload["job_id"]?.stringValue else {
            throw RouteFailure(.badRequest, "Invalid payload: 'job_id' must be a string, the job_id of an earlier answer")
        }
        let notFound = RouteFailure(.notFound, message: .object(JSONObject([("error", "Job not found"), ("job_id", .string(jobID))])))
        guard UUID(uuidString: jobID) != nil else { throw notFound }
        guard let job = try await host.jobs.job(id: jobID.lowercased()) else { throw notFound }
        if host.configuration.jobVisibility == .key && (job.submitter == nil || job.submitter != request.client?.submitter) {
            throw notFound
        }
        var response = JSONObject()
        response["job_status"] = .string(job.status.rawValue)
        response["job_id"] = .string(job.id)
        // The process that ran the job, as its envelope says; this process for a job not finished yet.
        response["queue_id"] = job.envelope?["queue_id"].flatMap(\.numberValue).map(JSONValue.number)
            ?? .number(JSONNumber(host.fields.queueID))
        response["process_id"] = job.envelope?["pid"].flatMap(\.numberValue).map(JSONValue.number)
            ?? .number(JSONNumber(Int(host.fields.pid)))
        response["response"] = job.envelope ?? .null
        response["webhook"] = job.webhook?.json ?? .null
        return HandlerResponse(.object(response))
    }

    /// `{job_id: status}` for the jobs updated in the last `since_seconds` (default 600). Members
    /// other than `since_seconds` (the original's clients send `job_ids`) are ignored.
    func jobsStatus(_ request: HandlerRequest) async throws -> HandlerResponse {
        var since = 600
        if let value = request.payload["since_seconds"] {
            guard let number = value.numberValue?.intValue, number >= 0 else {
                throw RouteFailure(.badRequest, "Invalid payload: 'since_seconds' must be an integer ≥ 0 (seconds)")
            }
            since = number
        }
        var statuses = JSONObject()
        let submitter = host.configuration.jobVisibility == .key ? (request.client?.submitter ?? "") : nil
        for (jobID, status) in try await host.jobs.statuses(updatedWithin: .seconds(since), submitter: submitter) {
            statuses[jobID] = .string(status.rawValue)
        }
        return HandlerResponse(.object(statuses))
    }
}
