/// A strict RFC 8259 JSON parser working on UTF-8 bytes.
///
/// Exactly one JSON text is accepted, with surrounding whitespace. Rejected with a
/// ``JSONParseError`` carrying the position: invalid UTF-8 (also outside strings), unescaped
/// control characters, lone surrogate escapes, leading zeros, trailing commas, duplicate keys
/// (unless allowed), nesting deeper than ``Options/maxDepth``, and any data after the value.
/// A byte order mark is not accepted.
///
/// Caveat: the parser is recursive, one frame per nesting level; the default `maxDepth` of 512 is
/// safe on any thread, but very large limits can exhaust a small thread stack.
public struct JSONParser {
    public struct Options: Sendable {
        /// Deepest allowed nesting of arrays and objects (default 512).
        public var maxDepth: Int
        /// When false (default), a key repeated in one object is an error; when true, the last
        /// value wins and keeps the first position.
        public var allowDuplicateKeys: Bool

        public init(maxDepth: Int = 512, allowDuplicateKeys: Bool = false) {
            self.maxDepth = maxDepth
            self.allowDuplicateKeys = allowDuplicateKeys
        }
    }

    /// Parses exactly one JSON text.
    public static func parse(_ bytes: some Collection<UInt8>, options: Options = .init()) throws(JSONParseError) -> JSONValue {
        try run(bytes, options: options, track: false).0
    }

    /// Parses exactly one JSON text (fast path for arrays).
    public static func parse(_ bytes: [UInt8], options: Options = .init()) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer in parseBuffer(buffer, options: options, track: false) }.get().0
    }

    /// Parses exactly one JSON text.
    public static func parse(_ text: String, options: Options = .init()) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in parseBuffer(buffer, options: options, track: false) }.get().0
    }

    /// Parses exactly one JSON text, also returning where each value and key starts.
    public static func parseWithLocations(_ bytes: some Collection<UInt8>, options: Options = .init()) throws(JSONParseError) -> (JSONValue, JSONSourceMap) {
        let (value, map) = try run(bytes, options: options, track: true)
        return (value, map!)
    }

    private static func run(_ bytes: some Collection<UInt8>, options: Options, track: Bool) throws(JSONParseError) -> (JSONValue, JSONSourceMap?) {
        if let result = bytes.withContiguousStorageIfAvailable({ parseBuffer($0, options: options, track: track) }) {
            return try result.get()
        }
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { parseBuffer($0, options: options, track: track) }.get()
    }

    private static func parseBuffer(_ buffer: UnsafeBufferPointer<UInt8>, options: Options, track: Bool) -> Result<(JSONValue, JSONSourceMap?), JSONParseError> {
        var core = ParserCore(bytes: buffer, options: options, track: track)
        do {
            let value = try core.parseDocument()
            guard track else { return .success((value, nil)) }
            let map = JSONSourceMap(bytes: Array(buffer), valueOffsets: core.valueOffsets, keyOffsets: core.keyOffsets)
            return .success((value, map))
        } catch {
            return .failure(error)
        }
    }
}

struct ParserCore {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    let allowDuplicateKeys: Bool
    let track: Bool
    var position = 0
    var depth = 0
    var path: [String] = []
    var valueOffsets: [JSONPointer: Int] = [:]
    var keyOffsets: [JSONPointer: Int] = [:]

    init(bytes: UnsafeBufferPointer<UInt8>, options: JSONParser.Options, track: Bool) {
        self.bytes = bytes
        self.maxDepth = options.maxDepth
        self.allowDuplicateKeys = options.allowDuplicateKeys
        self.track = track
    }

    func error(_ message: String, at offset: Int) -> JSONParseError {
        JSONParseError(message: message, location: JSONSourceLocation.compute(offset: offset, in: bytes))
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        if position < bytes.count {
            throw error("unexpected \(describe(at: position)) after the JSON value", at: position)
        }
        return value
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            let byte = bytes[position]
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                position += 1
            } else {
                return
            }
        }
    }

    /// Describes the input at `offset` for a message: "end of input", "character 'x'", "byte 0xFF".
    func describe(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let byte = bytes[offset]
        if byte >= 0x20 && byte < 0x7F { return "character '\(Character(Unicode.Scalar(byte)))'" }
        if byte < 0x80 { return "control character U+\(hex4(UInt32(byte)))" }
        let length = utf8SequenceLength(at: offset)
        if length == 0 { return "invalid UTF-8" }
        var decoded = ""
        decoded.unicodeScalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self).unicodeScalars)
        let scalar = decoded.unicodeScalars.first!
        return "character '\(decoded)' (U+\(hex4(scalar.value)))"
    }

    func unexpected(at offset: Int, expected: String) -> JSONParseError {
        if offset >= bytes.count { return error("unexpected end of input (\(expected))", at: offset) }
        if bytes[offset] >= 0x80 && utf8SequenceLength(at: offset) == 0 { return error("invalid UTF-8", at: offset) }
        return error("\(expected), found \(describe(at: offset))", at: offset)
    }

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of input", at: position) }
        if track { valueOffsets[JSONPointer(path)] = position }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw unexpected(at: position, expected: "expected a JSON value")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = position
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            guard start + count <= bytes.count else { return false }
            for i in 0..<count where bytes[start + i] != expected[i] { return false }
            return true
        }
        guard matches else {
            throw error("invalid literal (expected '\(literal)')", at: start)
        }
        position += count
    }

    mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels", at: position) }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        position += 1
        var object = JSONObject()
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(object)
        }
        object.entries.reserveCapacity(4)
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                if position < bytes.count && bytes[position] == UInt8(ascii: "}") && !object.isEmpty {
                    throw error("trailing comma before '}'", at: position)
                }
                throw unexpected(at: position, expected: "expected a string key")
            }
            let keyStart = position
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw unexpected(at: position, expected: "expected ':' after object key")
            }
            position += 1
            if track {
                path.append(key)
                keyOffsets[JSONPointer(path)] = keyStart
            }
            let value = try parseValue()
            if track { path.removeLast() }
            if !object.insertIfAbsent(key, value) {
                if !allowDuplicateKeys {
                    throw error("duplicate key \(pythonRepr(string: key))", at: keyStart)
                }
                object[key] = value
            }
            skipWhitespace()
            guard position < bytes.count else {
                throw error("unexpected end of input (expected ',' or '}' after object member)", at: position)
            }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "}") { break }
            position -= 1
            throw unexpected(at: position, expected: "expected ',' or '}' after object member")
        }
        depth -= 1
        return .object(object)
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        position += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") && !array.isEmpty {
                throw error("trailing comma before ']'", at: position)
            }
            if track { path.append(String(array.count)) }
            array.append(try parseValue())
            if track { path.removeLast() }
            skipWhitespace()
            guard position < bytes.count else {
                throw error("unexpected end of input (expected ',' or ']' after array element)", at: position)
            }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: ",") { continue }
            if byte == UInt8(ascii: "]") { break }
            position -= 1
            throw unexpected(at: position, expected: "expected ',' or ']' after array element")
        }
        depth -= 1
        return .array(array)
    }

    // MARK: Strings

    /// Length of the valid UTF-8 sequence starting at `offset` (a byte >= 0x80), or 0 if invalid.
    @inline(__always)
    func utf8SequenceLength(at offset: Int) -> Int {
        let count = bytes.count
        let b0 = bytes[offset]
        @inline(__always) func cont(_ i: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            i < count && bytes[i] >= low && bytes[i] <= high
        }
        switch b0 {
        case 0xC2...0xDF:
            return cont(offset + 1) ? 2 : 0
        case 0xE0:
            return cont(offset + 1, 0xA0) && cont(offset + 2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(offset + 1) && cont(offset + 2) ? 3 : 0
        case 0xED:
            return cont(offset + 1, 0x80, 0x9F) && cont(offset + 2) ? 3 : 0
        case 0xF0:
            return cont(offset + 1, 0x90) && cont(offset + 2) && cont(offset + 3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(offset + 1) && cont(offset + 2) && cont(offset + 3) ? 4 : 0
        case 0xF4:
            return cont(offset + 1, 0x80, 0x8F) && cont(offset + 2) && cont(offset + 3) ? 4 : 0
        default:
            return 0
        }
    }

    /// Parses a string starting at the opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        let start = position + 1
        var i = start
        let count = bytes.count
        let base = bytes.baseAddress!
        while i < count {
            if i + 8 <= count && isPlainASCII(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                i += 8
                continue
            }
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                position = i + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(start: start, firstEscape: i)
            }
            if byte < 0x20 {
                throw error("unescaped control character U+\(hex4(UInt32(byte))) in string", at: i)
            }
            if byte >= 0x80 {
                let length = utf8SequenceLength(at: i)
                if length == 0 { throw error("invalid UTF-8", at: i) }
                i += length
            } else {
                i += 1
            }
        }
        throw error("unterminated string", at: position)
    }

    mutating func parseEscapedString(start: Int, firstEscape: Int) throws(JSONParseError) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(firstEscape - start + 16)
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<firstEscape]))
        var i = firstEscape
        let count = bytes.count
        while i < count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                position = i + 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                guard i + 1 < count else { break }
                let escape = bytes[i + 1]
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escape)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hexQuad(at: i + 2, escapeStart: i)
                    var consumed = 6
                    if scalar >= 0xD800 && scalar <= 0xDBFF {
                        guard i + 7 < count, bytes[i + 6] == UInt8(ascii: "\\"), bytes[i + 7] == UInt8(ascii: "u") else {
                            throw error("lone surrogate escape \\u\(hex4(scalar)) in string", at: i)
                        }
                        let low = try hexQuad(at: i + 8, escapeStart: i + 6)
                        guard low >= 0xDC00 && low <= 0xDFFF else {
                            throw error("lone surrogate escape \\u\(hex4(scalar)) in string", at: i)
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        consumed = 12
                    } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                        throw error("lone surrogate escape \\u\(hex4(scalar)) in string", at: i)
                    }
                    appendUTF8(scalar, to: &buffer)
                    i += consumed
                    continue
                default:
                    throw error("invalid escape sequence in string", at: i)
                }
                i += 2
                continue
            }
            if byte < 0x20 {
                throw error("unescaped control character U+\(hex4(UInt32(byte))) in string", at: i)
            }
            if byte >= 0x80 {
                let length = utf8SequenceLength(at: i)
                if length == 0 { throw error("invalid UTF-8", at: i) }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<i + length]))
                i += length
            } else {
                buffer.append(byte)
                i += 1
            }
        }
        throw error("unterminated string", at: position)
    }

    func hexQuad(at offset: Int, escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw error("invalid \\u escape in string", at: escapeStart) }
        var value: UInt32 = 0
        for i in offset..<offset + 4 {
            let byte = bytes[i]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 55)
            default: throw error("invalid \\u escape in string", at: escapeStart)
            }
            value = value << 4 | digit
        }
        return value
    }

    // MARK: Numbers

    @inline(__always)
    func isDigit(_ offset: Int) -> Bool {
        offset < bytes.count && bytes[offset] >= 48 && bytes[offset] <= 57
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = position
        var i = position
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard isDigit(i) else { throw unexpected(at: i, expected: "expected a digit after '-'") }
        var significand: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw error("leading zeros are not allowed in numbers", at: start) }
        } else {
            while isDigit(i) {
                let digit = UInt64(bytes[i] - 48)
                if significantDigits < 19 {
                    significand = significand * 10 + digit
                    if significand != 0 { significantDigits += 1 }
                } else {
                    significantDigits += 1
                }
                i += 1
            }
        }
        var isPlainInteger = true
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            isPlainInteger = false
            i += 1
            guard isDigit(i) else { throw unexpected(at: i, expected: "expected a digit after '.'") }
            while isDigit(i) {
                let digit = UInt64(bytes[i] - 48)
                if significantDigits < 19 {
                    significand = significand * 10 + digit
                    if significand != 0 { significantDigits += 1 }
                    exponent -= 1
                } else {
                    significantDigits += 1
                }
                i += 1
            }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            isPlainInteger = false
            i += 1
            var expNegative = false
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard isDigit(i) else { throw unexpected(at: i, expected: "expected a digit in the exponent") }
            var value = 0
            while isDigit(i) {
                if value < 1_000_000_000_000_000 { value = value * 10 + Int(bytes[i] - 48) }
                i += 1
            }
            exponent += expNegative ? -value : value
        }
        position = i
        if significantDigits <= 18 {
            if isPlainInteger {
                let magnitude = Int(significand)
                return JSONNumber(storage: .int(negative ? -magnitude : magnitude))
            }
            return JSONNumber.make(negative: negative, significand: significand, exponent: exponent)
        }
        let literal = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        return JSONNumber(decimal: DecimalValue(literal: literal)!)
    }
}

extension JSONNumber {
    /// `±significand * 10^exponent` with a significand of at most 18 digits.
    static func make(negative: Bool, significand: UInt64, exponent: Int) -> JSONNumber {
        if significand == 0 { return JSONNumber(storage: .int(0)) }
        var significand = significand
        var exponent = exponent
        while significand % 10 == 0 {
            significand /= 10
            exponent += 1
        }
        if exponent >= 0 && exponent <= 18 {
            var value = significand
            var fits = true
            for _ in 0..<exponent {
                let (m, o) = value.multipliedReportingOverflow(by: 10)
                if o { fits = false; break }
                value = m
            }
            if fits && value <= UInt64(Int.max) {
                return JSONNumber(storage: .int(negative ? -Int(value) : Int(value)))
            }
        }
        var digits: [UInt8] = []
        var rest = significand
        while rest > 0 {
            digits.append(UInt8(rest % 10))
            rest /= 10
        }
        digits.reverse()
        return JSONNumber(decimal: DecimalValue(negative: negative, digits: digits, exponent: exponent))
    }
}

/// True if none of the 8 bytes is a control character, `"`, `\\` or non-ASCII (SWAR test).
@inline(__always)
func isPlainASCII(_ x: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let quote = x ^ (ones &* 0x22)
    let backslash = x ^ (ones &* 0x5C)
    let flags = ((x &- ones &* 0x20) & ~x) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | x
    return flags & 0x8080_8080_8080_8080 == 0
}

@inline(__always)
func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        buffer.append(UInt8(scalar))
    case 0x80..<0x800:
        buffer.append(UInt8(0xC0 | (scalar >> 6)))
        buffer.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        buffer.append(UInt8(0xE0 | (scalar >> 12)))
        buffer.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        buffer.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        buffer.append(UInt8(0xF0 | (scalar >> 18)))
        buffer.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        buffer.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        buffer.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}

func hex4(_ value: UInt32) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    var shift = max(12, (32 - value.leadingZeroBitCount + 3) / 4 * 4 - 4)
    while shift >= 0 {
        out.append(digits[Int((value >> UInt32(shift)) & 0xF)])
        shift -= 4
    }
    return String(decoding: out, as: UTF8.self)
}
