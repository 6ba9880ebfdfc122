import ArgumentParser
import Foundation
import Logging
import RouteHost

@main
struct RouteHostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routehost",
        abstract: "A plugin-based HTTP route host: mounts the route modules routes.json lists.",
        subcommands: [Serve.self, Check.self, Routes.self, OpenAPI.self],
        defaultSubcommand: Serve.self)
}

/// Options every subcommand shares.
struct ManifestOptions: ParsableArguments {
    @Option(name: .long, help: "The registry manifest.")
    var manifest = "routes.json"

    @Option(name: .long, help: "A .env file read under the environment (the environment wins).")
    var envFile = ".env"

    func environment() throws -> EnvironmentValues {
        try EnvironmentValues.load(dotEnvPath: envFile)
    }

    /// Builds the host, or prints the manifest's diagnostics and exits non-zero.
    func makeServer(environment: EnvironmentValues, logger: Logger, isServing: Bool) throws -> RouteHostServer {
        do {
            return try RouteHostServer(
                manifestPath: manifest, catalog: .withBuiltIns(compiledPlugins), environment: environment, logger: logger,
                isServing: isServing)
        } catch let error as ManifestError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            let count = error.diagnostics.count
            FileHandle.standardError.write(Data("\(count) error\(count == 1 ? "" : "s") in \(manifest)\n".utf8))
            throw ExitCode(1)
        } catch let error as EnvironmentError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

func makeLogger(level: String, format: LogFormat = .text) -> Logger {
    let level = Logger.Level(rawValue: level.lowercased()) ?? .info
    LoggingSystem.bootstrap { label in
        switch format {
        case .text:
            var handler = LazyMetadataLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
    return Logger(label: "routehost")
}
