import ArgumentParser
import RouteHost

struct Routes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a table of the mounted routes.")

    @OptionGroup var options: ManifestOptions

    func run() async throws {
        let server = try options.makeServer(environment: try options.environment(), logger: makeLogger(level: "error"), isServing: false)
        await server.shutdown()
        let header = ["METHOD", "PATH", "MODULE", "HANDLER", "AUTH", "QUEUE", "STREAM", "RATE LIMIT"]
        let rows = server.registry.routes.map { route in
            let manifest = route.manifest
            return [
                manifest.method.rawValue, manifest.fullPath, route.module, manifest.handler, manifest.auth ? "key" : "open",
                manifest.queue.rawValue, manifest.stream ? "yes" : "no", manifest.rateLimit?.description ?? "-",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}
