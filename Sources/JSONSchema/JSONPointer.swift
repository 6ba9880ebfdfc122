/// An RFC 6901 JSON Pointer: `""` is the whole document, `/a~1b/0` is member `a/b`, then element 0.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Unescaped reference tokens.
    public var tokens: [String]

    public init(_ tokens: [String] = []) { self.tokens = tokens }

    /// Parses the string form; throws ``JSONPointerError`` unless it is empty or starts with `/`
    /// and uses only `~0` and `~1` escapes.
    public init(parsing text: String) throws {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.utf8.first == UInt8(ascii: "/") else {
            throw JSONPointerError(text: text, message: "a JSON pointer must be empty or start with '/'")
        }
        var result: [String] = []
        for raw in text.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard let token = Self.unescape(raw) else {
                throw JSONPointerError(text: text, message: "'~' must be followed by '0' or '1'")
            }
            result.append(token)
        }
        tokens = result
    }

    /// Traps on an invalid pointer literal (a programming error).
    public init(stringLiteral value: String) {
        do {
            try self.init(parsing: value)
        } catch {
            preconditionFailure("invalid JSON pointer literal \"\(value)\"")
        }
    }

    private static func unescape(_ raw: Substring.UTF8View.SubSequence) -> String? {
        guard raw.contains(UInt8(ascii: "~")) else { return String(Substring(raw)) }
        var bytes: [UInt8] = []
        var iterator = raw.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "~") {
                switch iterator.next() {
                case UInt8(ascii: "0"): bytes.append(UInt8(ascii: "~"))
                case UInt8(ascii: "1"): bytes.append(UInt8(ascii: "/"))
                default: return nil
                }
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var isRoot: Bool { tokens.isEmpty }

    public func appending(_ token: String) -> JSONPointer {
        var copy = self
        copy.tokens.append(token)
        return copy
    }

    public func appending(_ index: Int) -> JSONPointer { appending(String(index)) }

    /// The pointer without its last token (the root stays the root).
    public var parent: JSONPointer {
        var copy = self
        if !copy.tokens.isEmpty { copy.tokens.removeLast() }
        return copy
    }

    public var description: String {
        var out = ""
        for token in tokens {
            out.append("/")
            if token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) {
                out.append(token.replacingTildeAndSlash())
            } else {
                out.append(token)
            }
        }
        return out
    }

    /// The value at this pointer inside `document`, or nil.
    public func resolve(in document: JSONValue) -> JSONValue? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let array):
                guard let i = Self.arrayIndex(token), i < array.count else { return nil }
                current = array[i]
            default:
                return nil
            }
        }
        return current
    }

    /// The array index a token denotes (`0`, or digits without a leading zero), or nil.
    static func arrayIndex(_ token: String) -> Int? {
        let utf8 = token.utf8
        guard let first = utf8.first, utf8.count <= 18 else { return nil }
        if first == UInt8(ascii: "0") { return utf8.count == 1 ? 0 : nil }
        var value = 0
        for byte in utf8 {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }
}

extension String {
    fileprivate func replacingTildeAndSlash() -> String {
        var out = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "~": out.append("~0")
            case "/": out.append("~1")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A malformed JSON pointer string.
public struct JSONPointerError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var message: String
    public var description: String { "invalid JSON pointer '\(text)': \(message)" }
}
