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
/// The scheduler looks at the store when a job finishes (``poke()``), when a slot frees, when
/// the earliest pending delivery falls due, and at least every ``sweepInterval``. Memory is
/// bounded by the slot count, whatever the backlog: only claimed deliveries are loaded.
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
    private let inFlight = NIOLockedValueBox<Set<String>>([])
    private let closed = NIOLockedValueBox(false)

    init(slots: Int, store: any JobStore, deliverer: WebhookDeliverer, logger: Logger) {
        self.slots = max(1, slots)
        self.store = store
        self.deliverer = deliverer
        self.logger = logger
    }

    /// A delivery may have fallen due (a job with a `webhook_url` finished): look now.
    func poke() {
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
                let claimed: [PendingWebhook]
                let wait: Duration
                do {
                    (claimed, wait) = try await claimDue()
                } catch {
                    logger.error("could not read due webhooks", metadata: ["error": "\(error)"])
                    (claimed, wait) = ([], .seconds(1))
                }
                for webhook in claimed {
                    group.addTask {
                        await self.attempt(webhook)
                        self.inFlight.withLockedValue { _ = $0.remove(webhook.jobID) }
                        self.bell.ring()
                    }
                }
                // Nothing claimed yet something due (a race with a finishing job, or a row the
                // store cannot hand out): look again soon, without spinning.
                let pause = claimed.isEmpty ? max(wait, .milliseconds(100)) : wait
                if pause > .zero {
                    await bell.wait(timeout: pause)
                }
            }
        }
    }

    /// Marks up to the free slots' worth of due deliveries as in progress; returns them and how
    /// long to wait (at most) before looking again.
    private func claimDue() async throws -> (claimed: [PendingWebhook], wait: Duration) {
        let busy = inFlight.withLockedValue { $0 }
        let free = slots - busy.count
        guard free > 0 else { return ([], Self.sweepInterval) }
        let due = try await store.dueWebhooks(at: Date(), excluding: busy, limit: free)
        inFlight.withLockedValue { $0.formUnion(due.map(\.jobID)) }
        if due.count == free { return (due, Self.sweepInterval) }
        guard let next = try await store.nextWebhookDue(excluding: busy.union(due.map(\.jobID))) else {
            return (due, Self.sweepInterval)
        }
        let untilDue = Duration.milliseconds(Int64((next.timeIntervalSinceNow * 1000).rounded(.up)))
        return (due, min(max(untilDue, .zero), Self.sweepInterval))
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
