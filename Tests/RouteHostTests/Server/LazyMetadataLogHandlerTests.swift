import Logging
import NIOConcurrencyHelpers
import RouteHost
import Testing

@Suite("Log lines carry the logger's metadata, rendered only when something is logged")
struct LazyMetadataLogHandlerTests {
    final class Lines: TextOutputStream, @unchecked Sendable {
        private let lines = NIOLockedValueBox<[String]>([])
        func write(_ string: String) { lines.withLockedValue { $0.append(string) } }
        var all: [String] { lines.withLockedValue { $0 } }
    }

    @Test func metadataSetOnTheLoggerAndOnTheEventBothAppearAndTheEventWins() {
        let lines = Lines()
        var logger = Logger(label: "test") { label in
            LazyMetadataLogHandler(StreamLogHandler(label: label, stream: lines, metadataProvider: nil))
        }
        logger.logLevel = .info
        logger[metadataKey: "request_id"] = "r-1"
        logger[metadataKey: "client"] = "a"
        logger.debug("below the level")
        logger.info("served", metadata: ["client": "b", "bytes": "10"])
        logger.notice("plain")

        #expect(lines.all.count == 2)
        let served = lines.all[0]
        #expect(served.contains("request_id=r-1"))
        #expect(served.contains("client=b") && !served.contains("client=a"))
        #expect(served.contains("bytes=10") && served.contains("served"))
        #expect(lines.all[1].contains("client=a") && lines.all[1].contains("request_id=r-1"))
        #expect(logger[metadataKey: "request_id"] == "r-1")
    }
}
