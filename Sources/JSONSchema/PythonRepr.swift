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
    var hasSingle = false
    var hasDouble = false
    var plain = true
    for byte in string.utf8 {
        switch byte {
        case UInt8(ascii: "'"): hasSingle = true
        case UInt8(ascii: "\""): hasDouble = true
        case UInt8(ascii: "\\"), 0..<0x20, 0x7F...: plain = false
        default: break
        }
    }
    let useDouble = hasSingle && !hasDouble
    if plain && !(hasSingle && hasDouble) {
        return useDouble ? "\"" + string + "\"" : "'" + string + "'"
    }
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
