import HTTPTypes
import JSONSchema

/// A job's request headers as the store keeps them: `[["name","value"], ...]`, credentials left out.
enum StoredHeaders {
    /// Never written to disk.
    static let credentials: Set<HTTPField.Name> = [.authorization, .proxyAuthorization, .cookie, HTTPField.Name("X-API-Key")!]

    /// The most header bytes (names and values) a job keeps; the headers past it are left out.
    static let maximumBytes = 8192

    /// `headers` without the ones past ``maximumBytes``, in order.
    static func bounded(_ headers: HTTPFields) -> HTTPFields {
        var total = 0
        var kept = HTTPFields()
        for field in headers {
            total += field.name.rawName.utf8.count + field.value.utf8.count
            guard total <= maximumBytes else { break }
            kept.append(field)
        }
        return kept
    }

    static func encode(_ headers: HTTPFields) -> String {
        JSONValue.array(
            headers.filter { !credentials.contains($0.name) }.map { .array([.string($0.name.rawName), .string($0.value)]) }
        ).serializedString()
    }

    static func decode(_ text: String) -> HTTPFields {
        var headers = HTTPFields()
        for pair in (try? JSONParser.parse(text))?.arrayValue ?? [] {
            guard let name = pair[0]?.stringValue.flatMap({ HTTPField.Name($0) }), let value = pair[1]?.stringValue else { continue }
            headers.append(HTTPField(name: name, value: value))
        }
        return headers
    }
}
