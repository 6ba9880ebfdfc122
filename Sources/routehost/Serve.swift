import ArgumentParser
import Foundation
import RouteHost

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the routes of the manifest (the default).")

    @OptionGroup var options: ManifestOptions

    @Option(help: "The address to bind (default: HOST, else 0.0.0.0).")
    var host: String?

    @Option(help: "The port to bind (default: PORT, else 8080; 0 picks a free port).")
    var port: Int?

    func run() async throws {
        var environment = try options.environment()
        if try HostConfiguration(environment: environment).apiKeys.isEmpty {
            let key = APIKeySet.generateKey()
            environment["API_KEY"] = key
            FileHandle.standardOutput.write(Data("No API_KEY, API_KEYS or API_KEYS_FILE configured: generated a key for this run only:\n  X-API-Key: \(key)\nSet API_KEY to keep a key across restarts.\n".utf8))
        }
        let logger = makeLogger(
            level: environment.string("LOG_LEVEL") ?? "info", format: LogFormat(rawValue: environment.string("LOG_FORMAT")?.lowercased() ?? "text") ?? .text)
        let server = try options.makeServer(environment: environment, logger: logger, isServing: true)
        try await server.run(host: host, port: port) { channel in
            let address = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
            FileHandle.standardOutput.write(Data("routehost listening on \(address) (\(server.registry.routes.count) routes from \(options.manifest))\n".utf8))
        }
    }
}
