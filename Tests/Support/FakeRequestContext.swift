import Hummingbird
import NIOCore

/// The request context of ``FakeDownloader``: Hummingbird's basic one, plus the connection's
/// channel (where its ``SocketWriteCounter`` is).
struct FakeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
