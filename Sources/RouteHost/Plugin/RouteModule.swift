import JSONSchema

/// A route module: a compiled-in plugin that routes.json mounts under a prefix.
///
/// A module offers handlers by name; routes.json decides which are mounted, at which paths, and
/// with which policies (auth, schema, queue, stream, rate limit). The same plugin can be mounted
/// several times with different configurations.
///
/// ```swift
/// struct EchoModule: RouteModule {
///     struct Configuration: Decodable, Sendable { var greeting: String }
///     static let pluginName = "echo"
///     let greeting: String
///     init(configuration: Configuration, context: ModuleContext) throws {
///         greeting = configuration.greeting
///     }
///     var handlers: [String: RouteHandler] {
///         ["hello": .envelope { request in HandlerResponse(["greeting": .string(greeting)]) }]
///     }
/// }
/// ```
///
/// - Important: `init` runs for `routehost check` too: it must validate its configuration and
///   must not reach the network. Throw ``ModuleConfigurationError`` to reject a setting; the host
///   reports it at the setting's line in routes.json.
public protocol RouteModule: Sendable {
    /// The module's settings, decoded from the manifest's `config` object (after `${VAR}`
    /// interpolation). Unknown keys are reported as errors when the type lists its keys in
    /// ``RouteModule/configurationKeys``.
    associatedtype Configuration: Decodable & Sendable = EmptyModuleConfiguration

    /// The `plugin` value that names this module type in routes.json.
    static var pluginName: String { get }

    /// The configuration keys this module understands; `nil` accepts any key.
    static var configurationKeys: [String]? { get }

    init(configuration: Configuration, context: ModuleContext) throws

    /// The handlers this module offers, by the names routes.json refers to.
    var handlers: [String: RouteHandler] { get }

    /// The module's health. Called by `/health` and discovery; it must answer quickly (from a
    /// cache) and never block on the network.
    func health() async -> ModuleHealth

    /// Called once when the host stops, after requests have drained.
    func shutdown() async
}

extension RouteModule {
    public static var configurationKeys: [String]? { nil }
    public func health() async -> ModuleHealth { .healthy }
    public func shutdown() async {}
}

/// The configuration of a module that takes none.
public struct EmptyModuleConfiguration: Decodable, Sendable {
    public init() {}
}

/// A module's rejection of one of its settings; reported at that setting's line in routes.json.
public struct ModuleConfigurationError: Error, Sendable {
    /// The setting concerned, as a key path inside `config` (`["service_url"]`), empty for the whole object.
    public var key: [String]
    public var message: String
    public var fix: String?

    public init(key: [String] = [], message: String, fix: String? = nil) {
        self.key = key
        self.message = message
        self.fix = fix
    }
}
