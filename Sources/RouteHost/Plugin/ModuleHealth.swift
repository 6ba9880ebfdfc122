import JSONSchema

/// What a module reports about itself in `/health` and discovery.
public struct ModuleHealth: Sendable, Equatable {
    public enum Status: String, Sendable {
        case healthy
        case degraded
        case unhealthy
    }

    public var status: Status
    /// Extra facts (reason, upstream URL, circuit state), shown as is. Never put secrets here.
    public var details: JSONObject

    public init(status: Status, details: JSONObject = JSONObject()) {
        self.status = status
        self.details = details
    }

    public static let healthy = ModuleHealth(status: .healthy)

    var json: JSONValue {
        var object = JSONObject()
        object["status"] = .string(status.rawValue)
        for (key, value) in details { object[key] = value }
        return .object(object)
    }
}
