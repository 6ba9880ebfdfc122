import Foundation
import JSONSchema
import Logging
import NIOConcurrencyHelpers

/// `LOG_FORMAT=json`: one JSON object per line, for Cloud Run, Loki or any collector that reads
/// structured logs: `{"time":"2026-12-04T12:00:00.123Z","level":"info","message":"…",
/// "label":"routehost", …}` with the event's metadata (`request_id`, `module`, `job_id`, …) as
/// members of their own. A metadata key that collides with one of the four is written as
/// `metadata_<key>`. Values that are lists or dictionaries become JSON arrays and objects.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    /// A handler writing to standard error.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label, write: StandardErrorLines.shared.write)
    }

    /// - Parameter write: receives each line, newline included (tests collect them).
    public init(label: String, write: @escaping @Sendable ([UInt8]) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object = JSONObject()
        object["time"] = .string(Self.timeStyle.format(Date()))
        object["level"] = .string(event.level.rawValue)
        object["message"] = .string(event.message.description)
        object["label"] = .string(label)
        let merged = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            let name = ["time", "level", "message", "label"].contains(key) ? "metadata_\(key)" : key
            object[name] = Self.json(value)
        }
        if let error = event.error { object["error"] = .string("\(error)") }
        var line = JSONValue.object(object).serialized()
        line.append(UInt8(ascii: "\n"))
        write(line)
    }

    /// `2026-12-04T12:00:00.123Z`.
    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let values): .object(JSONObject(values.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }
}

/// Whole lines to standard error, one writer at a time, so lines from several threads never mix.
final class StandardErrorLines: Sendable {
    static let shared = StandardErrorLines()
    private let lock = NIOLock()

    func write(_ line: [UInt8]) {
        lock.withLock {
            line.withUnsafeBufferPointer { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }
}
