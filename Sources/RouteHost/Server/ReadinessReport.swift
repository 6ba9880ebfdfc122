import JSONSchema
import ServiceLifecycle

/// `GET /ready`, for a load balancer's or orchestrator's readiness probe: `200 {"status":"ready"}`
/// while the host can take work; `503` with the reason while the job store fails
/// (`{"status":"unavailable","reason":"…"}`) or once graceful shutdown has begun
/// (`{"status":"draining"}`), so that traffic moves to other instances.
///
/// Use `/health` for liveness: it stays `200` through a store fault (`degraded`), so a database
/// blip never makes an orchestrator restart every instance.
struct ReadinessReport: Sendable {
    let host: HostServices

    func answer() -> (ready: Bool, body: [UInt8]) {
        var object = JSONObject()
        if host.isDraining {
            object["status"] = "draining"
            object["reason"] = "the host is shutting down"
            return (false, JSONValue.object(object).serialized())
        }
        if let failure = host.jobs.storeFailure {
            object["status"] = "unavailable"
            object["reason"] = .string("the job store fails: \(failure)")
            return (false, JSONValue.object(object).serialized())
        }
        object["status"] = "ready"
        return (true, JSONValue.object(object).serialized())
    }
}

/// Marks the host as draining as soon as graceful shutdown begins. It is the service group's
/// last service, so the first to hear of the shutdown, before the HTTP server stops accepting.
struct DrainSignalService: Service {
    let host: HostServices

    func run() async throws {
        try? await gracefulShutdown()
        host.isDraining = true
    }
}
