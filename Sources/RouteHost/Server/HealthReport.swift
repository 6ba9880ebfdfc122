import Foundation
import JSONSchema
import NIOConcurrencyHelpers

/// The body of `GET /health`: the host's status, uptime and build, the job store's state
/// (`job_store`: its kind, `healthy` or `unavailable` with the error), and each module's health.
///
/// The answer is always 200 while the host serves: a module that is down, or a job database
/// that does not answer, makes the status `degraded`, not the host unavailable (the routes
/// concerned answer 503 meanwhile).
///
/// Every call asks each module for its health; the `modules` member is serialized again only
/// when one of them changed, so a host with a hundred modules answers nearly as fast as one
/// with a single module.
final class HealthReport: Sendable {
    private struct Rendered {
        var health: [ModuleHealth]
        var modules: [UInt8]
        var healthy: Bool
    }

    let host: HostServices
    private let rendered = NIOLockedValueBox<Rendered?>(nil)

    init(host: HostServices) {
        self.host = host
    }

    /// The report, serialized.
    func body() async -> [UInt8] {
        let modules = await host.moduleHealth()
        let (fragment, healthy) = self.modules(modules)
        let storeFailure = host.jobs.storeFailure
        let storage = await host.jobs.storageReport()
        let minimum = host.configuration.diskFreeMinPercent
        let diskLow = storage?.diskFreePercent.map { minimum > 0 && $0 < minimum } ?? false
        var head = JSONObject()
        head["status"] = healthy && storeFailure == nil && !diskLow ? "healthy" : "degraded"
        head["uptime"] = .number(JSONNumber((Date().timeIntervalSince(host.startedAt) * 1000).rounded() / 1000))
        head["build_number"] = host.configuration.buildNumber
        head["version"] = .string(RouteHostVersion.current)
        var store = JSONObject()
        store["kind"] = .string(host.jobs.storeKind)
        store["status"] = storeFailure == nil ? (diskLow ? "disk_low" : "healthy") : "unavailable"
        if let storeFailure { store["error"] = .string(storeFailure) }
        if let storage {
            store["size_bytes"] = storage.storeBytes.map { .number(JSONNumber($0)) } ?? .null
            store["disk_free_percent"] = storage.diskFreePercent.map { .number(JSONNumber($0)) } ?? .null
        }
        if diskLow {
            store["error"] = .string("less than \(minimum)% of LOCAL_STORAGE_PATH's file system is free (DISK_FREE_MIN_PERCENT): free some room or purge old jobs (JOB_RETENTION_HOURS)")
        }
        head["job_store"] = .object(store)
        var body = JSONValue.object(head).serialized()
        body.removeLast()
        body.append(contentsOf: #","modules":"#.utf8)
        body.append(contentsOf: fragment)
        body.append(UInt8(ascii: "}"))
        return body
    }

    private func modules(_ modules: [(name: String, health: ModuleHealth)]) -> (fragment: [UInt8], healthy: Bool) {
        let health = modules.map(\.health)
        if let cached = rendered.withLockedValue({ $0 }), cached.health == health {
            return (cached.modules, cached.healthy)
        }
        var object = JSONObject()
        for (name, health) in modules { object[name] = health.json }
        let fresh = Rendered(
            health: health, modules: JSONValue.object(object).serialized(),
            healthy: health.allSatisfy { $0.status == .healthy })
        rendered.withLockedValue { $0 = fresh }
        return (fresh.modules, fresh.healthy)
    }
}

/// The host's version, reported by `/health` and the OpenAPI document.
public enum RouteHostVersion {
    public static let current = "0.1.0"
}
