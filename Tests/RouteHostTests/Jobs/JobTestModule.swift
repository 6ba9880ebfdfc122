import Foundation
import JSONSchema
import NIOConcurrencyHelpers
import RouteHost

/// A route module for the job tests. Its `work` handler does what the payload says:
///
/// - `"throw": true` throws a plain error (a 500 envelope);
/// - `"fail": 422` throws a ``RouteFailure`` with that status;
/// - `"hold": "<gate id>"` waits until the test opens that ``TestGates`` gate;
/// - otherwise answers `{"echo": <payload>}`.
///
/// Every run is counted in ``TestGates`` under the payload's `"count"` key, when present.
struct JobTestModule: RouteModule {
    static let pluginName = "jobtest"

    init(configuration: EmptyModuleConfiguration, context: ModuleContext) throws {}

    var handlers: [String: RouteHandler] {
        ["work": .envelope { request in try await Self.work(request) }]
    }

    struct Boom: Error {}

    static func work(_ request: HandlerRequest) async throws -> HandlerResponse {
        let payload = request.payload
        if let counter = payload["count"]?.stringValue { TestGates.increment(counter) }
        if let gate = payload["hold"]?.stringValue { await TestGates.wait(gate) }
        if payload["throw"]?.boolValue == true { throw Boom() }
        if let status = payload["fail"]?.numberValue?.intValue {
            throw RouteFailure(.init(code: status), "failed on purpose")
        }
        return HandlerResponse(.object(JSONObject([("echo", payload)])))
    }
}

/// Gates and counters shared between a test and the handlers it triggers, keyed by ids that
/// are unique per test (so that tests can run in parallel).
enum TestGates {
    private struct State {
        var open: Set<String> = []
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
        var counts: [String: Int] = [:]
    }

    private static let state = NIOLockedValueBox(State())

    static func wait(_ gate: String) async {
        await withCheckedContinuation { continuation in
            let proceed = state.withLockedValue { state -> Bool in
                if state.open.contains(gate) { return true }
                state.waiters[gate, default: []].append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    static func open(_ gate: String) {
        let waiters = state.withLockedValue { state in
            state.open.insert(gate)
            return state.waiters.removeValue(forKey: gate) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    static func increment(_ counter: String) {
        state.withLockedValue { $0.counts[counter, default: 0] += 1 }
    }

    /// Runs waiting at `gate` now.
    static func waiting(_ gate: String) -> Int {
        state.withLockedValue { $0.waiters[gate]?.count ?? 0 }
    }

    static func count(_ counter: String) -> Int {
        state.withLockedValue { $0.counts[counter] ?? 0 }
    }
}
