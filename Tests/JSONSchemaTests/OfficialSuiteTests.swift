import Foundation
import Testing
import JSONSchema

/// Runs the official JSON Schema Test Suite (draft 2020-12).
///
/// The suite is found through `JSONSCHEMA_SUITE_PATH`, or else at `../shared/jsonschema-suite`
/// next to the directory holding `Package.swift`.
@Suite struct OfficialSuiteTests {
    /// Required tests that are allowed to fail, as "file: case / test", each with the reason.
    static let knownFailures: Set<String> = []

    /// Format tests (run with format assertion on) that are allowed to fail, with the reason.
    static let knownFormatFailures: Set<String> = []

    struct Outcome {
        var passed = 0
        var failures: [String] = []
        var files = 0
    }

    static func suiteDirectory() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["JSONSCHEMA_SUITE_PATH"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory.deletingLastPathComponent().appendingPathComponent("shared/jsonschema-suite")
            }
            directory = directory.deletingLastPathComponent()
        }
        throw SuiteMissing(message: "no Package.swift above \(#filePath)")
    }

    struct SuiteMissing: Error, CustomStringConvertible {
        var message: String
        var description: String { "JSON Schema Test Suite not found: \(message) (set JSONSCHEMA_SUITE_PATH)" }
    }

    static func load(_ url: URL) throws -> JSONValue {
        try JSONParser.parse(Array(try Data(contentsOf: url)))
    }

    /// The default registry plus every file under `remotes/` as `http://localhost:1234/<path>`.
    static func registry(_ suite: URL) throws -> SchemaRegistry {
        var registry = SchemaRegistry()
        let remotes = suite.appendingPathComponent("remotes")
        guard let enumerator = FileManager.default.enumerator(atPath: remotes.path) else {
            throw SuiteMissing(message: "\(remotes.path) is missing")
        }
        let paths = (enumerator.allObjects as? [String] ?? []).filter { $0.hasSuffix(".json") }.sorted()
        for path in paths {
            try registry.register(load(remotes.appendingPathComponent(path)), uri: "http://localhost:1234/\(path)")
        }
        return registry
    }

    static func run(directory: URL, formatAssertion: Bool, registry: SchemaRegistry) throws -> Outcome {
        var outcome = Outcome()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        for file in files {
            outcome.files += 1
            guard case .array(let cases) = try load(directory.appendingPathComponent(file)) else {
                outcome.failures.append("\(file): not an array of cases")
                continue
            }
            for testCase in cases {
                let description = testCase["description"]?.stringValue ?? "?"
                let tests = testCase["tests"]?.arrayValue ?? []
                let schema: Schema
                do {
                    schema = try Schema(testCase["schema"] ?? true, options: SchemaOptions(formatAssertion: formatAssertion, registry: registry))
                } catch {
                    for test in tests {
                        outcome.failures.append("\(file): \(description) / \(test["description"]?.stringValue ?? "?") (schema error: \(error))")
                    }
                    continue
                }
                for test in tests {
                    let name = "\(file): \(description) / \(test["description"]?.stringValue ?? "?")"
                    let data = test["data"] ?? .null
                    let expected = test["valid"]?.boolValue ?? false
                    let fast = schema.isValid(data)
                    let errors = schema.validate(data)
                    if fast == expected && errors.isEmpty == expected {
                        outcome.passed += 1
                    } else {
                        outcome.failures.append("\(name) (expected \(expected ? "valid" : "invalid"), isValid: \(fast), errors: \(errors.map(\.description)))")
                    }
                }
            }
        }
        return outcome
    }

    static func report(_ outcome: Outcome, label: String, known: Set<String>) -> [String] {
        print("JSON Schema suite: \(outcome.passed) passed, \(outcome.failures.count) failed (\(label))")
        var unexpected: [String] = []
        for failure in outcome.failures {
            let isKnown = known.contains { failure.hasPrefix($0) }
            print("  \(isKnown ? "known failure" : "FAILED"): \(failure)")
            if !isKnown { unexpected.append(failure) }
        }
        return unexpected
    }

    @Test func requiredTests() throws {
        let suite = try Self.suiteDirectory()
        let directory = suite.appendingPathComponent("tests/draft2020-12")
        try #require(FileManager.default.fileExists(atPath: directory.path),
                     "JSON Schema Test Suite not found at \(suite.path) (set JSONSCHEMA_SUITE_PATH)")
        let outcome = try Self.run(directory: directory, formatAssertion: false, registry: Self.registry(suite))
        let unexpected = Self.report(outcome, label: "required, draft2020-12", known: Self.knownFailures)
        #expect(outcome.files == 46)
        #expect(outcome.passed + outcome.failures.count == 1_299)
        #expect(unexpected.isEmpty, "\(unexpected.count) required suite tests failed:\n\(unexpected.joined(separator: "\n"))")
    }

    @Test func formatTests() throws {
        let suite = try Self.suiteDirectory()
        let directory = suite.appendingPathComponent("tests/draft2020-12/optional/format")
        try #require(FileManager.default.fileExists(atPath: directory.path),
                     "JSON Schema Test Suite not found at \(suite.path) (set JSONSCHEMA_SUITE_PATH)")
        let outcome = try Self.run(directory: directory, formatAssertion: true, registry: Self.registry(suite))
        let unexpected = Self.report(outcome, label: "optional/format, format assertion on", known: Self.knownFormatFailures)
        #expect(outcome.passed > 0)
        #expect(unexpected.isEmpty, "\(unexpected.count) format suite tests failed:\n\(unexpected.joined(separator: "\n"))")
    }
}
