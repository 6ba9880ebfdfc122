import JSONSchema

/// The OpenAPI 3.1 document of the mounted routes, generated from the manifest.
///
/// Request bodies use the routes' JSON Schemas as they are (OpenAPI 3.1 speaks draft 2020-12);
/// responses describe the envelope, the 202 answer, the error bodies and, for streaming routes,
/// a binary body.
public struct OpenAPIDocument: Sendable {
    let registry: RouteRegistry

    public init(registry: RouteRegistry) {
        self.registry = registry
    }

    public var json: JSONValue {
        var paths = JSONObject()
        for route in registry.routes {
            let manifest = route.manifest
            var item = paths[manifest.fullPath]?.objectValue ?? JSONObject()
            item[manifest.method.rawValue.lowercased()] = operation(route)
            paths[manifest.fullPath] = .object(item)
        }
        paths["/health"] = ["get": [
            "operationId": "host_health", "summary": "Host and module health (no key needed)",
            "responses": ["200": Self.jsonResponse("Host status, uptime, build and each module's health", schema: ["type": "object"])],
        ]]
        paths["/openapi.json"] = ["get": [
            "operationId": "host_openapi", "summary": "This document",
            "responses": ["200": Self.jsonResponse("The OpenAPI 3.1 document", schema: ["type": "object"])],
        ]]
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "RouteHost", "version": .string(RouteHostVersion.current),
                "description": "Routes mounted from routes.json. Authenticate with the X-API-Key header.",
            ],
            "paths": .object(paths),
            "components": Self.components,
        ]
    }

    func operation(_ route: MountedRoute) -> JSONValue {
        let manifest = route.manifest
        var operation = JSONObject()
        operation["operationId"] = .string(Self.operationID(manifest))
        operation["summary"] = .string(manifest.description ?? "\(route.module): \(manifest.handler)")
        operation["tags"] = [.string(route.module)]
        if manifest.auth {
            operation["security"] = [["ApiKeyAuth": []]]
        }
        let hasBody = manifest.hasBody
        if hasBody {
            operation["requestBody"] = [
                "required": .bool(manifest.bodyRequired),
                "content": ["application/json": ["schema": manifest.schema?.json ?? ["type": "object"]]],
            ]
        }
        var responses = JSONObject()
        switch route.handler.kind {
        case .stream:
            responses["200"] = ["description": "The streamed file", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
            responses["206"] = ["description": "Part of the file (Range requests)", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
        case .plain:
            responses["200"] = Self.jsonResponse("Success", schema: route.handler.resultSchema ?? ["type": "object"], example: route.handler.resultExample)
        case .envelope:
            var schema: JSONValue = ["$ref": "#/components/schemas/Envelope"]
            if let result = route.handler.resultSchema {
                schema = ["allOf": [schema, ["properties": ["response": result]]]]
            }
            responses["200"] = Self.jsonResponse(
                "The envelope; `response` holds the result", schema: schema,
                example: route.handler.resultExample.map { Self.envelopeExample(endpoint: manifest.fullPath, response: $0) })
        }
        if manifest.queue == .webhook {
            responses["202"] = Self.jsonResponse("Queued: the result is POSTed to webhook_url", schema: ["$ref": "#/components/schemas/Accepted"])
        }
        if hasBody {
            responses["400"] = Self.errorResponse("Missing, malformed or invalid JSON")
            responses["413"] = Self.errorResponse("Body larger than MAX_BODY_BYTES")
            responses["415"] = Self.errorResponse("Content-Type is not application/json")
        }
        if manifest.auth {
            responses["401"] = Self.errorResponse("Missing or wrong X-API-Key")
        }
        responses["429"] = Self.errorResponse("Too many requests, or the queue is full; see Retry-After")
        responses["default"] = Self.errorResponse("Any other error, with a JSON body")
        operation["responses"] = .object(responses)
        return .object(operation)
    }

    /// Unique per operation, since one handler may serve several routes: `post_v1_media_youtube_info`.
    static func operationID(_ route: RouteManifest) -> String {
        let path = route.fullPath.split(separator: "/").joined(separator: "_").map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return route.method.rawValue.lowercased() + "_" + String(path)
    }

    static func jsonResponse(_ description: String, schema: JSONValue, example: JSONValue? = nil) -> JSONValue {
        var media: JSONObject = ["schema": schema]
        if let example { media["example"] = example }
        return ["description": .string(description), "content": ["application/json": .object(media)]]
    }

    /// A sync envelope around `response`, as an example.
    static func envelopeExample(endpoint: String, response: JSONValue) -> JSONValue {
        [
            "endpoint": .string(endpoint), "code": 200, "id": "ref-1", "job_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "response": response, "message": "success", "run_time": 0.412, "queue_time": 0, "total_time": 0.412,
            "pid": 4242, "queue_id": 1, "queue_length": 0, "build_number": "1.0.0",
        ]
    }

    static func errorResponse(_ description: String) -> JSONValue {
        jsonResponse(description, schema: ["$ref": "#/components/schemas/Error"])
    }

    static let components: JSONValue = [
        "securitySchemes": ["ApiKeyAuth": ["type": "apiKey", "in": "header", "name": "X-API-Key"]],
        "schemas": [
            "Envelope": [
                "type": "object",
                "required": ["endpoint", "code", "job_id", "response", "message"],
                "properties": [
                    "endpoint": ["type": "string"], "code": ["type": "integer"], "id": [:],
                    "job_id": ["type": ["string", "null"]], "response": [:], "message": [:],
                    "run_time": ["type": ["number", "null"]], "queue_time": ["type": ["number", "null"]],
                    "total_time": ["type": ["number", "null"]], "pid": ["type": "integer"],
                    "queue_id": ["type": "integer"], "queue_length": ["type": "integer"], "build_number": [:],
                ],
            ],
            "Accepted": [
                "type": "object",
                "required": ["code", "job_id", "message"],
                "properties": [
                    "code": ["const": 202], "id": [:], "job_id": ["type": "string"], "message": ["const": "processing"],
                    "pid": ["type": "integer"], "queue_id": ["type": "integer"],
                    "max_queue_length": ["type": ["integer", "string"]], "queue_length": ["type": "integer"], "build_number": [:],
                ],
            ],
            "Error": [
                "type": "object",
                "properties": [
                    "message": [:], "code": ["type": "integer"], "error": [:],
                    "errors": ["type": "array", "items": [
                        "type": "object",
                        "properties": ["path": ["type": "string"], "keyword": ["type": "string"], "message": ["type": "string"]],
                    ]],
                ],
            ],
        ],
    ]
}
