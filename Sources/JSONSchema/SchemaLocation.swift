/// Where a subschema sits in a schema document.
struct SchemaLocation: Hashable, Sendable {
    var document: Int
    var pointer: [String]

    func appending(_ token: String) -> SchemaLocation {
        var copy = self
        copy.pointer.append(token)
        return copy
    }
}
