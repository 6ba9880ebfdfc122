import Foundation
import JSONSchema

/// The body of `GET /health`: the host's status, uptime and build, and each module's health.
///
/// The answer is always 200 while the host serves: a module that is down makes the status
/// `degraded`, not the host unavailable (its own routes answer 503 for it).
struct HealthReport {
    let host: HostServices

    var json: JSONValue {
        get async {
            let modules = await host.moduleHealth()
            var object = JSONObject()
            object["status"] = modules.allSatisfy { $0.health.status == .healthy } ? "healthy" : "degraded"
            object["uptime"] = .number(JSONNumber((Date().timeIntervalSince(host.startedAt) * 1000).rounded() / 1000))
            object["build_number"] = host.configuration.buildNumber
            object["version"] = .string(RouteHostVersion.current)
            var moduleObject = JSONObject()
            for (name, health) in modules { moduleObject[name] = health.json }
            object["modules"] = .object(moduleObject)
            return .object(object)
        }
    }
}

/// The host's version, reported by `/health` and the OpenAPI document.
public enum RouteHostVersion {
    public static let current = "0.1.0"
}
