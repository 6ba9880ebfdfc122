import AsyncHTTPClient
import Foundation
import NIOCore
import RouteHost
import Testing

/// ``UpstreamError`` is the one map of HTTP-client and network errors: its wording is what
/// answers, health reasons and stream logs say.
@Suite struct UpstreamErrorTests {
    @Test func classifiesHTTPClientAndNetworkErrors() {
        let limit = Duration.milliseconds(1500)
        #expect(UpstreamError.classify(HTTPClientError.connectTimeout, headTimeout: limit) == .connect)
        #expect(UpstreamError.classify(HTTPClientError.deadlineExceeded, headTimeout: limit) == .timeout(limit))
        #expect(UpstreamError.classify(HTTPClientError.remoteConnectionClosed, headTimeout: limit) == .protocolFailure("connection closed by the service"))
        #expect(UpstreamError.classify(IOError(errnoCode: ECONNREFUSED, reason: "connect"), headTimeout: limit) == .connect)
        #expect(UpstreamError.classify(IOError(errnoCode: ECONNRESET, reason: "read"), headTimeout: limit) == .protocolFailure("connection failed"))
    }

    @Test func describesEachCaseInWordsForClients() {
        #expect(UpstreamError.connect.description == "could not connect to the service")
        #expect(UpstreamError.timeout(.milliseconds(1500)).description == "no response within 1.5 s")
        #expect(UpstreamError.protocolFailure("connection closed by the service").description == "connection closed by the service")
        let answer = UpstreamError.timeout(.seconds(2)).routeFailure(serviceName: "YouTube")
        #expect(answer.status == .gatewayTimeout)
        #expect(answer.plainBody == ["error": "YouTube service did not respond in time", "reason": "no response within 2 s"])
    }
}
