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
