import ArgumentParser
import RouteHost

struct OpenAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "openapi", abstract: "Print the OpenAPI 3.1 document of the mounted routes.")

    @OptionGroup var options: ManifestOptions

    func run() async throws {
        let server = try options.makeServer(environment: try options.environment(), logger: makeLogger(level: "error"), isServing: false)
        await server.shutdown()
        print(OpenAPIDocument(registry: server.registry).json.serializedString(pretty: true))
    }
}
