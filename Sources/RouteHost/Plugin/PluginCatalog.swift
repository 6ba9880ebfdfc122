import Foundation
import JSONSchema

/// The compiled-in route-module plugins, by their `plugin` name.
///
/// Swift cannot load a module by name at run time, so the executable lists its plugins once:
/// `PluginCatalog([ToolkitModule.self, YouTubeModule.self])`. routes.json then decides which are
/// mounted.
public struct PluginCatalog: Sendable {
    public private(set) var types: [String: any RouteModule.Type]

    public init(_ types: [any RouteModule.Type]) {
        self.types = [:]
        for type in types { self.types[type.pluginName] = type }
    }

    /// The catalog plus the host's built-in modules (`toolkit`).
    public static func withBuiltIns(_ plugins: [any RouteModule.Type]) -> PluginCatalog {
        PluginCatalog([ToolkitModule.self] + plugins)
    }

    public var names: [String] { types.keys.sorted() }

    func type(named name: String) -> (any RouteModule.Type)? { types[name] }
}

/// Why a module could not be created from its manifest entry.
enum ModuleCreationError: Error {
    /// A key of `config` the module does not know.
    case unknownKey(String, known: [String])
    /// The configuration did not decode: the key path and the decoder's explanation.
    case decoding(path: [String], message: String)
    case rejected(ModuleConfigurationError)
}

extension RouteModule {
    /// Decodes `config` into the module's configuration and creates the module.
    static func make(config: JSONObject, context: ModuleContext) throws(ModuleCreationError) -> any RouteModule {
        if let known = configurationKeys {
            for key in config.keys where !known.contains(key) {
                throw .unknownKey(key, known: known)
            }
        }
        let configuration: Configuration
        do {
            configuration = try JSONDecoder().decode(Configuration.self, from: Data(JSONValue.object(config).serialized()))
        } catch let error as DecodingError {
            throw error.moduleCreationError
        } catch {
            throw .decoding(path: [], message: "\(error)")
        }
        do {
            return try Self(configuration: configuration, context: context)
        } catch let error as ModuleConfigurationError {
            throw .rejected(error)
        } catch {
            throw .rejected(ModuleConfigurationError(message: "\(error)"))
        }
    }
}

extension DecodingError {
    fileprivate var moduleCreationError: ModuleCreationError {
        func keys(_ path: [any CodingKey]) -> [String] {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }
        }
        switch self {
        case .keyNotFound(let key, let context):
            return .decoding(path: keys(context.codingPath), message: "missing required setting '\(key.stringValue)'")
        case .typeMismatch(let type, let context):
            return .decoding(path: keys(context.codingPath), message: "expected \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            return .decoding(path: keys(context.codingPath), message: "expected \(Self.describe(type)), found null")
        case .dataCorrupted(let context):
            return .decoding(path: keys(context.codingPath), message: context.debugDescription)
        @unknown default:
            return .decoding(path: [], message: "\(self)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Double.Type: "a number"
        default: "a value of type \(type)"
        }
    }
}
