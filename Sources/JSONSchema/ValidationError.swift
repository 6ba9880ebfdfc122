/// One reason an instance is invalid.
public struct ValidationError: Sendable, Hashable, CustomStringConvertible {
    /// The offending value. For `required`, `additionalProperties`, `unevaluatedProperties` and
    /// `dependentRequired` it is the property concerned (e.g. `/url`), even when absent.
    public var instanceLocation: JSONPointer
    /// The failing keyword, along the evaluation path (through `$ref`), e.g. `/properties/url/type`.
    public var schemaLocation: JSONPointer
    /// "required", "type", "format", ...; "false" for a `false` schema.
    public var keyword: String
    /// The message, worded like Python `jsonschema`'s: "'url' is a required property".
    public var message: String

    public init(instanceLocation: JSONPointer, schemaLocation: JSONPointer, keyword: String, message: String) {
        self.instanceLocation = instanceLocation
        self.schemaLocation = schemaLocation
        self.keyword = keyword
        self.message = message
    }

    /// "/url: 'abc' is not a 'uri'" (the root is written "/").
    public var description: String {
        "\(instanceLocation.isRoot ? "/" : instanceLocation.description): \(message)"
    }
}

extension Array where Element == ValidationError {
    /// The error to show in a one-line message: the shallowest instance location, then the first
    /// in schema order.
    public var best: ValidationError? {
        var result: ValidationError?
        for error in self where result == nil || error.instanceLocation.tokens.count < result!.instanceLocation.tokens.count {
            result = error
        }
        return result
    }
}
