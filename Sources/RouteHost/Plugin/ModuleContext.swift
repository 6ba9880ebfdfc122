import AsyncHTTPClient
import Logging

/// The host services a module receives when it is created.
///
/// A module reaches the host only through this value: never through globals or host internals.
public struct ModuleContext: Sendable {
    /// The module's name in routes.json (`youtube`).
    public var moduleName: String
    /// The path prefix the module is mounted under (`/v1/media/youtube`).
    public var prefix: String
    /// A logger labelled with the module's name.
    public var logger: Logger
    /// The process environment merged with `.env`, for settings that are not in routes.json.
    public var environment: EnvironmentValues
    /// Creates HTTP clients that the host shuts down when it stops.
    public var httpClients: HTTPClientFactory
    /// False while `routehost check` builds the module: don't start background work then.
    public var isServing: Bool
    /// The time for the module's timed state (``CircuitBreaker``, ``HealthCache``); tests move it.
    public var clock: HostClock
    /// The host's internals, for the built-in modules only.
    let host: HostServices?

    public init(
        moduleName: String, prefix: String, logger: Logger, environment: EnvironmentValues,
        httpClients: HTTPClientFactory, isServing: Bool, clock: HostClock = .system
    ) {
        self.init(
            moduleName: moduleName, prefix: prefix, logger: logger, environment: environment, httpClients: httpClients,
            isServing: isServing, clock: clock, host: nil)
    }

    init(
        moduleName: String, prefix: String, logger: Logger, environment: EnvironmentValues,
        httpClients: HTTPClientFactory, isServing: Bool, clock: HostClock, host: HostServices?
    ) {
        self.host = host
        self.clock = clock
        self.moduleName = moduleName
        self.prefix = prefix
        self.logger = logger
        self.environment = environment
        self.httpClients = httpClients
        self.isServing = isServing
    }
}
