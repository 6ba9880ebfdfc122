import Foundation
import Logging
import NIOConcurrencyHelpers

/// Feeds due webhook deliveries from the ``JobStore`` into a fixed number of delivery slots.
///
/// The store is the queue: every `pending` delivery carries the due time of its next attempt
/// (`webhook_next_attempt_at`). The scheduler claims due deliveries, earliest first, into free
/// slots; a slot makes one attempt (``WebhookDeliverer/deliverOnce(_:)``, at most
/// `WEBHOOK_TIMEOUT`), records the outcome and the next due time, and is free again. Nothing
/// sleeps in a slot, so a receiver that answers `429 Retry-After: 3600`, or one that hangs,
/// holds a slot for one attempt at most and never delays other receivers' webhooks.
///
/// A job that finishes hands its delivery over directly (``offer(_:)``) when a slot is free, so
/// the first attempt does not wait for the store (which a long job may be keeping busy); when
/// none is free the delivery waits in the store. The scheduler looks at the store when a slot
/// frees, when the earliest pending delivery falls due, and at least every ``sweepInterval``.
/// Memory is bounded by the slot count, whatever the backlog: only claimed deliveries are held.
///
/// - Note: due times are wall-clock dates (they survive a restart); a clock step moves them.
///   Attempts in progress are known only to this process (see ``JobStore``: one process per
///   store).
final class WebhookScheduler: Sendable {
    /// The longest the scheduler goes without looking at the store.
    static let sweepInterval: Duration = .seconds(5)

    /// Attempts in progress at once.
    let slots: Int
    private let store: any JobStore
    private let deliverer: WebhookDeliverer
    private let logger: Logger
    private let bell = JobDoorbell(maximumPermits: 1)
    private let claims = NIOLockedValueBox(Claims())
    private let closed = NIOLockedValueBox(false)

    init(slots: Int, store: any JobStore, deliverer: WebhookDeliverer, logger: Logger) {
        self.slots = max(1, slots)
        self.store = store
        self.deliverer = deliverer
        self.logger = logger
    }

    /// The deliveries in progress (by job id) and those handed over but not started yet; both
    /// hold a slot.
    private struct Claims {
        var inFlight: Set<String> = []
        var handedOver: [PendingWebhook] = []
    }

    /// A job with a `webhook_url` has finished (its `pending` delivery is committed): attempts
    /// it at once when a slot is free, else leaves it to the store.
    func offer(_ webhook: PendingWebhook) {
        claims.withLockedValue { claims in
            guard claims.inFlight.count < slots, !claims.inFlight.contains(webhook.jobID) else { return }
            claims.inFlight.insert(webhook.jobID)
            claims.handedOver.append(webhook)
        }
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
            self.claims.withLockedValue { _ = $0.inFlight.remove(webhook.jobID) }
            self.bell.ring()
        }
    }

    /// Marks up to the free slots' worth of due deliveries as in progress; returns them and how
    /// long to wait (at most) before looking again.
    private func claimDue() async throws -> (claimed: [PendingWebhook], wait: Duration) {
        let busy = claims.withLockedValue { $0.inFlight }
        let free = slots - busy.count
        guard free > 0 else { return ([], Self.sweepInterval) }
        let due = try await store.dueWebhooks(at: Date(), excluding: busy, limit: free)
        // A delivery handed over meanwhile may be among them: it runs once, as handed over.
        let fresh = claims.withLockedValue { claims in
            due.filter { claims.inFlight.insert($0.jobID).inserted }
        }
        if due.count == free { return (fresh, Self.sweepInterval) }
        guard let next = try await store.nextWebhookDue(excluding: claims.withLockedValue({ $0.inFlight })) else {
            return (fresh, Self.sweepInterval)
        }
        let untilDue = Duration.milliseconds(Int64((next.timeIntervalSinceNow * 1000).rounded(.up)))
        return (fresh, min(max(untilDue, .zero), Self.sweepInterval))
    }

    private func attempt(_ webhook: PendingWebhook) async {
        guard let delivery = await deliverer.deliverOnce(webhook) else { return }
        do {
            try await store.recordWebhook(jobID: webhook.jobID, delivery, at: Date())
        } catch {
            logger.error("could not record a webhook attempt", metadata: ["job_id": "\(webhook.jobID)", "error": "\(error)"])
        }
    }
}
