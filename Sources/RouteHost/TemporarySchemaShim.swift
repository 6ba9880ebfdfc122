import JSONSchema
public struct SchemaOptions: Sendable { public init(formatAssertion: Bool = false) {} }
public struct Schema: Sendable {
    public init(_ schema: JSONValue, options: SchemaOptions = .init()) throws(SchemaError) {}
    public func isValid(_ instance: JSONValue) -> Bool { true }
    public func validate(_ instance: JSONValue) -> [ValidationError] { [] }
}
public struct SchemaError: Error { public var pointer: JSONPointer; public var message: String }
public struct ValidationError: Sendable { public var instanceLocation: JSONPointer; public var keyword: String; public var message: String }
extension Array where Element == ValidationError { public var best: ValidationError? { first } }
