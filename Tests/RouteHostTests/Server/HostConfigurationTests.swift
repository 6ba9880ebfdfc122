import RouteHost
import Testing

@Suite struct HostConfigurationTests {
    @Test func defaults() throws {
        let configuration = try HostConfiguration(environment: EnvironmentValues([:]))
        #expect(configuration.port == 8080)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.maxBodyBytes == 1 << 20)
        #expect(configuration.rateLimitPerMinute == 600)
        #expect(configuration.rateLimitBurst == 600)
        #expect(configuration.logLevel == "info")
        #expect(configuration.shutdownGrace == .seconds(30))
    }

    @Test func fractionsOfSecondsAreAccepted() throws {
        let configuration = try HostConfiguration(environment: EnvironmentValues(["SHUTDOWN_GRACE_SECONDS": "0.25"]))
        #expect(configuration.shutdownGrace == .milliseconds(250))
    }

    @Test(arguments: [
        ("PORT", "eighty"), ("MAX_BODY_BYTES", "0"), ("LOG_LEVEL", "verbose"), ("IDLE_TIMEOUT_SECONDS", "0"),
        ("REQUEST_HEAD_TIMEOUT_SECONDS", "0"), ("REQUEST_BODY_TIMEOUT_SECONDS", "-1"), ("SHUTDOWN_GRACE_SECONDS", "soon"),
        ("TRUSTED_PROXIES", "10.0.0.0/40"), ("RATE_LIMIT_PER_MINUTE", "-5"),
    ])
    func invalidValuesNameTheVariable(name: String, value: String) {
        do {
            _ = try HostConfiguration(environment: EnvironmentValues([name: value]))
            Issue.record("\(name)=\(value) was accepted")
        } catch {
            #expect(error.name == name)
            #expect(error.description.hasPrefix("\(name)=\(value) is not valid: expected "))
        }
    }
}
