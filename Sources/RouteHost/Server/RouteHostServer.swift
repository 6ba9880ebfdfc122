import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import JSONSchema
import Logging
import ServiceLifecycle

/// The assembled host: the registry mounted on a router behind the shared pipeline.
///
/// Pipeline order for every module route: request id → security headers → CORS → error
/// mapping → client address → rate limit → authentication → body (size, content type, JSON) →
/// schema validation → queue decision → handler (a route answers its own errors, so the steps
/// around it add their headers to error answers too). `/health` and `/openapi.json` are served by the host itself, without a key.
///
/// ```swift
/// let server = try RouteHostServer(manifestPath: "routes.json", catalog: .withBuiltIns([YouTubeModule.self]),
///                                  environment: try .load())
/// try await server.run()
/// ```
public final class RouteHostServer: Sendable {
    public let configuration: HostConfiguration
    public let registry: RouteRegistry
    public let services: HostServices
    public let logger: Logger
    let keys: APIKeySet
    let httpClients: HTTPClientFactory
    let authFailures: AuthFailureLimiter
    let connectionLimiter: ClientConnectionLimiter
    /// The host's metrics; nil while `METRICS_TOKEN` is unset (then nothing is collected).
    public let metrics: HostMetrics?

    /// Keys shorter than this get a warning at start-up.
    static let minimumKeyLength = 16

    /// Builds the host from a loaded manifest.
    ///
    /// - Parameters:
    ///   - isServing: false for `routehost check`: modules are created but start nothing.
    ///   - jobs: the job service; defaults to a ``DurableJobService`` on `LOCAL_STORAGE_PATH/jobs.sqlite`.
    ///   - clock: the time of the modules' timed state (tests pass an adjustable one).
    public convenience init(
        manifest: Manifest, catalog: PluginCatalog, environment: EnvironmentValues, logger: Logger = Logger(label: "routehost"),
        isServing: Bool = true, jobs: (any JobService)? = nil, clock: HostClock = .system
    ) throws {
        try self.init(manifest: manifest, diagnostics: [], catalog: catalog, environment: environment, logger: logger, isServing: isServing, jobs: jobs, clock: clock)
    }

    init(
        manifest: Manifest, diagnostics: [ManifestDiagnostic], catalog: PluginCatalog, environment: EnvironmentValues, logger: Logger,
        isServing: Bool, jobs: (any JobService)?, clock: HostClock
    ) throws {
        let configuration = try HostConfiguration(environment: environment)
        self.configuration = configuration
        self.logger = logger
        self.keys = APIKeySet(configuration.apiKeys)
        let shortKeys = configuration.apiKeys.filter { $0.count < Self.minimumKeyLength }.count
        if shortKeys > 0 {
            logger.warning(
                "API keys shorter than \(Self.minimumKeyLength) characters can be guessed; use long random keys (openssl rand -hex 24)",
                metadata: ["short_keys": "\(shortKeys)"])
        }
        self.authFailures = AuthFailureLimiter(limit: configuration.authFailureLimit, maxTrackedAddresses: configuration.rateLimitMaxClients)
        let metrics = configuration.metricsToken == nil ? nil : HostMetrics()
        self.metrics = metrics
        self.connectionLimiter = ClientConnectionLimiter(limit: configuration.maxConnectionsPerClient, trustedProxies: configuration.trustedProxies)
        let httpClients = HTTPClientFactory()
        self.httpClients = httpClients
        let queueID = Int(ProcessInfo.processInfo.processIdentifier) &* 1_000_003 % 100_000_000
        let buildNumber = configuration.buildNumber
        var jobsLogger = logger
        jobsLogger[metadataKey: "component"] = "jobs"
        let jobs = try jobs ?? DurableJobService(
            store: configuration.makeJobStore(logger: jobsLogger), configuration: configuration, queueID: queueID, logger: jobsLogger,
            metrics: metrics)
        let fields = EnvelopeFields(queueID: queueID, buildNumber: buildNumber, queueLength: { jobs.queueLength })
        let services = HostServices(configuration: configuration, jobs: jobs, fields: fields)
        self.services = services
        registry = try RouteRegistry.build(manifest: manifest, catalog: catalog, diagnostics: diagnostics) { module in
            var moduleLogger = logger
            moduleLogger[metadataKey: "module"] = .string(module.name)
            return ModuleContext(
                moduleName: module.name, prefix: module.prefix, logger: moduleLogger, environment: environment,
                httpClients: httpClients, isServing: isServing, clock: clock, host: services)
        }
        services.registry = registry
        for route in registry.routes {
            if case .envelope(let handler) = route.handler.kind, route.manifest.queue == .webhook {
                jobs.register(endpoint: route.manifest.fullPath, handler: handler)
            }
        }
    }

    /// Loads the manifest at `manifestPath` and builds the host; manifest and binding problems
    /// are reported together in one ``ManifestError``.
    public convenience init(
        manifestPath: String, catalog: PluginCatalog, environment: EnvironmentValues, logger: Logger = Logger(label: "routehost"),
        isServing: Bool = true, jobs: (any JobService)? = nil, clock: HostClock = .system
    ) throws {
        let (manifest, diagnostics) = ManifestLoader(environment: environment).loadCollectingDiagnostics(path: manifestPath)
        guard let manifest else { throw ManifestError(diagnostics) }
        try self.init(manifest: manifest, diagnostics: diagnostics, catalog: catalog, environment: environment, logger: logger, isServing: isServing, jobs: jobs, clock: clock)
    }

    /// Builds the host from a manifest's text; `path` names it in diagnostics.
    public convenience init(
        manifestBytes: [UInt8], path: String, baseDirectory: String, catalog: PluginCatalog, environment: EnvironmentValues,
        logger: Logger = Logger(label: "routehost"), isServing: Bool = true, jobs: (any JobService)? = nil,
        clock: HostClock = .system
    ) throws {
        let (manifest, diagnostics) = ManifestLoader(environment: environment).loadCollectingDiagnostics(bytes: manifestBytes, path: path, baseDirectory: baseDirectory)
        guard let manifest else { throw ManifestError(diagnostics) }
        try self.init(manifest: manifest, diagnostics: diagnostics, catalog: catalog, environment: environment, logger: logger, isServing: isServing, jobs: jobs, clock: clock)
    }

    /// The router with every module route and the host routes mounted.
    public func makeRouter() -> Router<RouteHostRequestContext> {
        let router = Router(context: RouteHostRequestContext.self)
        let registry = self.registry
        if let metrics {
            // Keyed as the router names a matched route (`RequestContext.endpointPath`).
            var modules = Dictionary(registry.routes.map { (RouterPath($0.manifest.fullPath).description, $0.module) }) { first, _ in first }
            for path in ["/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/:file"] { modules[RouterPath(path).description] = "host" }
            router.add(middleware: MetricsMiddleware(metrics: metrics, modules: modules))
        }
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: SecurityHeadersMiddleware())
        if !configuration.allowedOrigins.isEmpty {
            router.add(middleware: CORSMiddleware(origins: configuration.allowedOrigins) { registry.allowedMethods(at: $0) })
        }
        router.add(middleware: ErrorMiddleware { registry.allowedMethods(at: $0) })
        router.add(middleware: ClientAddressMiddleware(trustedProxies: configuration.trustedProxies))
        let globalLimit = makeLimiter(rate: configuration.rateLimitPerMinute, period: .seconds(60), burst: configuration.rateLimitBurst)
        let bodyReader = JSONBodyReader(maxBytes: configuration.maxBodyBytes, maxDepth: configuration.maxJSONDepth)
        let webhookHosts = WebhookHostPolicy(configuration.webhookAllowedHosts)
        for route in registry.routes {
            let manifest = route.manifest
            let group = router.group()
            let routeLimit = manifest.rateLimit.flatMap { makeLimiter(rate: $0.count, period: $0.period, burst: $0.count) }
            if globalLimit != nil || routeLimit != nil {
                var limiter = RateLimitMiddleware(keys: keys, global: globalLimit, route: routeLimit)
                limiter.metrics = metrics
                group.add(middleware: limiter)
            }
            if manifest.auth {
                var authentication = AuthenticationMiddleware(
                    keys: keys, endpoint: manifest.fullPath, envelopeOnFailure: route.handler.envelopeOnAuthFailure,
                    envelopeFields: services.fields, failureLimiter: authFailures)
                authentication.metrics = metrics
                group.add(middleware: authentication)
            }
            group.on(
                RouterPath(manifest.fullPath), method: manifest.method,
                responder: RouteEndpoint(
                    route: manifest, handler: route.handler, bodyReader: bodyReader,
                    validator: manifest.schema.map { PayloadValidator(schema: $0.validator) }, jobs: services.jobs,
                    fields: services.fields, webhookHosts: webhookHosts))
        }
        let healthReport = HealthReport(host: services)
        router.get("/health") { _, _ in
            Response.json(serialized: await healthReport.body())
        }
        let metricsEndpoint = MetricsEndpoint(metrics: metrics, token: configuration.metricsToken, jobs: services.jobs)
        router.get("/metrics") { request, _ in await metricsEndpoint.answer(request) }
        let readiness = ReadinessReport(host: services)
        router.get("/ready") { _, _ in
            let (ready, body) = readiness.answer()
            return Response.json(serialized: body, status: ready ? .ok : .serviceUnavailable)
        }
        let openAPI = OpenAPIDocument(registry: registry).json.serialized()
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
        let docs = APIDocsPage(assetsFolder: configuration.docsAssetsPath)
        router.get("/docs") { _, _ in docs.page() }
        router.get("/docs/:file") { _, context in docs.asset(context.parameters.get("file") ?? "") }
        return router
    }

    func makeLimiter(rate: Int, period: Duration, burst: Int) -> TokenBucketLimiter? {
        guard rate > 0 else { return nil }
        return TokenBucketLimiter(rate: rate, period: period, burst: burst, maxKeys: configuration.rateLimitMaxClients)
    }

    /// The Hummingbird application serving the router on `host:port` (port 0: any free port).
    public func makeApplication(host: String? = nil, port: Int? = nil, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
        let headTimeout = TimeAmount(configuration.requestHeadTimeout)
        let bodyTimeout = TimeAmount(configuration.requestBodyTimeout)
        let connectionLimiter = connectionLimiter
        return Application(
            router: makeRouter(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [
                    ClientConnectionLimitHandler(limiter: connectionLimiter), MalformedRequestHandler(), RequestDeadlineHandler(headTimeout: headTimeout, bodyTimeout: bodyTimeout),
                    ClientHangUpDetector(),
                ],
                idleTimeout: TimeAmount(configuration.idleTimeout))),
            configuration: .init(
                address: .hostname(host ?? configuration.host, port: port ?? configuration.port),
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections)),
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, drains for up to
    /// `SHUTDOWN_GRACE_SECONDS`, shuts the modules down, and returns.
    ///
    /// The job store is opened first (a second process on the same `LOCAL_STORAGE_PATH` waits for
    /// its lock here, up to `STORE_LOCK_TIMEOUT_SECONDS`, before it listens).
    public func run(host: String? = nil, port: Int? = nil, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws {
        FileDescriptorLimit.raise(toServe: configuration.maxConnections, logger: logger)
        if let database = configuration.database {
            logger.info("jobs are kept in PostgreSQL", metadata: ["database": "\(database.displayName)"])
            await SQLiteJobStore.warnAboutUnfinishedWork(storagePath: configuration.storagePath, logger: logger)
        }
        do {
            try await services.jobs.open()
        } catch {
            await shutdown()
            throw error
        }
        let group = makeServiceGroup(host: host, port: port, onServerRunning: onServerRunning)
        do {
            try await group.run()
        } catch {
            await shutdown()
            throw error
        }
        await shutdown()
    }

    /// The services that make the running host: the job service (when it is a `Service`, as
    /// ``DurableJobService`` is) and the HTTP server.
    ///
    /// Graceful shutdown runs in reverse order: the server stops accepting and drains its
    /// requests, then the job workers drain, all within `SHUTDOWN_GRACE_SECONDS`. Call
    /// ``shutdown()`` once the group has returned.
    ///
    /// - Parameter handlesSignals: whether SIGTERM and SIGINT start the graceful shutdown
    ///   (tests pass false and call `triggerGracefulShutdown()`).
    public func makeServiceGroup(
        host: String? = nil, port: Int? = nil, handlesSignals: Bool = true,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> ServiceGroup {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let jobs = self.services.jobs as? any Service {
            services.append(.init(service: jobs))
        }
        services.append(.init(service: makeApplication(host: host, port: port, onServerRunning: onServerRunning)))
        services.append(.init(service: DrainSignalService(host: self.services), successTerminationBehavior: .gracefullyShutdownGroup))
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: handlesSignals ? [.sigterm, .sigint] : [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: groupConfiguration)
    }

    /// Shuts the modules, the job service and the HTTP clients down.
    public func shutdown() async {
        for module in registry.modules {
            await module.instance.shutdown()
        }
        await services.jobs.shutdown()
        await httpClients.shutdown()
    }
}
