import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOPosix

/// Creates the `HTTPClient`s modules use, and shuts them all down when the host stops.
///
/// Clients are created lazily by the caller, so a module built for `routehost check` costs no
/// event loops or sockets.
public final class HTTPClientFactory: Sendable {
    private let clients = NIOLockedValueBox<[HTTPClient]>([])

    public init() {}

    /// A new client with `configuration`, owned by the host. Never use `HTTPClient.shared` for
    /// relaying: it decompresses and follows redirects.
    public func makeClient(configuration: HTTPClient.Configuration) -> HTTPClient {
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        clients.withLockedValue { $0.append(client) }
        return client
    }

    /// Shuts down every client made so far.
    public func shutdown() async {
        let all = clients.withLockedValue { clients in
            defer { clients.removeAll() }
            return clients
        }
        for client in all {
            try? await client.shutdown()
        }
    }
}
