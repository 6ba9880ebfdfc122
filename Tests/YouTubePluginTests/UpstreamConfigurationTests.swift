import Foundation
import JSONSchema
import RouteHost
import Testing

@Suite struct UpstreamConfigurationTests {
    static let url = URL(string: "http://localhost:3001")!

    static func configuration(_ values: [String: String]) throws(EnvironmentError) -> UpstreamConfiguration {
        try UpstreamConfiguration(serviceName: "YouTube", baseURL: url, environment: EnvironmentValues(values), prefix: "YOUTUBE")
    }

    @Test(arguments: [
        "YOUTUBE_SERVICE_TIMEOUT", "YOUTUBE_CONNECT_TIMEOUT", "YOUTUBE_HEALTH_TIMEOUT",
        "YOUTUBE_STREAM_IDLE_TIMEOUT", "YOUTUBE_CLIENT_STALL_TIMEOUT",
    ])
    func zeroTimeoutsAreRefusedByName(name: String) {
        for zero in ["0", "0.0", " 0 ", "0.0001"] {
            do {
                _ = try Self.configuration([name: zero])
                Issue.record("\(name)=\(zero) was accepted")
            } catch {
                #expect(error.name == name)
                #expect(error.description.contains(name) && error.description.contains("> 0"), "\(error)")
            }
        }
        #expect(throws: EnvironmentError.self) { try Self.configuration([name: "-1"]) }
        #expect((try? Self.configuration([name: "0.5"])) != nil, "fractions are allowed")
    }

    @Test func clientStallTimeoutDefaultsTo120sAndAcceptsFractions() throws {
        #expect(try Self.configuration([:]).clientStallTimeout == .seconds(120))
        #expect(UpstreamConfiguration(serviceName: "YouTube", baseURL: Self.url).clientStallTimeout == .seconds(120))
        let configured = try Self.configuration(["YOUTUBE_CLIENT_STALL_TIMEOUT": "0.25"])
        #expect(configured.clientStallTimeout == .milliseconds(250))
        #expect(configured.json["client_stall_timeout"] == 0.25)
    }

    @Test func otherDurationsMayStillBeZero() throws {
        let configured = try Self.configuration(["YOUTUBE_RETRY_DELAY": "0", "YOUTUBE_BREAKER_COOLDOWN": "0", "YOUTUBE_HEALTH_TTL": "0"])
        #expect(configured.retry.baseDelay == .zero)
        #expect(configured.breakerCooldown == .zero)
    }
}
