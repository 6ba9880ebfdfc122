import Hummingbird
import JSONSchema
import RouteHost

/// A route module defined only in the tests: proves a plugin mounts from a manifest without
/// touching host code.
struct EchoModule: RouteModule {
    struct Configuration: Decodable, Sendable {
        var greeting: String
        var shout: Bool?
    }

    struct HandlerFailure: Error {}

    static let pluginName = "echo"
    static let configurationKeys: [String]? = ["greeting", "shout"]

    let greeting: String

    init(configuration: Configuration, context: ModuleContext) throws {
        guard !configuration.greeting.isEmpty else {
            throw ModuleConfigurationError(key: ["greeting"], message: "greeting must not be empty", fix: "write a greeting such as \"hello\"")
        }
        greeting = configuration.shout == true ? configuration.greeting.uppercased() : configuration.greeting
    }

    var handlers: [String: RouteHandler] {
        let greeting = self.greeting
        return [
            "echo": .envelope { request in HandlerResponse(["greeting": .string(greeting), "payload": request.payload]) },
            "refuse": .envelope { _ in throw RouteFailure(.unprocessableContent, message: ["error": "refused"], headers: [.retryAfter: "7"]) },
            "crash": .envelope { _ in throw HandlerFailure() },
            "plain": .plain { request in HandlerResponse(["plain": true, "request_id": .string(request.requestID)]) },
            "crash_plain": .plain { _ in throw HandlerFailure() },
            "bytes": .stream { _ in Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: ByteBuffer(string: "0123456789"))) },
            "slow_bytes": .stream { _ in
                Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody { writer in
                    // 1.8 s in all: longer than the 1 s head deadline of the slow-client tests.
                    for index in 0..<6 {
                        try await Task.sleep(for: .milliseconds(300))
                        try await writer.write(ByteBuffer(string: String(index)))
                    }
                    try await writer.finish(nil)
                })
            },
            "not_found": .plain { _ in throw HTTPError(.notFound) },
        ]
    }
}
