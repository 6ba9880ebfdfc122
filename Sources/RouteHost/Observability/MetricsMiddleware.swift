import Hummingbird

/// Counts and times every request the router answers, labelled by module, route template
/// (`unmatched` for a path no route has, so unknown paths share one series), method and status
/// class. The outermost middleware: what it times includes every other step.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = RouteHostRequestContext

    let metrics: HostMetrics
    /// The module of each route template, host routes (`/health`, `/metrics`, …) as `host`'s;
    /// any other path is `unmatched`, of no module.
    let modules: [String: String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        metrics.inFlight.increment()
        defer { metrics.inFlight.decrement() }
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status.code, since: started)
            return response
        } catch {
            record(request, context, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since started: ContinuousClock.Instant) {
        let template = context.endpointPath ?? ""
        let module = modules[template]
        let route = module == nil ? "unmatched" : template
        metrics.recordRequest(
            module: module ?? "", route: route, method: request.method.rawValue, status: status, duration: started.duration(to: .now))
    }
}
