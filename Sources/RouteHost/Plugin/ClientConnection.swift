import NIOCore
import Synchronization

/// The connection a request arrived on, as a streaming handler needs it: it tells when the
/// client has gone, so that the work feeding the stream stops before it reads any more.
///
/// ```swift
/// let watch = request.connection.onClose { pipeline.terminate() }
/// defer { watch.cancel() }
/// ```
///
/// The client has gone when it closes its side of the connection (a FIN, even though the server
/// allows half-closure: no HTTP client waiting for a stream sends one), resets it, or a write to
/// it fails. Queued jobs run with ``detached``, which never reports closing: their client is not
/// waiting on a connection.
///
/// Caveat: a registration's storage (a few words) stays on the connection until it closes, even
/// after ``Registration/cancel()``, which drops what the action captured. A keep-alive connection
/// that carries many streams keeps that much per stream.
public struct ClientConnection: Sendable {
    private let channel: (any Channel)?

    init(channel: any Channel) {
        self.channel = channel
    }

    private init() {
        self.channel = nil
    }

    /// A connection that never reports closing (queued jobs, handlers called outside a request).
    public static let detached = ClientConnection()

    /// Runs `action` once, when the client has gone (at once if it has), on the connection's event
    /// loop. Keep the action short: it runs on the event loop.
    public func onClose(_ action: @escaping @Sendable () -> Void) -> Registration {
        let registration = Registration(action)
        guard let channel else { return registration }
        channel.closeFuture.whenComplete { _ in registration.fire() }
        channel.eventLoop.execute {
            try? channel.pipeline.syncOperations.handler(type: ClientHangUpDetector.self).notify(registration)
        }
        return registration
    }

    /// Closes the connection (a client that stopped reading, say): a write waiting on it fails,
    /// and the ``onClose(_:)`` actions run. Does nothing to ``detached``.
    public func close() {
        channel?.close(promise: nil)
    }

    /// One ``onClose(_:)`` action, until it has run or ``cancel()`` is called.
    public final class Registration: Sendable {
        private let action: Mutex<(@Sendable () -> Void)?>

        init(_ action: @escaping @Sendable () -> Void) {
            self.action = Mutex(action)
        }

        /// The action will not run (if it has not already), and what it captured is released.
        public func cancel() {
            _ = take()
        }

        /// Whether the action has run or been cancelled.
        var isSpent: Bool {
            action.withLock { $0 == nil }
        }

        func fire() {
            take()?()
        }

        private func take() -> (@Sendable () -> Void)? {
            action.withLock { action in
                defer { action = nil }
                return action
            }
        }
    }
}
