import Foundation
import Logging
import NIOConcurrencyHelpers

/// Feeds due webhook deliveries from the ``JobStore`` into a fixed number of delivery slots.
///
/// The store is the queue: every `pending` delivery carries the due time of its next attempt
/// (`webhook_next_attempt_at`). The scheduler claims due deliveries, earliest first, into free
/// slots, each held in the store under a lease of ``claimDuration`` (so that with a shared
/// store one host at a time attempts a delivery, and another takes it over if this one dies
/// mid-attempt); a slot makes one attempt (``WebhookDeliverer/deliverOnce(_:)``, at most
/// `WEBHOOK_TIMEOUT`), records the outcome and the next due time, and is free again. Nothing
/// sleeps in a slot, so a receiver that answers `429 Retry-After: 3600`, or one that hangs,
/// holds a slot for one attempt at most and never delays other receivers' webhooks.
///
/// A job that finishes reserves a slot (``reserve(_:)``) and, once its delivery is committed
/// and held, hands it over directly (``handOver(_:)``), so the first attempt does not wait for
/// the store (which a long job may be keeping busy); when no slot is free the delivery waits
/// in the store. The scheduler looks at the store when a slot
/// frees, when the earliest pending delivery falls due, and at least every ``sweepInterval``.
/// Memory is bounded by the slot count, whatever the backlog: only claimed deliveries are held.
///
/// - Note: due times are wall-clock dates (they survive a restart); a clock step moves them,
///   and with a shared store the hosts' clocks must agree to within a fraction of a lease.
final class WebhookScheduler: Sendable {
    /// The longest the scheduler goes without looking at the store.
    static let sweepInterval: Duration = .seconds(5)

    /// Attempts in progress at once (`WEBHOOK_CONCURRENCY`).
    let slots: Int
    /// Attempts in progress at once to one receiver, its scheme, host and port
    /// (`WEBHOOK_RECEIVER_CONCURRENCY`): a receiver that hangs holds this many slots at most.
    let perReceiverLimit: Int
    /// The holder of this scheduler's claims (the host's owner id).
    let owner: String
    /// How long a claimed delivery stays held: longer than one attempt can take.
    let claimDuration: Duration
    private let store: any JobStore
    private let storeHealth: StoreHealth
    private let metrics: HostMetrics?
    private let deliverer: WebhookDeliverer
    private let logger: Logger
    private let bell = JobDoorbell(maximumPermits: 1)
    private let claims = NIOLockedValueBox(Claims())
    private let closed = NIOLockedValueBox(false)

    init(
        slots: Int, perReceiverLimit: Int, metrics: HostMetrics? = nil, owner: String, claimDuration: Duration, store: any JobStore,
        deliverer: WebhookDeliverer, storeHealth: StoreHealth, logger: Logger
    ) {
        self.metrics = metrics
        self.perReceiverLimit = max(1, perReceiverLimit)
        self.storeHealth = storeHealth
        self.slots = max(1, slots)
        self.owner = owner
        self.claimDuration = claimDuration
        self.store = store
        self.deliverer = deliverer
        self.logger = logger
    }

    /// The deliveries in progress (job id → receiver) and those handed over but not started
    /// yet; both hold a slot.
    private struct Claims {
        var inFlight: [String: String] = [:]
        var perReceiver: [String: Int] = [:]
        var handedOver: [PendingWebhook] = []

        mutating func take(_ jobID: String, receiver: String, slots: Int, perReceiverLimit: Int) -> Bool {
            guard inFlight.count < slots, perReceiver[receiver, default: 0] < perReceiverLimit, inFlight[jobID] == nil else { return false }
            inFlight[jobID] = receiver
            perReceiver[receiver, default: 0] += 1
            return true
        }

        mutating func free(_ jobID: String) {
            guard let receiver = inFlight.removeValue(forKey: jobID) else { return }
            perReceiver[receiver, default: 1] -= 1
            if perReceiver[receiver] == 0 { perReceiver[receiver] = nil }
        }

        func saturated(_ limit: Int) -> Set<String> {
            Set(perReceiver.filter { $0.value >= limit }.keys)
        }
    }

    /// Takes a slot for the first attempt of a job about to finish; false when none is free,
    /// overall or for its receiver (the delivery then waits in the store). Follow with
    /// ``handOver(_:)`` or ``release(_:)``.
    func reserve(_ jobID: String, url: String) -> Bool {
        let receiver = WebhookURL(url)?.receiver ?? url
        return claims.withLockedValue { $0.take(jobID, receiver: receiver, slots: slots, perReceiverLimit: perReceiverLimit) }
    }

    /// Starts the attempt of a delivery whose slot ``reserve(_:)`` took, committed and held by ``owner``.
    func handOver(_ webhook: PendingWebhook) {
        claims.withLockedValue { $0.handedOver.append(webhook) }
        bell.ring()
    }

    /// Frees a slot that ``reserve(_:url:)`` took and that is not used.
    func release(_ jobID: String) {
        claims.withLockedValue { $0.free(jobID) }
        bell.ring()
    }

    /// Looks at the store now (another host left a delivery due).
    func wake() {
        bell.ring()
    }

    /// Stops claiming; ``run()`` returns once the attempts in progress have ended.
    func close() {
        closed.withLockedValue { $0 = true }
        bell.close()
    }

    /// Claims and runs due deliveries until ``close()`` or cancellation (which cancels the
    /// attempts in progress; an attempt cut short is not recorded).
    func run() async {
        await withDiscardingTaskGroup { group in
            while !closed.withLockedValue({ $0 }) && !Task.isCancelled {
                let handedOver = claims.withLockedValue { claims in
                    defer { claims.handedOver = [] }
                    return claims.handedOver
                }
                for webhook in handedOver { start(webhook, in: &group) }
                var claimed: [PendingWebhook]
                let wait: Duration
                do {
                    (claimed, wait) = try await claimDue()
                } catch {
                    logger.error("could not read due webhooks", metadata: ["error": "\(error)"])
                    (claimed, wait) = ([], .seconds(1))
                }
                for webhook in claimed { start(webhook, in: &group) }
                claimed += handedOver
                // Nothing claimed yet something due (a race with a finishing job, or a row the
                // store cannot hand out): look again soon, without spinning.
                let pause = claimed.isEmpty ? max(wait, .milliseconds(100)) : wait
                if pause > .zero {
                    await bell.wait(timeout: pause)
                }
            }
        }
    }

    private func start(_ webhook: PendingWebhook, in group: inout DiscardingTaskGroup) {
        group.addTask {
            await self.attempt(webhook)
            self.claims.withLockedValue { $0.free(webhook.jobID) }
            self.bell.ring()
        }
    }

    /// Claims up to the free slots' worth of due deliveries; returns them and how long to wait
    /// (at most) before looking again.
    private func claimDue() async throws -> (claimed: [PendingWebhook], wait: Duration) {
        let (free, saturated) = claims.withLockedValue { (slots - $0.inFlight.count, $0.saturated(perReceiverLimit)) }
        guard free > 0 else { return ([], Self.sweepInterval) }
        let due = try await store.claimDueWebhooks(JobLease(owner: owner, duration: claimDuration), limit: free, excludingReceivers: saturated)
        // One batch can hold more for a receiver than its share: those go back to the store.
        let (fresh, over) = claims.withLockedValue { claims -> ([PendingWebhook], [String]) in
            var fresh: [PendingWebhook] = []
            var over: [String] = []
            for webhook in due {
                if claims.take(webhook.jobID, receiver: WebhookURL(webhook.url)?.receiver ?? webhook.url, slots: slots, perReceiverLimit: perReceiverLimit) {
                    fresh.append(webhook)
                } else if claims.inFlight[webhook.jobID] == nil {
                    over.append(webhook.jobID)
                }
            }
            return (fresh, over)
        }
        if !over.isEmpty { try await store.releaseWebhooks(jobIDs: over, owner: owner) }
        if due.count == free && over.isEmpty { return (fresh, Self.sweepInterval) }
        let busy = claims.withLockedValue { $0.saturated(perReceiverLimit) }
        guard let next = try await store.nextWebhookDue(excludingReceivers: busy) else { return (fresh, Self.sweepInterval) }
        let untilDue = Duration.milliseconds(Int64((next.timeIntervalSinceNow * 1000).rounded(.up)))
        return (fresh, min(max(untilDue, .zero), Self.sweepInterval))
    }

    private func attempt(_ webhook: PendingWebhook) async {
        guard let delivery = await deliverer.deliverOnce(webhook) else { return }
        metrics?.webhookAttempted(delivery)
        await record(jobID: webhook.jobID, delivery)
    }

    /// Records an attempt's outcome, trying again (0.5 s, doubling, at most 30 s) while the store
    /// fails: the delivery keeps its slot meanwhile, so it is never sent again before its last
    /// attempt is recorded, and a store that cannot write holds every slot instead of letting
    /// them send in a loop. After ``close()`` one more try is made; an outcome still unrecorded
    /// then is lost, and the delivery (held in the store until its claim expires) is attempted
    /// again later.
    private func record(jobID: String, _ delivery: WebhookDelivery) async {
        var delay = StoreRetryDelay()
        while true {
            do {
                try await store.recordWebhook(jobID: jobID, delivery, owner: owner, at: Date())
                storeHealth.succeeded()
                return
            } catch {
                storeHealth.failed(error)
                let closing = closed.withLockedValue { $0 } || Task.isCancelled
                logger.error(
                    closing ? "could not record a webhook attempt; it will be attempted again" : "could not record a webhook attempt; retrying",
                    metadata: ["job_id": "\(jobID)", "error": "\(error)"])
                if closing { return }
                try? await Task.sleep(for: delay.take())
            }
        }
    }
}
