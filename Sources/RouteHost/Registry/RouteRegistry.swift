import HTTPTypes
import JSONSchema
import Logging

/// The mounted modules: routes.json bound to the compiled-in plugins.
///
/// Building it creates every enabled module (decoding its configuration), binds every route to a
/// handler of its plugin, and checks the bindings: an unknown plugin, an unknown handler, a
/// handler of the wrong kind for its route (`stream`, `queue`), or a configuration the plugin
/// rejects is a ``ManifestError`` located in routes.json. Disabled modules are checked too, but
/// not mounted.
public struct RouteRegistry: Sendable {
    public let manifest: Manifest
    public let modules: [MountedModule]
    private let methodsByPath: [String: [HTTPRequest.Method]]

    /// - Parameter diagnostics: problems already found in the manifest, reported together with
    ///   the binding problems.
    public static func build(
        manifest: Manifest, catalog: PluginCatalog, diagnostics earlier: [ManifestDiagnostic] = [],
        makeContext: (ModuleManifest) -> ModuleContext
    ) throws(ManifestError) -> RouteRegistry {
        var diagnostics = earlier
        var modules: [MountedModule] = []
        for module in manifest.modules {
            let pointer = module.pointer
            guard let type = catalog.type(named: module.plugin) else {
                diagnostics.append(manifest.diagnostic(
                    at: pointer.appending("plugin"), "unknown plugin '\(module.plugin)'",
                    fix: NearestName.fix(for: module.plugin, among: catalog.names, noun: "compiled-in plugins")
                        + "; a new plugin also needs a line in the executable's plugin catalog"))
                continue
            }
            let instance: any RouteModule
            do {
                instance = try type.make(config: module.config, context: makeContext(module))
            } catch {
                diagnostics.append(error.diagnostic(in: manifest, module: module))
                continue
            }
            let handlers = instance.handlers
            var routes: [MountedRoute] = []
            for route in module.routes {
                guard let handler = handlers[route.handler] else {
                    diagnostics.append(manifest.diagnostic(
                        at: route.pointer.appending("handler"), "plugin '\(module.plugin)' has no handler '\(route.handler)'",
                        fix: NearestName.fix(for: route.handler, among: handlers.keys.sorted(), noun: "handlers")))
                    continue
                }
                if let problem = bindingProblem(route, handler) {
                    diagnostics.append(manifest.diagnostic(at: route.pointer.appending("handler"), problem.message, fix: problem.fix))
                    continue
                }
                routes.append(MountedRoute(module: module.name, manifest: route, handler: handler))
            }
            if module.enabled {
                modules.append(MountedModule(manifest: module, instance: instance, routes: routes))
            }
        }
        if !diagnostics.isEmpty { throw ManifestError(diagnostics) }
        return RouteRegistry(manifest: manifest, modules: modules)
    }

    private init(manifest: Manifest, modules: [MountedModule]) {
        self.manifest = manifest
        self.modules = modules
        var methods: [String: [HTTPRequest.Method]] = [:]
        for route in modules.flatMap(\.routes) {
            methods[route.manifest.fullPath, default: []].append(route.manifest.method)
        }
        self.methodsByPath = methods
    }

    /// Every mounted route, in manifest order.
    public var routes: [MountedRoute] { modules.flatMap(\.routes) }

    /// The methods served at `path` (to answer 405 with `Allow`).
    public func allowedMethods(at path: String) -> [HTTPRequest.Method] {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return methodsByPath[trimmed] ?? []
    }

    private static func bindingProblem(_ route: RouteManifest, _ handler: RouteHandler) -> (message: String, fix: String)? {
        if route.stream && !handler.isStreaming {
            return ("handler '\(route.handler)' does not stream", "remove \"stream\": true")
        }
        if !route.stream && handler.isStreaming {
            return ("handler '\(route.handler)' streams its response", "add \"stream\": true to the route")
        }
        if route.queue == .webhook && !handler.isEnvelope {
            return ("handler '\(route.handler)' does not answer with the envelope, so it cannot be queued", "remove \"queue\"")
        }
        return nil
    }
}

/// A module that is mounted: its manifest entry, its instance and its routes.
public struct MountedModule: Sendable {
    public let manifest: ModuleManifest
    public let instance: any RouteModule
    public let routes: [MountedRoute]
}

/// A route bound to its handler.
public struct MountedRoute: Sendable {
    public let module: String
    public let manifest: RouteManifest
    public let handler: RouteHandler
}

extension ModuleCreationError {
    func diagnostic(in manifest: Manifest, module: ModuleManifest) -> ManifestDiagnostic {
        let config = module.pointer.appending("config")
        switch self {
        case .unknownKey(let key, let known):
            return manifest.diagnostic(at: config.appending(key), atKey: true, "unknown setting '\(key)' for plugin '\(module.plugin)'", fix: NearestName.fix(for: key, among: known, noun: "settings"))
        case .decoding(let path, let message):
            return manifest.diagnostic(at: config.appending(contentsOf: JSONPointer(path)), "invalid configuration for plugin '\(module.plugin)': \(message)", fix: "see the plugin's settings in the README")
        case .rejected(let error):
            return manifest.diagnostic(at: config.appending(contentsOf: JSONPointer(error.key)), "plugin '\(module.plugin)' rejected its configuration: \(error.message)", fix: error.fix ?? "see the plugin's settings in the README")
        }
    }
}
