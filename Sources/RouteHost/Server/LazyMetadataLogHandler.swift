import Logging

/// A log handler that keeps the logger's metadata as is and merges it into an event only when
/// one is logged, then hands the event to `inner`.
///
/// swift-log's `StreamLogHandler` renders its metadata to text every time an item is set; the
/// host sets `request_id` on every request's logger, and most requests log nothing, so that
/// rendering was a few percent of a small request's cost. Wrapped, the inner handler never has
/// metadata of its own: each event carries it, and the event's own metadata wins on a clash.
public struct LazyMetadataLogHandler<Inner: LogHandler>: LogHandler {
    public var inner: Inner
    public var metadata: Logger.Metadata = [:]

    public init(_ inner: Inner) {
        self.inner = inner
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        inner.log(event: event)
    }
}
