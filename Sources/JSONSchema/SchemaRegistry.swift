/// Schema documents that `$ref`, `$dynamicRef` and `$schema` can name by URI.
///
/// Nothing is ever fetched over the network: a reference resolves only to a document registered
/// here (or to the schema being compiled). A new registry already holds the draft 2020-12
/// meta-schema and its vocabulary meta-schemas under their `$id`s.
///
/// Registering a document also indexes every embedded resource (`$id`), `$anchor` and
/// `$dynamicAnchor` found at schema positions (not inside `enum`, `const` or unknown keywords).
/// Registering a URI again replaces the earlier document.
public struct SchemaRegistry: Sendable {
    var documents: [JSONValue] = []
    var documentURIs: [String] = []
    /// Absolute URI (without fragment) of each resource -> its root.
    var resources: [String: SchemaLocation] = [:]
    /// Resource roots -> their URI.
    var resourceURIs: [SchemaLocation: String] = [:]
    /// "uri#name" for `$anchor` and `$dynamicAnchor` -> location.
    var anchors: [String: SchemaLocation] = [:]
    /// Resource URI -> `$dynamicAnchor` names in that resource -> location.
    var dynamicAnchors: [String: [String: SchemaLocation]] = [:]

    /// A registry holding the draft 2020-12 meta-schemas.
    public init() {
        self = Self.standard
    }

    private init(empty: Void) {}

    private static let standard: SchemaRegistry = {
        var registry = SchemaRegistry(empty: ())
        for (uri, text) in MetaSchemas.all {
            do {
                try registry.register(JSONParser.parse(text), uri: uri)
            } catch {
                preconditionFailure("embedded meta-schema \(uri) is invalid: \(error)")
            }
        }
        return registry
    }()

    /// Registers `document` under the absolute URI `uri` (its root `$id`, if any, is registered
    /// too). Throws if `uri` is not absolute or has a non-empty fragment.
    public mutating func register(_ document: JSONValue, uri: String) throws(SchemaError) {
        let reference = URIReference(uri)
        guard reference.isAbsolute, reference.fragment?.isEmpty ?? true else {
            throw SchemaError(pointer: JSONPointer(), message: "cannot register a schema under '\(uri)' (expected an absolute URI without fragment)")
        }
        _ = add(document, uri: reference.withoutFragment.string)
    }

    /// Adds a document and returns its index.
    mutating func add(_ document: JSONValue, uri: String) -> Int {
        let index = documents.count
        documents.append(document)
        documentURIs.append(uri)
        let root = SchemaLocation(document: index, pointer: [])
        resources[uri] = root
        resourceURIs[root] = uri
        indexResources(document, location: root, base: uri)
        return index
    }

    private mutating func indexResources(_ value: JSONValue, location: SchemaLocation, base: String) {
        guard case .object(let object) = value else { return }
        var base = base
        if case .string(let id)? = object["$id"] {
            let resolved = URIReference.resolve(id, against: base)
            if resolved.fragment?.isEmpty ?? true {
                base = resolved.withoutFragment.string
                resources[base] = location
                resourceURIs[location] = base
            }
        }
        if case .string(let name)? = object["$anchor"] {
            anchors[base + "#" + name] = location
        }
        if case .string(let name)? = object["$dynamicAnchor"] {
            anchors[base + "#" + name] = location
            dynamicAnchors[base, default: [:]][name] = location
        }
        for (key, child) in object {
            switch SubschemaKind.of(key) {
            case .single:
                indexResources(child, location: location.appending(key), base: base)
            case .map:
                guard case .object(let members) = child else { continue }
                for (name, member) in members {
                    indexResources(member, location: location.appending(key).appending(name), base: base)
                }
            case .array:
                guard case .array(let elements) = child else { continue }
                for (i, element) in elements.enumerated() {
                    indexResources(element, location: location.appending(key).appending(String(i)), base: base)
                }
            case nil:
                continue
            }
        }
    }

    /// The value at `location`.
    func value(at location: SchemaLocation) -> JSONValue? {
        JSONPointer(location.pointer).resolve(in: documents[location.document])
    }

    /// The innermost resource root enclosing `location` (possibly `location` itself).
    func resourceRoot(of location: SchemaLocation) -> SchemaLocation {
        var candidate = location
        while true {
            if resourceURIs[candidate] != nil { return candidate }
            if candidate.pointer.isEmpty { return candidate }
            candidate.pointer.removeLast()
        }
    }
}
