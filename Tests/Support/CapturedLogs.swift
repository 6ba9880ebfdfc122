import Logging
import NIOConcurrencyHelpers

/// Log records kept in memory, for tests that check what was logged (and what was not).
///
/// ```swift
/// let logs = CapturedLogs()
/// let logger = logs.logger(metadata: ["request_id": "req-1"])
/// // ... code under test logs through `logger` ...
/// #expect(logs.entries.contains { $0.level == .error && $0.metadata["request_id"] == "req-1" })
/// ```
public final class CapturedLogs: Sendable {
    /// One record, metadata flattened to strings (the logger's own merged with the record's).
    public struct Entry: Sendable, CustomStringConvertible {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]

        public var description: String { "\(level) \(message) \(metadata)" }
    }

    private let stored = NIOLockedValueBox<[Entry]>([])

    public init() {}

    /// Everything logged so far, in order.
    public var entries: [Entry] { stored.withLockedValue { $0 } }

    /// A logger at `level` that records here, with `metadata` on every record.
    public func logger(label: String = "captured", level: Logger.Level = .trace, metadata: Logger.Metadata = [:]) -> Logger {
        var logger = Logger(label: label) { _ in Handler(logs: self) }
        logger.logLevel = level
        for (key, value) in metadata { logger[metadataKey: key] = value }
        return logger
    }

    fileprivate func append(_ entry: Entry) {
        stored.withLockedValue { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            logs.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
