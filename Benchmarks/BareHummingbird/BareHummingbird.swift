import Foundation
import Hummingbird
import Logging

/// The framework's limit for the benchmarks: one Hummingbird route, `GET /ok`, answering "ok"
/// with the default server configuration and no middleware.
///
/// ```
/// bare-hummingbird --port 0
/// bare-hummingbird listening on 127.0.0.1:41235
/// ```
@main
struct BareHummingbird {
    static func main() async throws {
        var port = 8081
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            if argument == "--port", let value = arguments.next().flatMap({ Int($0) }) {
                port = value
            } else {
                FileHandle.standardError.write(Data("usage: bare-hummingbird [--port N]\n".utf8))
                exit(2)
            }
        }
        let router = Router()
        router.get("/ok") { _, _ in "ok" }
        var logger = Logger(label: "bare-hummingbird")
        logger.logLevel = .error
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("bare-hummingbird listening on 127.0.0.1:\(channel.localAddress?.port ?? 0)\n".utf8))
            },
            logger: logger)
        try await app.runService()
    }
}
