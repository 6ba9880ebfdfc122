/// Options for compiling a ``Schema``.
public struct SchemaOptions: Sendable {
    /// When false (default), `format` is only an annotation, as draft 2020-12 specifies. When true,
    /// the formats listed in ``Schema`` are asserted; unknown formats always pass.
    public var formatAssertion: Bool
    /// Documents that references can resolve to. The default holds the 2020-12 meta-schemas.
    public var registry: SchemaRegistry

    public init(formatAssertion: Bool = false, registry: SchemaRegistry = SchemaRegistry()) {
        self.formatAssertion = formatAssertion
        self.registry = registry
    }
}

/// A compiled, immutable, thread-safe JSON Schema (draft 2020-12). Compile once; validate from any
/// number of tasks.
///
/// Supported: every keyword of the core, applicator, unevaluated, validation and format
/// vocabularies (`$dynamicRef` included; `$vocabulary` of a custom meta-schema is honoured), plus
/// boolean schemas. Content and meta-data keywords are annotations and never fail. Unknown
/// keywords are ignored. Only the 2020-12 dialect is implemented: a `$schema` must name the
/// 2020-12 meta-schema or a registered meta-schema.
///
/// Asserted formats (with ``SchemaOptions/formatAssertion`` or the format-assertion vocabulary):
/// `date-time`, `date`, `time`, `duration`, `email`, `idn-email`, `hostname`, `idn-hostname`,
/// `ipv4`, `ipv6`, `uri`, `uri-reference`, `iri`, `iri-reference`, `uri-template`, `uuid`,
/// `json-pointer`, `relative-json-pointer`, `regex`.
///
/// `pattern` and `patternProperties` are ECMA-262 regular expressions (Unicode mode), translated
/// once at compile time and run by ICU. Caveat: unbounded lookbehind (`(?<=a+)`) is rejected.
public struct Schema: Sendable {
    let root: SchemaNode
    let table: NodeTable

    /// Compiles `schema`. Throws a ``SchemaError`` pointing at the offending keyword when the
    /// schema is invalid, uses an unsupported `$schema`, or has a `$ref` that cannot be resolved.
    public init(_ schema: JSONValue, options: SchemaOptions = .init()) throws(SchemaError) {
        var compiler = SchemaCompiler(registry: options.registry, formatAssertion: options.formatAssertion)
        (root, table) = try compiler.compileRoot(schema)
    }

    /// True if `instance` is valid. Stops at the first failure and builds no messages.
    public func isValid(_ instance: JSONValue) -> Bool {
        var context = ValidationContext(table: table, collect: false)
        var annotations: Annotations? = nil
        return root.validate(instance, &context, &annotations)
    }

    /// All validation errors, in schema order (empty when `instance` is valid).
    ///
    /// Errors of `anyOf`, `oneOf`, `not`, `if` and `contains` subschemas are summarized by one
    /// error of that keyword; other applicators report the errors of their subschemas.
    public func validate(_ instance: JSONValue) -> [ValidationError] {
        var context = ValidationContext(table: table, collect: true)
        var annotations: Annotations? = nil
        _ = root.validate(instance, &context, &annotations)
        return context.errors
    }
}

/// An invalid schema: where (a JSON pointer into the schema document) and what.
public struct SchemaError: Error, Sendable, CustomStringConvertible {
    /// The offending keyword, e.g. `/properties/url/type`.
    public var pointer: JSONPointer
    public var message: String

    public init(pointer: JSONPointer, message: String) {
        self.pointer = pointer
        self.message = message
    }

    /// "at /properties/url/type: 'strin' is not a valid type (...)"; the root is written "at /".
    public var description: String {
        "at \(pointer.isRoot ? "/" : pointer.description): \(message)"
    }
}

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
