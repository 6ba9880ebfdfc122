import Foundation
import HTTPTypes
import JSONSchema

/// Reads routes.json strictly: every unknown key, wrong type, bad method or path, duplicate
/// route, invalid schema and unset variable is reported, several at once, each at its line and
/// column with how to fix it.
///
/// Plugin names, handler names and module configurations are checked later, by
/// ``RouteRegistry``, against the compiled-in ``PluginCatalog``.
public struct ManifestLoader: Sendable {
    public var environment: EnvironmentValues
    /// Whether `format` is asserted by route schemas (it is: `webhook_url` must be a URI).
    public var formatAssertion: Bool

    public init(environment: EnvironmentValues, formatAssertion: Bool = true) {
        self.environment = environment
        self.formatAssertion = formatAssertion
    }

    /// Loads the manifest at `path`; schema files are resolved relative to its folder.
    public func load(path: String) throws(ManifestError) -> Manifest {
        try Self.throwing(loadCollectingDiagnostics(path: path))
    }

    /// Loads a manifest from its bytes; `path` names it in diagnostics.
    public func load(bytes: [UInt8], path: String, baseDirectory: String) throws(ManifestError) -> Manifest {
        try Self.throwing(loadCollectingDiagnostics(bytes: bytes, path: path, baseDirectory: baseDirectory))
    }

    /// The valid part of the manifest and the problems found, so that plugin bindings can be
    /// checked too and every error reported at once.
    func loadCollectingDiagnostics(path: String) -> (Manifest?, [ManifestDiagnostic]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return (nil, [ManifestDiagnostic(file: path, line: 1, column: 1, message: "cannot read the manifest", fix: "check the path, or pass --manifest PATH")])
        }
        let directory = (path as NSString).deletingLastPathComponent
        return loadCollectingDiagnostics(bytes: Array(data), path: path, baseDirectory: directory.isEmpty ? "." : directory)
    }

    func loadCollectingDiagnostics(bytes: [UInt8], path: String, baseDirectory: String) -> (Manifest?, [ManifestDiagnostic]) {
        let root: JSONValue
        let sourceMap: JSONSourceMap
        do {
            (root, sourceMap) = try JSONParser.parseWithLocations(bytes)
        } catch {
            return (nil, [ManifestDiagnostic(file: path, line: error.location.line, column: error.location.column, message: "malformed JSON: \(error.message)", fix: "routes.json must be one JSON object")])
        }
        var checker = ManifestChecker(
            manifest: Manifest(version: 0, modules: [], path: path, sourceMap: sourceMap),
            environment: environment, baseDirectory: baseDirectory, formatAssertion: formatAssertion)
        checker.check(root)
        return (checker.manifest, checker.diagnostics)
    }

    private static func throwing(_ result: (Manifest?, [ManifestDiagnostic])) throws(ManifestError) -> Manifest {
        guard let manifest = result.0, result.1.isEmpty else { throw ManifestError(result.1) }
        return manifest
    }
}

/// Paths the host serves itself, which no module may declare (and, for `/docs`, below it;
/// `/metrics` is reserved for the host's metrics).
let reservedHostPaths: Set<String> = ["/health", "/ready", "/metrics", "/openapi.json", "/docs"]

func isReservedHostPath(_ path: String) -> Bool {
    reservedHostPaths.contains(path) || path.hasPrefix("/docs/")
}

private struct ManifestChecker {
    var manifest: Manifest
    let environment: EnvironmentValues
    let baseDirectory: String
    let formatAssertion: Bool
    var diagnostics: [ManifestDiagnostic] = []
    var routeOwners: [String: (module: String, pointer: JSONPointer)] = [:]

    static let topKeys = ["version", "modules", "$schema", "description"]
    static let moduleKeys = ["name", "plugin", "prefix", "config", "enabled", "description", "routes"]
    static let routeKeys = ["method", "path", "handler", "schema", "auth", "queue", "stream", "body", "rate_limit", "description"]
    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    init(manifest: Manifest, environment: EnvironmentValues, baseDirectory: String, formatAssertion: Bool) {
        self.manifest = manifest
        self.environment = environment
        self.baseDirectory = baseDirectory
        self.formatAssertion = formatAssertion
    }

    mutating func error(_ pointer: JSONPointer, atKey: Bool = false, _ message: String, fix: String? = nil) {
        diagnostics.append(manifest.diagnostic(at: pointer, atKey: atKey, message, fix: fix))
    }

    mutating func check(_ root: JSONValue) {
        guard let object = root.objectValue else {
            error("", "the manifest must be a JSON object", fix: "write {\"version\": 1, \"modules\": [...]}")
            return
        }
        checkKeys(object, at: "", allowed: Self.topKeys, noun: "top-level keys")
        switch object["version"] {
        case nil:
            error("", "missing required key 'version'", fix: "add \"version\": 1")
        case .number(let number) where number.intValue == 1:
            manifest.version = 1
        case .some:
            error(JSONPointer(["version"]), "unsupported manifest version", fix: "this host reads \"version\": 1")
        }
        guard let modules = object["modules"] else {
            error("", "missing required key 'modules'", fix: "add \"modules\": [ ... ] listing the route modules to mount")
            return
        }
        guard let entries = modules.arrayValue else {
            error(JSONPointer(["modules"]), "'modules' must be an array", fix: "write \"modules\": [ {\"name\": ..., \"plugin\": ..., \"routes\": [...]} ]")
            return
        }
        var names: [String: JSONPointer] = [:]
        for (index, entry) in entries.enumerated() {
            let pointer = JSONPointer(["modules", String(index)])
            guard let module = checkModule(entry, at: pointer) else { continue }
            if let first = names[module.name] {
                let line = manifest.sourceMap?.valueLocation(first)?.line ?? 0
                error(pointer.appending("name"), "duplicate module name '\(module.name)' (first declared on line \(line))", fix: "give each module a unique name")
                continue
            }
            names[module.name] = pointer.appending("name")
            manifest.modules.append(module)
        }
    }

    mutating func checkKeys(_ object: JSONObject, at pointer: JSONPointer, allowed: [String], noun: String) {
        for key in object.keys where !allowed.contains(key) {
            error(pointer.appending(key), atKey: true, "unknown key '\(key)'", fix: NearestName.fix(for: key, among: allowed, noun: noun))
        }
    }

    mutating func string(_ object: JSONObject, _ key: String, at pointer: JSONPointer, required: Bool, fix: String) -> String? {
        guard let value = object[key] else {
            if required { error(pointer, "missing required key '\(key)'", fix: fix) }
            return nil
        }
        guard let text = value.stringValue else {
            error(pointer.appending(key), "'\(key)' must be a string, not \(value.typeName)", fix: fix)
            return nil
        }
        return text
    }

    mutating func bool(_ object: JSONObject, _ key: String, at pointer: JSONPointer, default defaultValue: Bool) -> Bool {
        guard let value = object[key] else { return defaultValue }
        guard let flag = value.boolValue else {
            error(pointer.appending(key), "'\(key)' must be true or false, not \(value.typeName)", fix: "write \"\(key)\": \(defaultValue)")
            return defaultValue
        }
        return flag
    }

    mutating func checkModule(_ entry: JSONValue, at pointer: JSONPointer) -> ModuleManifest? {
        guard let object = entry.objectValue else {
            error(pointer, "a module must be an object", fix: "write {\"name\": ..., \"plugin\": ..., \"prefix\": ..., \"routes\": [...]}")
            return nil
        }
        checkKeys(object, at: pointer, allowed: Self.moduleKeys, noun: "module keys")
        let name = string(object, "name", at: pointer, required: true, fix: "add \"name\": a unique lowercase name such as \"youtube\"")
        if let name, !Self.isIdentifier(name) {
            error(pointer.appending("name"), "module name '\(name)' is not valid", fix: "use lowercase letters, digits, '-' and '_'")
        }
        let plugin = string(object, "plugin", at: pointer, required: true, fix: "add \"plugin\": the compiled-in plugin to mount (see `routehost check`)")
        var prefix = string(object, "prefix", at: pointer, required: true, fix: "add \"prefix\": the path the routes live under, such as \"/v1/media/youtube\"") ?? ""
        if !Self.isValidPath(prefix) {
            error(pointer.appending("prefix"), "prefix '\(prefix)' is not a valid path", fix: "start it with '/', no trailing '/', letters, digits and - _ . ~ only")
            prefix = ""
        }
        let enabled = bool(object, "enabled", at: pointer, default: true)
        let description = string(object, "description", at: pointer, required: false, fix: "write a one-line description")
        var config = JSONObject()
        if let value = object["config"] {
            if let configObject = value.objectValue {
                config = interpolate(configObject, at: pointer.appending("config"))
            } else {
                error(pointer.appending("config"), "'config' must be an object, not \(value.typeName)", fix: "write \"config\": { \"setting\": \"value\" }")
            }
        }
        var routes: [RouteManifest] = []
        switch object["routes"] {
        case nil:
            error(pointer, "missing required key 'routes'", fix: "add \"routes\": [ {\"method\": \"POST\", \"path\": \"/x\", \"handler\": \"x\"} ]")
        case .array(let entries):
            for (index, entry) in entries.enumerated() {
                if let route = checkRoute(entry, at: pointer.appending("routes").appending(index), prefix: prefix, module: name ?? "?", enabled: enabled) {
                    routes.append(route)
                }
            }
        case .some(let value):
            error(pointer.appending("routes"), "'routes' must be an array, not \(value.typeName)", fix: "write \"routes\": [ ... ]")
        }
        guard let name, let plugin else { return nil }
        return ModuleManifest(name: name, plugin: plugin, prefix: prefix, config: config, enabled: enabled, description: description, routes: routes, pointer: pointer)
    }

    mutating func checkRoute(_ entry: JSONValue, at pointer: JSONPointer, prefix: String, module: String, enabled: Bool) -> RouteManifest? {
        guard let object = entry.objectValue else {
            error(pointer, "a route must be an object", fix: "write {\"method\": \"POST\", \"path\": \"/x\", \"handler\": \"x\"}")
            return nil
        }
        checkKeys(object, at: pointer, allowed: Self.routeKeys, noun: "route keys")
        var method: HTTPRequest.Method?
        if let text = string(object, "method", at: pointer, required: true, fix: "add \"method\": one of \(Self.methods.joined(separator: ", "))") {
            if Self.methods.contains(text) {
                method = HTTPRequest.Method(text)
            } else if Self.methods.contains(text.uppercased()) {
                error(pointer.appending("method"), "method '\(text)' must be uppercase", fix: "write \"\(text.uppercased())\"")
            } else {
                error(pointer.appending("method"), "unsupported method '\(text)'", fix: "use one of \(Self.methods.joined(separator: ", "))")
            }
        }
        var path = string(object, "path", at: pointer, required: true, fix: "add \"path\": \"\" for the prefix itself, or \"/name\"") ?? ""
        if !Self.isValidPath(path) {
            error(pointer.appending("path"), "path '\(path)' is not valid", fix: "use \"\" or a path starting with '/', no trailing '/', letters, digits and - _ . ~ only")
            path = ""
        }
        let handler = string(object, "handler", at: pointer, required: true, fix: "add \"handler\": the name of one of the plugin's handlers")
        let auth = bool(object, "auth", at: pointer, default: true)
        let stream = bool(object, "stream", at: pointer, default: false)
        let description = string(object, "description", at: pointer, required: false, fix: "write a one-line description")
        var queue = QueuePolicy.never
        if let text = string(object, "queue", at: pointer, required: false, fix: "write \"queue\": \"never\" or \"webhook\"") {
            if let policy = QueuePolicy(rawValue: text) {
                queue = policy
            } else {
                error(pointer.appending("queue"), "unknown queue policy '\(text)'", fix: "use \"never\" or \"webhook\"")
            }
        }
        var rateLimit: RateLimitRule?
        if let text = string(object, "rate_limit", at: pointer, required: false, fix: "write \"rate_limit\": \"30/minute\"") {
            rateLimit = RateLimitRule(parsing: text)
            if rateLimit == nil {
                error(pointer.appending("rate_limit"), "rate limit '\(text)' is not valid", fix: "write COUNT/UNIT with a unit of second, minute, hour or day, such as \"30/minute\"")
            }
        }
        let bodyless = method.map { !RouteManifest.hasBody($0) } ?? false
        var bodyRequired = !bodyless
        if let text = string(object, "body", at: pointer, required: false, fix: "write \"body\": \"required\" or \"optional\"") {
            switch text {
            case "required", "optional":
                bodyRequired = text == "required"
                if bodyless {
                    error(pointer.appending("body"), "a \(method!.rawValue) route has no body", fix: "remove \"body\", or use POST")
                }
            default:
                error(pointer.appending("body"), "unknown body policy '\(text)'", fix: "use \"required\" or \"optional\"")
            }
        }
        if queue == .webhook && stream {
            error(pointer.appending("queue"), "a streaming route cannot be queued", fix: "remove \"queue\" or \"stream\"")
        }
        if queue == .webhook && bodyless {
            error(pointer.appending("queue"), "a \(method!.rawValue) route cannot be queued: the webhook_url travels in the JSON body", fix: "use POST, or remove \"queue\"")
        }
        var schema: RouteSchema?
        if let value = object["schema"] {
            if bodyless {
                error(pointer.appending("schema"), "a \(method!.rawValue) route has no body to validate", fix: "remove \"schema\", or use POST")
            }
            schema = loadSchema(value, at: pointer.appending("schema"))
        }
        let fullPath = prefix + path
        let normalisedFullPath = fullPath.isEmpty ? "/" : fullPath
        if isReservedHostPath(normalisedFullPath) {
            error(pointer.appending("path"), "'\(normalisedFullPath)' is served by the host itself", fix: "choose another path or prefix")
        }
        guard let method, let handler else { return nil }
        if enabled {
            let key = "\(method.rawValue) \(normalisedFullPath)"
            if let owner = routeOwners[key] {
                let line = manifest.sourceMap?.valueLocation(owner.pointer)?.line ?? 0
                error(pointer, "duplicate route \(key) (already declared by module '\(owner.module)' on line \(line))", fix: "change the path or the method of one of them, or disable a module")
            } else {
                routeOwners[key] = (module, pointer)
            }
        }
        return RouteManifest(
            method: method, path: path, fullPath: normalisedFullPath, handler: handler, schema: schema,
            auth: auth, queue: queue, stream: stream, bodyRequired: bodyRequired, rateLimit: rateLimit, description: description,
            pointer: pointer)
    }

    /// Reads an inline schema, or one from a file relative to the manifest, and checks it compiles.
    mutating func loadSchema(_ value: JSONValue, at pointer: JSONPointer) -> RouteSchema? {
        let options = SchemaOptions(formatAssertion: formatAssertion)
        switch value {
        case .object, .bool:
            do {
                return RouteSchema(json: value, file: nil, validator: try Schema(value, options: options))
            } catch {
                let target = pointer.appending(contentsOf: error.pointer)
                self.error(target, "invalid schema: \(error.message)", fix: "fix the schema keyword; schemas follow JSON Schema draft 2020-12")
                return nil
            }
        case .string(let file):
            let fullPath = file.hasPrefix("/") ? file : baseDirectory + "/" + file
            guard let data = FileManager.default.contents(atPath: fullPath) else {
                error(pointer, "cannot read schema file '\(file)'", fix: "schema file paths are relative to the manifest's folder")
                return nil
            }
            let schema: JSONValue
            let sourceMap: JSONSourceMap
            do {
                (schema, sourceMap) = try JSONParser.parseWithLocations(Array(data))
            } catch {
                diagnostics.append(ManifestDiagnostic(file: file, line: error.location.line, column: error.location.column, message: "malformed JSON: \(error.message)", fix: "a schema file holds one JSON Schema"))
                return nil
            }
            do {
                return RouteSchema(json: schema, file: file, validator: try Schema(schema, options: options))
            } catch {
                let location = sourceMap.valueLocation(error.pointer)
                diagnostics.append(ManifestDiagnostic(file: file, line: location?.line ?? 1, column: location?.column ?? 1, message: "invalid schema: \(error.message)", fix: "schemas follow JSON Schema draft 2020-12"))
                return nil
            }
        default:
            error(pointer, "'schema' must be a JSON Schema object or a file path, not \(value.typeName)", fix: "write \"schema\": {\"type\": \"object\", ...} or \"schema\": \"schemas/name.json\"")
            return nil
        }
    }

    /// Expands `${VAR}` in every string of a module's config.
    mutating func interpolate(_ object: JSONObject, at pointer: JSONPointer) -> JSONObject {
        var result = JSONObject()
        for (key, value) in object {
            result[key] = interpolate(value, at: pointer.appending(key))
        }
        return result
    }

    mutating func interpolate(_ value: JSONValue, at pointer: JSONPointer) -> JSONValue {
        switch value {
        case .string(let text):
            do {
                return .string(try EnvironmentInterpolation.expand(text, environment: environment))
            } catch {
                switch error {
                case .unset(let name):
                    self.error(pointer, "environment variable \(name) is not set", fix: "set \(name), or give a default: ${\(name):-value}")
                case .unterminated:
                    self.error(pointer, "unterminated '${' in '\(text)'", fix: "close it with '}', or write '$$' for a literal '$'")
                case .invalidName(let name):
                    self.error(pointer, "'\(name)' is not a valid environment variable name", fix: "write ${NAME} or ${NAME:-default}")
                }
            }
            return value
        case .object(let object):
            return .object(interpolate(object, at: pointer))
        case .array(let items):
            return .array(items.enumerated().map { interpolate($0.element, at: pointer.appending($0.offset)) })
        default:
            return value
        }
    }

    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }

    /// `""`, or `/segment/segment` with unreserved characters only and no empty segment.
    static func isValidPath(_ path: String) -> Bool {
        if path.isEmpty { return true }
        guard path.hasPrefix("/"), !path.hasSuffix("/") else { return false }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).allSatisfy { segment in
            !segment.isEmpty && segment.utf8.allSatisfy { byte in
                (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
                    || byte == 45 || byte == 95 || byte == 46 || byte == 126
            }
        }
    }
}

extension JSONPointer {
    func appending(contentsOf other: JSONPointer) -> JSONPointer {
        JSONPointer(tokens + other.tokens)
    }
}
