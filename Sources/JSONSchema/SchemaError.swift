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
