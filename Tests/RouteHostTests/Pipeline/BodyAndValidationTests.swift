import HummingbirdTesting
import NIOCore
import JSONSchema
import RouteHost
import Testing

@Suite struct BodyAndValidationTests {
    func post(_ body: String?, contentType: String? = "application/json", path: String = "/v1/echo/say", environment: [String: String] = [:], check: @escaping @Sendable (TestResponse) throws -> Void) async throws {
        try await TestHost.application(environment: environment).test(.router) { client in
            var headers = TestHost.keyHeader
            if let contentType { headers[.contentType] = contentType }
            try await client.execute(uri: path, method: .post, headers: headers, body: body?.buffer) { response in
                try check(response)
            }
        }
    }

    @Test(arguments: ["", "   ", "null", "{}", "[]", "false", "0", "\"\""])
    func missingOrFalsyJSON(body: String) async throws {
        try await post(body) { response in
            #expect(response.status == .badRequest)
            #expect(response.json == ["message": "Missing JSON in request"])
        }
    }

    @Test func malformedJSONGivesThePosition() async throws {
        try await post("{\n  \"text\": tru\n}") { response in
            #expect(response.status == .badRequest)
            let body = response.json
            #expect(body["line"] == 2)
            #expect(body["message"]?.stringValue?.hasPrefix("Malformed JSON in request") == true)
            #expect(body["message"]?.stringValue?.contains("line 2") == true)
        }
    }

    @Test func duplicateKeysAreRejected() async throws {
        try await post(#"{"text":"a","text":"b"}"#) { response in
            #expect(response.status == .badRequest)
            #expect(response.json["message"]?.stringValue?.contains("duplicate") == true)
        }
    }

    @Test func tooDeepNestingIsRejected() async throws {
        let deep = #"{"text":"x","n":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        try await post(deep) { response in
            #expect(response.status == .badRequest)
        }
    }

    @Test func invalidUTF8IsRejected() async throws {
        try await TestHost.application().test(.router) { client in
            var buffer = ByteBuffer(string: #"{"text":""#)
            buffer.writeBytes([0xC3, 0x28])
            buffer.writeString(#""}"#)
            try await client.execute(uri: "/v1/echo/say", method: .post, headers: TestHost.jsonHeaders(), body: buffer) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", " text/json ;x=application/json"])
    func nonJSONContentTypeIs415(contentType: String) async throws {
        try await post(#"{"text":"hi"}"#, contentType: contentType) { response in
            #expect(response.status == .unsupportedMediaType)
            #expect(response.json["message"]?.stringValue?.contains("Content-Type: application/json") == true)
        }
    }

    @Test(arguments: [nil, "application/json", "application/json; charset=utf-8", "application/merge-patch+json", " Application/JSON ;charset=utf-8", "application/json\t"])
    func jsonOrMissingContentTypeIsRead(contentType: String?) async throws {
        try await post(#"{"text":"hi"}"#, contentType: contentType) { response in
            #expect(response.status == .ok)
            #expect(response.json["response"]?["payload"] == ["text": "hi"])
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        let big = #"{"text":""# + String(repeating: "a", count: 2000) + #""}"#
        try await post(big, environment: ["MAX_BODY_BYTES": "1000"]) { response in
            #expect(response.status == .contentTooLarge)
            #expect(response.json["message"]?.stringValue?.contains("1000 bytes") == true)
        }
    }

    @Test func schemaFailureListsEveryErrorWithPointers() async throws {
        try await post(#"{"text": 5, "webhook_url": "not a uri"}"#) { response in
            #expect(response.status == .badRequest)
            let body = response.json
            #expect(body["message"]?.stringValue?.hasPrefix("Invalid payload: ") == true)
            let errors = body["errors"]?.arrayValue ?? []
            #expect(errors.count == 2)
            #expect(errors.contains { $0["path"] == "/text" && $0["keyword"] == "type" })
            #expect(errors.contains { $0["path"] == "/webhook_url" && $0["keyword"] == "format" })
        }
    }

    @Test func missingRequiredPropertyPointsAtIt() async throws {
        try await post(#"{"other": 1}"#) { response in
            #expect(response.status == .badRequest)
            let body = response.json
            #expect(body["message"] == "Invalid payload: 'text' is a required property")
            #expect(body["errors"]?.arrayValue?.first?["path"] == "/text")
        }
    }

    @Test func rejectedInputChangesNothing() async throws {
        try await TestHost.application(environment: ["MAX_BODY_BYTES": "200"]).test(.router) { client in
            let bad: [(String, String?)] = [
                ("", "application/json"), ("{\"text\": ", "application/json"), (#"{"text":"a","text":"b"}"#, "application/json"),
                (#"{"text":"hi"}"#, "text/plain"), (#"{"text": 5}"#, "application/json"),
                (#"{"text":""# + String(repeating: "x", count: 300) + #""}"#, "application/json"),
                (#"{"text":"hi","webhook_url":"ftp://x"}"#, "application/json"),
            ]
            for (body, contentType) in bad {
                var headers = TestHost.keyHeader
                headers[.contentType] = contentType
                try await client.execute(uri: "/v1/echo/say", method: .post, headers: headers, body: body.buffer) { response in
                    #expect((400..<500).contains(response.status.code), "\(body)")
                    #expect(response.headers[.contentType] == "application/json")
                }
            }
            try await client.execute(uri: "/v1/toolkit/jobs/status", method: .post, headers: TestHost.jsonHeaders(), body: #"{"since_seconds": 3600}"#.buffer) { response in
                #expect(response.status == .ok)
                let jobs = try #require(response.json["response"]?.objectValue)
                #expect(jobs.count == 0)
            }
        }
    }
}
