import Foundation
import Hummingbird
import JSONSchema
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// A real webhook receiver for tests: a Hummingbird server on a free loopback port.
///
/// `respond` decides each answer from the number of the request for that job id (1-based);
/// ``Answer/hang`` holds the request until the receiver stops; ``Answer/drip(_:every:bytes:)``
/// sends its head at once, then its body one byte at a time. Every request is recorded, and
/// ``waitForDeliveries(_:timeout:)`` waits for 2xx answers.
public final class WebhookReceiver: Sendable {
    public enum Answer: Sendable {
        case status(Int, headers: HTTPFields = [:])
        case hang
        /// The status at once, then a body of `bytes` bytes, one every `interval`; see
        /// ``dripEnded(jobID:)`` for when it stopped.
        case drip(Int, every: Duration, bytes: Int)

        public static let ok = Answer.status(200)
    }

    public struct Delivery: Sendable {
        public var jobID: String
        public var body: [UInt8]
        public var headers: HTTPFields
        public var receivedAt: ContinuousClock.Instant
        public var answer: Answer
        public var json: JSONValue? { try? JSONParser.parse(body) }
    }

    /// How a dripped body ended.
    public struct DripEnd: Sendable {
        public var at: ContinuousClock.Instant
        /// Bytes written before the client went away (or all of them).
        public var bytesSent: Int
        /// True when the client closed the connection before the last byte.
        public var cut: Bool
    }

    private struct State {
        var deliveries: [Delivery] = []
        var dripEnds: [String: DripEnd] = [:]
        var dripWaiters: [String: [CheckedContinuation<DripEnd, Never>]] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let release = TestEvent()
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    /// Runs `body` with a receiver that answers with `respond(requestNumberForJob, jobID)`.
    public static func with<T>(
        respond: @escaping @Sendable (_ attempt: Int, _ jobID: String) -> Answer = { _, _ in .ok },
        _ body: (WebhookReceiver) async throws -> T
    ) async throws -> T {
        let receiver = try await start(respond: respond)
        do {
            let result = try await body(receiver)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }

    public static func start(respond: @escaping @Sendable (_ attempt: Int, _ jobID: String) -> Answer) async throws -> WebhookReceiver {
        let box = NIOLockedValueBox<WebhookReceiver?>(nil)
        let router = Router()
        router.post("/hook") { request, context -> Response in
            let bytes = Array(buffer: try await request.body.collect(upTo: 64 << 20))
            let jobID = Self.jobID(in: bytes)
            guard let receiver = box.withLockedValue({ $0 }) else { return Response(status: .serviceUnavailable) }
            let attempt = receiver.state.withLockedValue { state in state.deliveries.filter { $0.jobID == jobID }.count + 1 }
            let answer = respond(attempt, jobID)
            if case .hang = answer {
                receiver.record(Delivery(jobID: jobID, body: bytes, headers: request.headers, receivedAt: .now, answer: answer))
                await receiver.release.wait()
                return Response(status: .serviceUnavailable)
            }
            receiver.record(Delivery(jobID: jobID, body: bytes, headers: request.headers, receivedAt: .now, answer: answer))
            if case .drip(let code, let interval, let count) = answer {
                return Response(status: .init(code: code), body: receiver.drip(jobID: jobID, every: interval, bytes: count))
            }
            guard case .status(let code, let headers) = answer else { return Response(status: .ok) }
            return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            throw CancellationError()
        }
        let receiver = WebhookReceiver(port: port, group: group, task: task)
        box.withLockedValue { $0 = receiver }
        return receiver
    }

    /// Releases held requests and stops the server.
    public func stop() async {
        release.signal()
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    public var deliveries: [Delivery] { state.withLockedValue { $0.deliveries } }

    /// The requests that were answered 2xx.
    public var successes: [Delivery] {
        deliveries.filter { if case .status(let code, _) = $0.answer { return (200..<300).contains(code) } else { return false } }
    }

    /// Waits until `count` requests have been answered 2xx.
    public func waitForDeliveries(_ count: Int, timeout: Duration = .seconds(20)) async throws {
        try await waitForRequests(count, successesOnly: true, timeout: timeout)
    }

    /// Waits until `count` requests (any answer) have arrived.
    public func waitForRequests(_ count: Int, successesOnly: Bool = false, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while (successesOnly ? successes.count : deliveries.count) < count {
            guard ContinuousClock.now < deadline else {
                throw TestTimeout("\(count) webhook \(successesOnly ? "deliveries" : "requests"); got \(successesOnly ? successes.count : deliveries.count)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until the dripped body for `jobID` has ended, and tells how.
    public func dripEnded(jobID: String) async -> DripEnd {
        await withCheckedContinuation { continuation in
            let end = state.withLockedValue { state -> DripEnd? in
                if let end = state.dripEnds[jobID] { return end }
                state.dripWaiters[jobID, default: []].append(continuation)
                return nil
            }
            if let end { continuation.resume(returning: end) }
        }
    }

    private func drip(jobID: String, every interval: Duration, bytes count: Int) -> ResponseBody {
        ResponseBody { writer in
            var sent = 0
            defer { self.endDrip(jobID: jobID, DripEnd(at: .now, bytesSent: sent, cut: sent < count)) }
            while sent < count {
                try await writer.write(ByteBuffer(string: " "))
                sent += 1
                try await Task.sleep(for: interval)
            }
            try await writer.finish(nil)
        }
    }

    private func endDrip(jobID: String, _ end: DripEnd) {
        let waiters = state.withLockedValue { state in
            state.dripEnds[jobID] = end
            return state.dripWaiters.removeValue(forKey: jobID) ?? []
        }
        for waiter in waiters { waiter.resume(returning: end) }
    }

    private func record(_ delivery: Delivery) {
        state.withLockedValue { $0.deliveries.append(delivery) }
    }

    /// The `job_id` near the start of an envelope, without parsing a large body.
    public static func jobID(in body: [UInt8]) -> String {
        let prefix = String(decoding: body.prefix(4096), as: UTF8.self)
        guard let range = prefix.range(of: #""job_id":""#) else { return "" }
        return String(prefix[range.upperBound...].prefix { $0 != "\"" })
    }
}

/// A one-shot event for tests.
public final class TestEvent: Sendable {
    public init() {}

    private let state = NIOLockedValueBox<(signalled: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public func signal() {
        let waiters = state.withLockedValue { state in
            state.signalled = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public func wait() async {
        await withCheckedContinuation { continuation in
            let proceed = state.withLockedValue { state -> Bool in
                if state.signalled { return true }
                state.waiters.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }
}

public struct TestTimeout: Error, CustomStringConvertible {
    public var what: String
    public init(_ what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}
