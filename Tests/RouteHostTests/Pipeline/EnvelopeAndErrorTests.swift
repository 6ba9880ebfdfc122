import Foundation
import HTTPTypes
import HummingbirdTesting
import JSONSchema
@testable import RouteHost
import Testing

@Suite struct EnvelopeAndErrorTests {
    static let envelopeKeys = [
        "endpoint", "code", "id", "job_id", "response", "message", "run_time", "queue_time", "total_time", "pid",
        "queue_id", "queue_length", "build_number",
    ]

    @Test func syncEnvelopeHasTheOriginalFieldsInOrder() async throws {
        try await TestHost.application(environment: ["BUILD_NUMBER": "42"]).test(.router) { client in
            try await client.execute(uri: "/v1/echo/say", method: .post, headers: TestHost.jsonHeaders(), body: #"{"text":"hi","id":"ref-1"}"#.buffer) { response in
                #expect(response.status == .ok)
                let body = response.json
                #expect(body.objectValue?.keys == Self.envelopeKeys)
                #expect(body["endpoint"] == "/v1/echo/say")
                #expect(body["code"] == 200)
                #expect(body["id"] == "ref-1")
                #expect(body["message"] == "success")
                #expect(body["response"] == ["greeting": "hello", "payload": ["text": "hi", "id": "ref-1"]])
                #expect(body["build_number"] == 42)
                #expect(body["pid"] == .number(JSONNumber(Int(ProcessInfo.processInfo.processIdentifier))))
                let jobID = try #require(body["job_id"]?.stringValue)
                #expect(UUID(uuidString: jobID) != nil)
                #expect(jobID == jobID.lowercased())
                #expect(Array(jobID)[14] == "4")
                for key in ["run_time", "queue_time", "total_time"] {
                    let seconds = try #require(body[key]?.numberValue?.doubleValue)
                    #expect(seconds >= 0 && seconds < 5)
                    #expect((seconds * 1000).rounded() == seconds * 1000)
                }
            }
        }
    }

    @Test func handlerFailureBecomesTheEnvelopeWithItsStatus() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/refuse", method: .post, headers: TestHost.jsonHeaders(), body: #"{"a":1}"#.buffer) { response in
                #expect(response.status == .unprocessableContent)
                #expect(response.headers[.retryAfter] == "7")
                let body = response.json
                #expect(body["code"] == 422)
                #expect(body["response"] == .null)
                #expect(body["message"] == ["error": "refused"])
            }
        }
    }

    @Test func crashingHandlerIsA500EnvelopeWithoutDetails() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/crash", method: .post, headers: TestHost.jsonHeaders(), body: #"{"a":1}"#.buffer) { response in
                #expect(response.status == .internalServerError)
                let body = response.json
                #expect(body["code"] == 500)
                let requestID = try #require(response.headers[.xRequestID])
                #expect(body["message"]?.stringValue?.contains(requestID) == true)
                #expect(body["message"]?.stringValue?.contains("HandlerFailure") == false)
            }
        }
    }

    @Test func crashingPlainHandlerIsJSON500WithRequestID() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/crash-plain", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .internalServerError)
                let body = response.json
                #expect(body["message"] == "Internal Server Error")
                #expect(body["request_id"]?.stringValue == response.headers[.xRequestID])
            }
        }
    }

    @Test func unknownPathIsJSON404() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/nothing", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.json["message"]?.stringValue?.contains("/v1/nothing") == true)
            }
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/say", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(response.json["message"]?.stringValue?.contains("POST") == true)
            }
        }
    }

    @Test func everyResponseHasRequestIDAndSecurityHeaders() async throws {
        try await TestHost.application().test(.router) { client in
            let requests: [(String, HTTPRequest.Method, HTTPFields)] = [
                ("/v1/echo/plain", .get, TestHost.keyHeader), ("/v1/echo/plain", .get, [:]), ("/nowhere", .get, [:]),
                ("/health", .get, [:]), ("/v1/echo/bytes", .post, TestHost.jsonHeaders()),
            ]
            for (uri, method, headers) in requests {
                try await client.execute(uri: uri, method: method, headers: headers, body: method == .post ? "{\"a\":1}".buffer : nil) { response in
                    #expect(response.headers[.xRequestID]?.isEmpty == false, "\(uri)")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(uri)")
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(uri)")
                    #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(uri)")
                }
            }
        }
    }

    @Test func plainRequestIDFromTheClientIsKept() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: TestHost.apiKey, .xRequestID: "trace-123.a_b"]) { response in
                #expect(response.headers[.xRequestID] == "trace-123.a_b")
                #expect(response.json["request_id"] == "trace-123.a_b")
            }
            try await client.execute(uri: "/v1/echo/plain", method: .get, headers: [.xAPIKey: TestHost.apiKey, .xRequestID: "bad id\r\n<script>"]) { response in
                let id = try #require(response.headers[.xRequestID])
                #expect(UUID(uuidString: id) != nil)
            }
        }
    }

    @Test func streamingHandlerSendsItsOwnBody() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/bytes", method: .post, headers: TestHost.jsonHeaders(), body: #"{"a":1}"#.buffer) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "0123456789")
                #expect(response.headers[.contentType] == "application/octet-stream")
            }
        }
    }

    @Test func aHandlersOwn404StaysA404() async throws {
        try await TestHost.application().test(.router) { client in
            try await client.execute(uri: "/v1/echo/missing", method: .get, headers: TestHost.keyHeader) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.allow] == nil)
                #expect(response.json == ["message": "Not Found"])
            }
        }
    }
}

@Suite struct RandomUUIDTests {
    @Test func idsAreLowercaseVersion4UUIDs() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = RandomUUID.v4()
            #expect(id.count == 36)
            #expect(id == id.lowercased())
            let parsed = UUID(uuidString: id)
            #expect(parsed != nil, "\(id)")
            #expect(Array(id)[14] == "4")
            #expect("89ab".contains(Array(id)[19]))
            seen.insert(id)
        }
        #expect(seen.count == 1000)
        #expect(RandomUUID.hex([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
    }
}
