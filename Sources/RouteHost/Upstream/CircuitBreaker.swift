import NIOConcurrencyHelpers

/// Stops sending requests to an upstream that keeps failing, and answers at once instead.
///
/// - **closed**: requests pass; each failed request (counted once, after its retries) adds one
///   to a run of consecutive failures, each success resets it. `threshold` failures in a row
///   open the circuit.
/// - **open**: requests are refused at once (the caller answers 503 with `Retry-After`: the time
///   left of `cooldown`).
/// - **half-open**: after `cooldown`, one trial request passes (the others are still refused);
///   its success closes the circuit, its failure opens it for another `cooldown`.
///
/// Every permit returned by ``acquire()`` must be settled with ``record(_:for:)``; a trial whose
/// request was abandoned (client gone) is settled with `.abandoned`, so the next request becomes
/// the trial. A threshold of 0 disables the breaker.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    /// What ``acquire()`` decided.
    public enum Permit: Sendable, Equatable {
        /// Go ahead; `trial` is true for the single request of the half-open state.
        case allowed(trial: Bool)
        /// Refused; try again after `retryAfter`.
        case rejected(retryAfter: Duration)
    }

    public enum Outcome: Sendable {
        case success
        case failure
        /// The request ended without telling anything about the upstream (cancelled).
        case abandoned
    }

    /// The breaker's state as discovery reports it.
    public struct Snapshot: Sendable, Equatable {
        public var state: State
        public var consecutiveFailures: Int
        /// Until the next trial is allowed (open state only).
        public var retryAfter: Duration?
    }

    private struct Storage {
        var state: State = .closed
        var failures = 0
        var openedAt: ContinuousClock.Instant?
        var trialInFlight = false
    }

    public let threshold: Int
    public let cooldown: Duration
    private let clock: HostClock
    private let storage = NIOLockedValueBox(Storage())

    public init(threshold: Int, cooldown: Duration, clock: HostClock = .system) {
        self.threshold = max(0, threshold)
        self.cooldown = cooldown
        self.clock = clock
    }

    /// Asks whether a request may go upstream now.
    public func acquire() -> Permit {
        guard threshold > 0 else { return .allowed(trial: false) }
        let now = clock.now
        return storage.withLockedValue { storage in
            switch storage.state {
            case .closed:
                return .allowed(trial: false)
            case .open:
                let reopensAt = (storage.openedAt ?? now) + cooldown
                if now < reopensAt { return .rejected(retryAfter: reopensAt - now) }
                storage.state = .halfOpen
                storage.trialInFlight = true
                return .allowed(trial: true)
            case .halfOpen:
                if storage.trialInFlight { return .rejected(retryAfter: .seconds(1)) }
                storage.trialInFlight = true
                return .allowed(trial: true)
            }
        }
    }

    /// Settles a permit with the request's final outcome.
    public func record(_ outcome: Outcome, for permit: Permit) {
        guard threshold > 0, case .allowed(let trial) = permit else { return }
        let now = clock.now
        storage.withLockedValue { storage in
            if trial { storage.trialInFlight = false }
            switch outcome {
            case .abandoned:
                return
            case .success:
                if trial || storage.state == .closed {
                    storage.state = .closed
                    storage.failures = 0
                    storage.openedAt = nil
                }
            case .failure:
                storage.failures += 1
                if trial || (storage.state == .closed && storage.failures >= threshold) {
                    storage.state = .open
                    storage.openedAt = now
                }
            }
        }
    }

    /// Counts a failure noticed after the request was settled (a stream that broke off).
    public func recordLateFailure() {
        record(.failure, for: .allowed(trial: false))
    }

    public var snapshot: Snapshot {
        let now = clock.now
        return storage.withLockedValue { storage in
            var retryAfter: Duration?
            if storage.state == .open, let openedAt = storage.openedAt {
                retryAfter = max(.zero, openedAt + cooldown - now)
            }
            return Snapshot(state: storage.state, consecutiveFailures: storage.failures, retryAfter: retryAfter)
        }
    }
}
