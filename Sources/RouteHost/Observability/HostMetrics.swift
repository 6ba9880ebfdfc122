import Foundation
import NIOConcurrencyHelpers
import Prometheus

/// The host's Prometheus metrics, served at `GET /metrics` when `METRICS_TOKEN` is set.
///
/// One registry per host (never the process-wide `MetricsSystem`, so that hosts in one process,
/// tests among them, never share a counter). Every family is declared here once, with its help
/// text, type, label names and buckets; its series are made on first use. Label values are
/// bounded: a route is its manifest template (every unknown path is `unmatched`), a status is
/// its class (`2xx`), a job outcome its envelope code, a refusal one of four reasons.
public final class HostMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Seconds, for request and job durations: 5 ms to 10 min.
    static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(600),
    ]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "HTTP requests answered, by module, route template, method and status class.")
    }
    static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Time from a request's head to its answer's head, by module, route template, method and status class.")
    }
    static var requestsInFlight: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "http", metricName: "requests_in_flight", unitName: "",
            helpText: "HTTP requests being answered now.")
    }
    static var jobsQueued: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "jobs", metricName: "queued", unitName: "",
            helpText: "Jobs waiting in the queue (with PostgreSQL, the shared queue: do not sum over instances).")
    }
    static var jobsRunning: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "jobs", metricName: "running", unitName: "",
            helpText: "Queued jobs this instance is running now.")
    }
    static var jobsFinished: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "jobs", metricName: "finished", unitName: "total",
            helpText: "Jobs finished, by kind (queued or sync) and envelope code.")
    }
    static var jobRunDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "jobs", metricName: "run_duration", unitName: "seconds",
            helpText: "Time a queued job's handler ran.")
    }
    static var jobQueueWait: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "jobs", metricName: "queue_wait", unitName: "seconds",
            helpText: "Time a queued job waited before a worker took it.")
    }
    static var jobsRecovered: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "jobs", metricName: "recovered", unitName: "total",
            helpText: "Jobs whose host stopped while they ran, taken over and queued again.")
    }
    static var webhookAttempts: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "webhooks", metricName: "attempts", unitName: "total",
            helpText: "Webhook attempts, by outcome: delivered, retried (will be tried again), failed (given up).")
    }
    static var webhooksPending: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "webhooks", metricName: "pending", unitName: "",
            helpText: "Webhook deliveries not delivered or given up yet (in the whole store).")
    }
    static var refusals: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "routehost", subsystem: "http", metricName: "refusals", unitName: "total",
            helpText: "Requests refused before their handler, by reason: rate_limit, queue_limit, auth_failure, blocked_address.")
    }

    /// Why a request was refused before its handler: the `reason` label of `routehost_http_refusals_total`.
    public enum Refusal: String, Sendable, CaseIterable {
        case rateLimit = "rate_limit", queueLimit = "queue_limit", authFailure = "auth_failure", blockedAddress = "blocked_address"
    }

    let inFlight: Gauge
    let queued: Gauge
    let running: Gauge
    let pending: Gauge
    let recovered: Counter
    let runDuration: DurationHistogram
    let queueWait: DurationHistogram

    public init() {
        inFlight = registry.makeGauge(descriptor: Self.requestsInFlight)
        queued = registry.makeGauge(descriptor: Self.jobsQueued)
        running = registry.makeGauge(descriptor: Self.jobsRunning)
        pending = registry.makeGauge(descriptor: Self.webhooksPending)
        recovered = registry.makeCounter(descriptor: Self.jobsRecovered)
        runDuration = registry.makeDurationHistogram(descriptor: Self.jobRunDuration, buckets: Self.durationBuckets)
        queueWait = registry.makeDurationHistogram(descriptor: Self.jobQueueWait, buckets: Self.durationBuckets)
        for refusal in Refusal.allCases {
            _ = registry.makeCounter(descriptor: Self.refusals, labels: [("reason", refusal.rawValue)])
        }
    }

    private struct RequestSeries: Hashable {
        var module: String
        var route: String
        var method: String
        var statusClass: Int
    }

    /// The request series made so far: the registry's own lookup (label arrays compared under its
    /// lock) cost more per request than the rest of the metrics together.
    private let requestSeries = NIOLockedValueBox<[RequestSeries: (count: Counter, duration: DurationHistogram)]>([:])

    /// One answered request.
    func recordRequest(module: String, route: String, method: String, status: Int, duration: Duration) {
        let key = RequestSeries(module: module, route: route, method: method, statusClass: status / 100)
        let series = requestSeries.withLockedValue { cache in
            if let series = cache[key] { return series }
            let labels = [("module", module), ("route", route), ("method", method), ("status", "\(key.statusClass)xx")]
            let series = (
                count: registry.makeCounter(descriptor: Self.requests, labels: labels),
                duration: registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: labels, buckets: Self.durationBuckets)
            )
            cache[key] = series
            return series
        }
        series.count.increment()
        series.duration.record(duration)
    }

    func refused(_ reason: Refusal) {
        registry.makeCounter(descriptor: Self.refusals, labels: [("reason", reason.rawValue)]).increment()
    }

    private struct FinishedSeries: Hashable {
        var queued: Bool
        var code: Int
    }

    private let finishedSeries = NIOLockedValueBox<[FinishedSeries: Counter]>([:])

    func jobFinished(queued: Bool, code: Int) {
        let counter = finishedSeries.withLockedValue { cache in
            let key = FinishedSeries(queued: queued, code: code)
            if let counter = cache[key] { return counter }
            let counter = registry.makeCounter(descriptor: Self.jobsFinished, labels: [("kind", queued ? "queued" : "sync"), ("code", "\(code)")])
            cache[key] = counter
            return counter
        }
        counter.increment()
    }

    func webhookAttempted(_ delivery: WebhookDelivery) {
        let outcome = switch delivery.state {
        case .delivered: "delivered"
        case .pending: "retried"
        case .failed: "failed"
        }
        registry.makeCounter(descriptor: Self.webhookAttempts, labels: [("outcome", outcome)]).increment()
    }

    /// The exposition text, with the gauges read from `jobs` first.
    func exposition(jobs: any JobService) async -> [UInt8] {
        queued.set(Double(jobs.queueLength))
        if let service = jobs as? DurableJobService {
            running.set(Double(service.runningCount))
            if let count = await service.pendingWebhookCount() { pending.set(Double(count)) }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
