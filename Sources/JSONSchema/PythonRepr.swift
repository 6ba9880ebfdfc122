/// Renders values the way Python's `repr` shows the equivalent Python objects, for error messages
/// compatible with the Python `jsonschema` library: `'text'`, `True`, `None`, `[1, 'a']`, `{'a': 1}`.
func pythonRepr(_ value: JSONValue) -> String {
    var out = ""
    appendPythonRepr(value, to: &out)
    return out
}

func appendPythonRepr(_ value: JSONValue, to out: inout String) {
    switch value {
    case .null: out += "None"
    case .bool(let b): out += b ? "True" : "False"
    case .number(let n): out += n.description
    case .string(let s): out += pythonRepr(string: s)
    case .array(let array):
        out += "["
        for (i, element) in array.enumerated() {
            if i > 0 { out += ", " }
            appendPythonRepr(element, to: &out)
        }
        out += "]"
    case .object(let object):
        out += "{"
        for (i, member) in object.enumerated() {
            if i > 0 { out += ", " }
            out += pythonRepr(string: member.key)
            out += ": "
            appendPythonRepr(member.value, to: &out)
        }
        out += "}"
    }
}

/// Python `repr(str)`: single quotes unless the text contains `'` but no `"`.
func pythonRepr(string: String) -> String {
    let useDouble = string.contains("'") && !string.contains("\"")
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
