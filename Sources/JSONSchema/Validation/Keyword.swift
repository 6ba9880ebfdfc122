/// One keyword of a compiled schema object.
protocol Keyword: AnyObject, Sendable {
    /// Validates `instance`; in collect mode records errors in `context` and keeps going, otherwise
    /// returns false at the first failure. When `annotations` is non-nil, records which
    /// properties/items of `instance` this keyword evaluated.
    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool
}
