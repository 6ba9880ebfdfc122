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
