/// Expands `${VAR}` and `${VAR:-default}` in manifest config strings; `$$` writes a literal `$`.
enum EnvironmentInterpolation {
    enum Failure: Error, Equatable {
        case unset(String)
        case unterminated
        case invalidName(String)
    }

    static func expand(_ text: String, environment: EnvironmentValues) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                result.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                result.append("$")
                index = text.index(after: next)
                continue
            }
            guard text[next] == "{" else {
                result.append(character)
                index = next
                continue
            }
            guard let close = text[next...].firstIndex(of: "}") else { throw .unterminated }
            let body = text[text.index(after: next)..<close]
            let name: Substring
            let fallback: Substring?
            if let separator = body.range(of: ":-") {
                name = body[..<separator.lowerBound]
                fallback = body[separator.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            guard let first = name.first, first == "_" || first.isLetter,
                name.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber })
            else { throw .invalidName(String(name)) }
            if let value = environment.string(String(name)) {
                result += value
            } else if let fallback {
                result += fallback
            } else {
                throw .unset(String(name))
            }
            index = text.index(after: close)
        }
        return result
    }
}
