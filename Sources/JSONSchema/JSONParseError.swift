/// A JSON syntax error, with the position of the offending byte (or of the end of input).
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, e.g. "expected ',' or '}' after object member", "unexpected end of input",
    /// "invalid UTF-8", "nesting deeper than 512 levels", "duplicate key 'url'".
    public var message: String
    public var location: JSONSourceLocation

    public init(message: String, location: JSONSourceLocation) {
        self.message = message
        self.location = location
    }

    /// "line 3, column 7 (byte 42): <message>"
    public var description: String { "\(location): \(message)" }
}
