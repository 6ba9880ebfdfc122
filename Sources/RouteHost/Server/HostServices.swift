import Foundation
import JSONSchema
import NIOConcurrencyHelpers

/// What the host's own modules (toolkit, discovery) read about the running host.
///
/// The registry is attached once it is built, since the toolkit module is itself part of it.
public final class HostServices: Sendable {
    public let configuration: HostConfiguration
    public let jobs: any JobService
    public let fields: EnvelopeFields
    public let startedAt: Date
    private let registryBox = NIOLockedValueBox<RouteRegistry?>(nil)

    public init(configuration: HostConfiguration, jobs: any JobService, fields: EnvelopeFields) {
        self.configuration = configuration
        self.jobs = jobs
        self.fields = fields
        self.startedAt = Date()
    }

    public var registry: RouteRegistry? {
        get { registryBox.withLockedValue { $0 } }
        set { registryBox.withLockedValue { $0 = newValue } }
    }

    /// Each mounted module's health, gathered concurrently.
    func moduleHealth() async -> [(name: String, health: ModuleHealth)] {
        guard let modules = registry?.modules else { return [] }
        return await withTaskGroup(of: (Int, ModuleHealth).self) { group in
            for (index, module) in modules.enumerated() {
                group.addTask { (index, await module.instance.health()) }
            }
            var results = [ModuleHealth?](repeating: nil, count: modules.count)
            for await (index, health) in group { results[index] = health }
            return zip(modules, results).map { ($0.manifest.name, $1 ?? .healthy) }
        }
    }
}
