import Foundation

/// The settings the host and its modules read: the process environment over an optional `.env`.
///
/// Values set in the environment win over `.env`. Durations are seconds and accept fractions
/// (`YOUTUBE_RETRY_DELAY=0.05`). A value that does not parse is an ``EnvironmentError`` naming the
/// variable, never a silent default.
public struct EnvironmentValues: Sendable {
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// The process environment over the `.env` file at `dotEnvPath` (missing file: ignored).
    public static func load(dotEnvPath: String? = ".env", processEnvironment: [String: String] = ProcessInfo.processInfo.environment) throws -> EnvironmentValues {
        var values: [String: String] = [:]
        if let dotEnvPath, let text = try? String(contentsOfFile: dotEnvPath, encoding: .utf8) {
            values = try DotEnvParser.parse(text, path: dotEnvPath)
        }
        values.merge(processEnvironment) { _, process in process }
        return EnvironmentValues(values)
    }

    public subscript(name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// The value of `name`, or nil when unset or empty.
    public func string(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    public func integer(_ name: String, default defaultValue: Int, minimum: Int = .min) throws(EnvironmentError) -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= minimum else {
            throw EnvironmentError(name: name, value: text, expected: minimum == .min ? "an integer" : "an integer ≥ \(minimum)")
        }
        return value
    }

    /// A duration in seconds (fractions allowed); with `positive`, 0 is refused too (for
    /// timeouts, where 0 would fail everything at once).
    public func seconds(_ name: String, default defaultValue: Double, positive: Bool = false) throws(EnvironmentError) -> Duration {
        guard let text = string(name) else { return .seconds(defaultValue) }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value >= 0, !positive || value > 0 else {
            throw EnvironmentError(name: name, value: text, expected: positive ? "a number of seconds > 0, like 30 or 0.5" : "a number of seconds ≥ 0, like 30 or 0.5")
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// A duration in hours (fractions allowed).
    public func hours(_ name: String, default defaultValue: Double) throws(EnvironmentError) -> Duration {
        guard let text = string(name) else { return .seconds(defaultValue * 3600) }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value >= 0 else {
            throw EnvironmentError(name: name, value: text, expected: "a number of hours ≥ 0, like 168 or 0.5")
        }
        return .milliseconds(Int64((value * 3_600_000).rounded()))
    }

    public func bool(_ name: String, default defaultValue: Bool) throws(EnvironmentError) -> Bool {
        guard let text = string(name)?.lowercased() else { return defaultValue }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw EnvironmentError(name: name, value: text, expected: "true or false")
        }
    }

    /// A comma-separated list, trimmed, empty items dropped.
    public func list(_ name: String) -> [String] {
        (string(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// A setting whose value does not parse.
public struct EnvironmentError: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String
    public var expected: String

    public var description: String {
        "\(name)=\(value) is not valid: expected \(expected)"
    }
}
