/// Renders values the way Python's `repr` shows the equivalent Python objects, for error messages
/// compatible with the Python `jsonschema` library: `'text'`, `True`, `None`, `[1, 'a']`, `{'a': 1}`.
///
/// Unlike Python, renderings longer than `limit` UTF-8 bytes are cut and end with `...`, so that a
/// huge instance cannot produce a huge message.
func pythonRepr(_ value: JSONValue, limit: Int = 300) -> String {
    var out = ""
    appendPythonRepr(value, to: &out, limit: limit)
    if out.utf8.count > limit {
        var cut = ""
        for character in out {
            if cut.utf8.count + character.utf8.count > limit { break }
            cut.append(character)
        }
        return cut + "..."
    }
    return out
}

func appendPythonRepr(_ value: JSONValue, to out: inout String, limit: Int = .max) {
    if out.utf8.count > limit { return }
    switch value {
    case .null: out += "None"
    case .bool(let b): out += b ? "True" : "False"
    case .number(let n): out += n.description
    case .string(let s): out += pythonRepr(string: s)
    case .array(let array):
        out += "["
        for (i, element) in array.enumerated() {
            if out.utf8.count > limit { return }
            if i > 0 { out += ", " }
            appendPythonRepr(element, to: &out, limit: limit)
        }
        out += "]"
    case .object(let object):
        out += "{"
        for (i, member) in object.enumerated() {
            if out.utf8.count > limit { return }
            if i > 0 { out += ", " }
            out += pythonRepr(string: member.key)
            out += ": "
            appendPythonRepr(member.value, to: &out, limit: limit)
        }
        out += "}"
    }
}

/// Python `repr(str)`: single quotes unless the text contains `'` but no `"`. Texts longer than
/// `limit` bytes are cut (the rendering then ends with `...` after the closing quote).
func pythonRepr(string: String, limit: Int = 300) -> String {
    if string.utf8.count > limit {
        var cut = ""
        for character in string {
            if cut.utf8.count + character.utf8.count > limit { break }
            cut.append(character)
        }
        return pythonRepr(string: cut, limit: limit) + "..."
    }
    if let quote = plainQuote(string) { return concatenated("", string, quote: quote, "") }
    let useDouble = string.utf8.contains(UInt8(ascii: "'")) && !string.utf8.contains(UInt8(ascii: "\""))
    let quote: Character = useDouble ? "\"" : "'"
    var out = String(quote)
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "'" where !useDouble: out += "\\'"
        default:
            if scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0) {
                out += "\\x" + String(hex4(scalar.value).suffix(2)).lowercased()
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out.append(quote)
    return out
}

/// The quote Python's `repr` puts around `string` when the text in between is `string` unchanged
/// (no escapes needed), or nil.
@inline(__always)
private func plainQuote(_ string: String) -> UInt8? {
    var hasSingle = false
    var hasDouble = false
    for byte in string.utf8 {
        switch byte {
        case UInt8(ascii: "'"): hasSingle = true
        case UInt8(ascii: "\""): hasDouble = true
        case UInt8(ascii: "\\"), 0..<0x20, 0x7F...: return nil
        default: break
        }
    }
    if hasSingle && hasDouble { return nil }
    return hasSingle ? UInt8(ascii: "\"") : UInt8(ascii: "'")
}

/// `pythonRepr(value)` followed by `suffix`: "42 is not of type 'string'".
func reprMessage(_ value: JSONValue, _ suffix: String) -> String {
    if case .string(let string) = value, string.utf8.count <= 298, let quote = plainQuote(string) {
        return concatenated("", string, quote: quote, suffix)
    }
    return concatenated("", pythonRepr(value), quote: nil, suffix)
}

/// `prefix`, `pythonRepr(string: string)`, then `suffix`: "'url' is a required property".
func reprMessage(_ prefix: String = "", string: String, _ suffix: String) -> String {
    if string.utf8.count <= 300, let quote = plainQuote(string) {
        return concatenated(prefix, string, quote: quote, suffix)
    }
    return concatenated(prefix, pythonRepr(string: string), quote: nil, suffix)
}

/// `head`, then `text` (between two `quote`s if one is given), then `tail`, built in one buffer.
private func concatenated(_ head: String, _ text: String, quote: UInt8?, _ tail: String) -> String {
    var head = head
    var text = text
    var tail = tail
    let total = head.utf8.count + text.utf8.count + (quote == nil ? 0 : 2) + tail.utf8.count
    return head.withUTF8 { head in
        text.withUTF8 { text in
            tail.withUTF8 { tail in
                String(unsafeUninitializedCapacity: total) { buffer in
                    var end = 0
                    func put(_ part: UnsafeBufferPointer<UInt8>) {
                        guard let base = part.baseAddress, !part.isEmpty else { return }
                        (buffer.baseAddress! + end).update(from: base, count: part.count)
                        end += part.count
                    }
                    put(head)
                    if let quote {
                        buffer[end] = quote
                        end += 1
                    }
                    put(text)
                    if let quote {
                        buffer[end] = quote
                        end += 1
                    }
                    put(tail)
                    return end
                }
            }
        }
    }
}
