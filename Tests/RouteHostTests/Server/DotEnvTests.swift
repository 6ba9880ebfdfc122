import Foundation
import RouteHost
import Testing

/// `.env` files as editors save them.
@Suite struct DotEnvTests {
    func load(_ text: String) throws -> EnvironmentValues {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("routehost-env-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try EnvironmentValues.load(dotEnvPath: path, processEnvironment: [:])
    }

    @Test func crlfAndLFFilesReadTheSame() throws {
        // A file saved on Windows: "\r\n" is one Swift Character, so a split on "\n" saw one line
        // (and a leading comment swallowed every setting).
        let text = "# settings\r\nAPI_KEY=abc\r\nWEBHOOK_ALLOWED_HOSTS=n8n\r\nPORT=9000\r\n"
        for variant in [text, text.replacingOccurrences(of: "\r\n", with: "\n"), text.replacingOccurrences(of: "\r\n", with: "\r")] {
            let values = try load(variant)
            #expect(values["API_KEY"] == "abc")
            #expect(values["WEBHOOK_ALLOWED_HOSTS"] == "n8n")
            #expect(values["PORT"] == "9000")
        }
    }

    @Test func aLineThatDoesNotParseNamesTheFileAndLine() throws {
        do {
            _ = try load("API_KEY=abc\r\nnot a setting\r\n")
            Issue.record("a broken line was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.hasSuffix(":2: error: expected KEY=value"), "\(text)")
            #expect(text.contains("routehost-env-"))
        }
    }
}
