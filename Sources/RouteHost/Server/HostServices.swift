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
    private let drainingBox = NIOLockedValueBox(false)

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

    /// True once graceful shutdown has begun (`/ready` answers 503 from then on).
    var isDraining: Bool {
        get { drainingBox.withLockedValue { $0 } || jobs.isDraining }
        set { drainingBox.withLockedValue { $0 = newValue } }
    }

    /// Each module's health, asked in turn: `RouteModule.health()` answers from a cache, so
    /// a child task per module would cost more than it saves (`/health` with 100 modules).
    func moduleHealth() async -> [(name: String, health: ModuleHealth)] {
        guard let modules = registry?.modules else { return [] }
        var results: [(name: String, health: ModuleHealth)] = []
        results.reserveCapacity(modules.count)
        for module in modules {
            results.append((module.manifest.name, await module.instance.health()))
        }
        return results
    }
}
