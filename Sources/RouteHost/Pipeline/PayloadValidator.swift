import JSONSchema

/// Checks a payload against a route's compiled schema.
///
/// Failure: `400 {"message":"Invalid payload: <best error>","errors":[{"path","keyword","message"}]}`
/// with every error; `path` is the JSON pointer of the offending value (for `required` and
/// `additionalProperties`, of the property concerned).
public struct PayloadValidator: Sendable {
    public let schema: Schema

    public init(schema: Schema) {
        self.schema = schema
    }

    public func validate(_ payload: JSONValue) throws(RouteFailure) {
        if schema.isValid(payload) { return }
        let errors = schema.validate(payload)
        guard let best = errors.best else { return }
        let message = JSONValue.string("Invalid payload: \(best.message)")
        let list = errors.map { error in
            JSONValue.object(JSONObject([
                ("path", .string(error.instanceLocation.description)),
                ("keyword", .string(error.keyword)),
                ("message", .string(error.message)),
            ]))
        }
        throw RouteFailure(.badRequest, message: message, body: .object(JSONObject([("message", message), ("errors", .array(list))])))
    }
}
