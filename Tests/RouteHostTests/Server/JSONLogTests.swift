import Foundation
import JSONSchema
import Logging
import NIOConcurrencyHelpers
@testable import RouteHost
import RouteHostTestSupport
import Testing

/// `LOG_FORMAT=json`: one JSON object per line.
@Suite("JSON logs")
struct JSONLogTests {
    @Test func eachEventIsOneJSONObjectWithItsMetadataAsMembers() throws {
        let lines = NIOLockedValueBox<[[UInt8]]>([])
        var handler = JSONLogHandler(label: "routehost") { line in lines.withLockedValue { $0.append(line) } }
        handler.logLevel = .info
        handler[metadataKey: "request_id"] = "req-1"
        handler[metadataKey: "level"] = "clash"
        let logger = Logger(label: "routehost") { _ in handler }
        logger.info("job finished", metadata: ["job_id": "j-1", "module": "youtube", "tags": ["a", "b"], "extra": ["k": "v"]])
        logger.debug("not at info")
        logger.warning("line\nbreak \"quoted\"")

        let written = lines.withLockedValue { $0 }
        #expect(written.count == 2, "one line per event at or above the level")
        for line in written {
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(line.dropLast().contains(UInt8(ascii: "\n")) == false, "a newline in a message stays inside the JSON string")
        }
        let first = try JSONParser.parse(Array(written[0].dropLast()))
        #expect(first["level"] == "info")
        #expect(first["message"] == "job finished")
        #expect(first["label"] == "routehost")
        #expect(first["request_id"] == "req-1")
        #expect(first["job_id"] == "j-1")
        #expect(first["module"] == "youtube")
        #expect(first["metadata_level"] == "clash", "a colliding key keeps its value under metadata_")
        #expect(first["tags"] == ["a", "b"])
        #expect(first["extra"]?["k"] == "v")
        let time = try #require(first["time"]?.stringValue)
        #expect(time.hasSuffix("Z") && time.contains("T") && time.contains("."), "ISO 8601 with milliseconds, UTC: \(time)")
        let second = try JSONParser.parse(Array(written[1].dropLast()))
        #expect(second["message"] == "line\nbreak \"quoted\"")
    }

    @Test func theServerLogsJSONLinesWithLogFormatJSON() async throws {
        try await TemporaryDirectory.with { directory in
            let process = Process()
            process.executableURL = try ChildHost.executable
            process.arguments = ["serve", "--manifest", SharedQueueTests.repoManifest, "--env-file", "/nonexistent/.env", "--host", "127.0.0.1", "--port", "0"]
            // A short key: the host warns about it at start.
            process.environment = [
                "API_KEY": "short", "LOG_FORMAT": "json", "LOCAL_STORAGE_PATH": directory, "YOUTUBE_SERVICE_URL": "http://127.0.0.1:9",
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            // Read as it comes, without blocking a thread of the test's pool.
            let (chunks, continuation) = AsyncStream.makeStream(of: String.self)
            errors.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    continuation.finish()
                } else {
                    continuation.yield(String(decoding: data, as: UTF8.self))
                }
            }
            try process.run()
            defer {
                // SIGKILL: it ends at once, so waiting for it blocks nothing for long.
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            var text = ""
            for await chunk in chunks {
                text += chunk
                if text.contains("\n") { break }
            }
            let line = try #require(text.split(separator: "\n").first)
            let event = try JSONParser.parse(Array(line.utf8))
            #expect(event["level"] == "warning", "\(line)")
            #expect(event["message"]?.stringValue?.contains("API keys shorter than") == true)
            #expect(event["short_keys"] == "1")
        }
    }

    @Test func anUnknownFormatIsRefusedWithTheChoices() {
        #expect {
            try HostConfiguration(environment: EnvironmentValues(["LOG_FORMAT": "xml"]))
        } throws: { error in
            "\(error)".contains("LOG_FORMAT=xml is not valid: expected text or json")
        }
    }
}
