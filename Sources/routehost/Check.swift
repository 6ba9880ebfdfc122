import ArgumentParser
import RouteHost

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the manifest and its plugin bindings without serving; non-zero exit on any error.")

    @OptionGroup var options: ManifestOptions

    func run() async throws {
        let environment = try options.environment()
        let server = try options.makeServer(environment: environment, logger: makeLogger(level: "error"), isServing: false)
        await server.shutdown()
        print("\(options.manifest): OK (\(server.registry.modules.count) modules, \(server.registry.routes.count) routes)")
    }
}
