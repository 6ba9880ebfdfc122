import JSONSchema

/// The discovery document of `GET /v1/toolkit/routes`: every mounted module and route with its
/// policies, schema and the module's health.
struct RouteDiscovery {
    let host: HostServices

    func document() async -> JSONValue {
        guard let registry = host.registry else { return ["modules": []] }
        let health = Dictionary(await host.moduleHealth().map { ($0.name, $0.health) }, uniquingKeysWith: { first, _ in first })
        let modules = registry.modules.map { module -> JSONValue in
            var object = JSONObject()
            object["name"] = .string(module.manifest.name)
            object["plugin"] = .string(module.manifest.plugin)
            object["prefix"] = .string(module.manifest.prefix)
            object["description"] = module.manifest.description.map(JSONValue.string) ?? .null
            object["health"] = (health[module.manifest.name] ?? .healthy).json
            object["routes"] = .array(module.routes.map(Self.describe))
            return .object(object)
        }
        return .object(JSONObject([("modules", .array(modules))]))
    }

    static func describe(_ route: MountedRoute) -> JSONValue {
        let manifest = route.manifest
        var object = JSONObject()
        object["method"] = .string(manifest.method.rawValue)
        object["path"] = .string(manifest.fullPath)
        object["handler"] = .string(manifest.handler)
        object["auth"] = .bool(manifest.auth)
        object["queue"] = .string(manifest.queue.rawValue)
        object["stream"] = .bool(manifest.stream)
        object["rate_limit"] = manifest.rateLimit.map { .string($0.description) } ?? .null
        object["description"] = manifest.description.map(JSONValue.string) ?? .null
        object["schema"] = manifest.schema?.json ?? .null
        return .object(object)
    }
}
