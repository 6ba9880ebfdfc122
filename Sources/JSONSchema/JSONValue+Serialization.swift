extension JSONValue: CustomStringConvertible {
    /// Compact JSON text (same as ``serializedString(pretty:)``).
    public var description: String { serializedString() }

    /// JSON text as UTF-8 bytes.
    ///
    /// Compact by default (no spaces); `pretty` indents by two spaces and puts one member per line.
    /// Object members keep insertion order. Strings escape `"`, `\` and control characters
    /// (`\n`, `\t`, ... or `\u00XX`); everything else, including non-ASCII, is written raw as UTF-8
    /// and `/` is not escaped. Integers have no `.0`; other numbers use the shortest round-trip form.
    public func serialized(pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        if pretty {
            appendPretty(to: &out, indent: 0)
        } else {
            appendCompact(to: &out)
        }
        return out
    }

    /// JSON text as a `String` (see ``serialized(pretty:)``).
    public func serializedString(pretty: Bool = false) -> String {
        String(decoding: serialized(pretty: pretty), as: UTF8.self)
    }

    func appendCompact(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .number(let n): n.appendJSON(to: &out)
        case .string(let s): appendJSONString(s, to: &out)
        case .array(let array):
            out.append(UInt8(ascii: "["))
            var first = true
            for element in array {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                element.appendCompact(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in object.entries {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.appendCompact(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private func appendPretty(to out: inout [UInt8], indent: Int) {
        func newline(_ level: Int) {
            out.append(UInt8(ascii: "\n"))
            for _ in 0..<(level * 2) { out.append(UInt8(ascii: " ")) }
        }
        switch self {
        case .array(let array) where !array.isEmpty:
            out.append(UInt8(ascii: "["))
            for (i, element) in array.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                element.appendPretty(to: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "]"))
        case .object(let object) where !object.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                appendJSONString(member.key, to: &out)
                out.append(contentsOf: ": ".utf8)
                member.value.appendPretty(to: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "}"))
        default:
            appendCompact(to: &out)
        }
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

@inline(__always)
private func needsEscape(_ byte: UInt8) -> Bool {
    byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
}

/// Appends `string` as a quoted JSON string.
func appendJSONString(_ string: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    let handled: Void? = string.utf8.withContiguousStorageIfAvailable { buffer in
        appendEscaped(buffer, to: &out)
    }
    if handled == nil {
        var copy = string
        copy.withUTF8 { appendEscaped($0, to: &out) }
    }
    out.append(UInt8(ascii: "\""))
}

/// True if any of the 8 bytes is a control character, `"` or `\` (exact, branch-free SWAR test).
@inline(__always)
private func chunkNeedsEscape(_ x: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let quote = x ^ (ones &* 0x22)
    let backslash = x ^ (ones &* 0x5C)
    let control = (x &- ones &* 0x20) & ~x
    let quotes = (quote &- ones) & ~quote
    let backslashes = (backslash &- ones) & ~backslash
    return (control | quotes | backslashes) & 0x8080_8080_8080_8080 != 0
}

private func appendEscaped(_ buffer: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
    var runStart = 0
    var i = 0
    let count = buffer.count
    guard let base = buffer.baseAddress else { return }
    while i < count {
        if i + 8 <= count && !chunkNeedsEscape(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
            i += 8
            continue
        }
        let byte = buffer[i]
        if needsEscape(byte) {
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<i])) }
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                out.append(contentsOf: "u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
            runStart = i + 1
        }
        i += 1
    }
    if runStart < count { out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<count])) }
}
