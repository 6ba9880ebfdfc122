/// Turns schema JSON into the immutable ``SchemaNode`` tree.
///
/// Subschemas are compiled recursively; `$ref`/`$dynamicRef` targets get an index in the
/// ``NodeTable`` when first referenced and are compiled after the tree (so cycles are fine).
struct SchemaCompiler {
    var registry: SchemaRegistry
    let formatAssertion: Bool
    private var rootDocument = 0
    private var cache: [SchemaLocation: SchemaNode] = [:]
    private var indices: [SchemaLocation: Int] = [:]
    private var reserved: [SchemaLocation] = []
    private var scopes: [SchemaLocation: ResourceScope?] = [:]
    private var vocabularies: [String: Vocabulary] = [:]
    private var locations: [ObjectIdentifier: SchemaLocation] = [:]

    /// Base URI of a root schema without `$id`.
    static let defaultBaseURI = "https://routehost.invalid/schema.json"

    init(registry: SchemaRegistry, formatAssertion: Bool) {
        self.registry = registry
        self.formatAssertion = formatAssertion
    }

    struct Context {
        var base: String
        var resourceRoot: SchemaLocation
        var vocabulary: Vocabulary
    }

    mutating func compileRoot(_ schema: JSONValue) throws(SchemaError) -> (SchemaNode, NodeTable) {
        var base = Self.defaultBaseURI
        if case .object(let object) = schema, case .string(let id)? = object["$id"] {
            let resolved = URIReference.resolve(id, against: base)
            if resolved.isAbsolute { base = resolved.withoutFragment.string }
        }
        rootDocument = registry.add(schema, uri: base)
        let rootLocation = SchemaLocation(document: rootDocument, pointer: [])
        let root = try node(at: rootLocation, context: try context(for: rootLocation))
        var nodes: [SchemaNode] = []
        var i = 0
        while i < reserved.count {
            let location = reserved[i]
            nodes.append(try node(at: location, context: try context(for: location)))
            i += 1
        }
        try rejectInPlaceCycles(root: root, table: nodes)
        return (root, NodeTable(nodes: nodes))
    }

    // MARK: Errors

    private func error(_ location: SchemaLocation, _ keyword: String?, _ message: String) -> SchemaError {
        var tokens = location.pointer
        if let keyword { tokens.append(keyword) }
        if location.document == rootDocument {
            return SchemaError(pointer: JSONPointer(tokens), message: message)
        }
        let uri = registry.documentURIs[location.document]
        return SchemaError(pointer: JSONPointer(tokens), message: "in \(uri): \(message)")
    }

    // MARK: Contexts

    /// The base URI, resource and vocabulary in force at `location` (for reference targets).
    private mutating func context(for location: SchemaLocation) throws(SchemaError) -> Context {
        let resourceRoot = registry.resourceRoot(of: location)
        let base = registry.resourceURIs[resourceRoot] ?? registry.documentURIs[location.document]
        var vocabulary = Vocabulary.standard
        var candidate = location
        while true {
            if case .object(let object)? = registry.value(at: candidate), let schema = object["$schema"] {
                vocabulary = try self.vocabulary(schema, at: candidate)
                break
            }
            if candidate.pointer.isEmpty { break }
            candidate.pointer.removeLast()
        }
        return Context(base: base, resourceRoot: resourceRoot, vocabulary: vocabulary)
    }

    private mutating func childContext(_ parent: Context, _ location: SchemaLocation, _ value: JSONValue) throws(SchemaError) -> Context {
        guard case .object(let object) = value else { return parent }
        var context = parent
        if let uri = registry.resourceURIs[location] {
            context.base = uri
            context.resourceRoot = location
        }
        if let schema = object["$schema"] {
            context.vocabulary = try vocabulary(schema, at: location)
        }
        return context
    }

    /// The vocabularies declared by the meta-schema a `$schema` value names.
    private mutating func vocabulary(_ value: JSONValue, at location: SchemaLocation) throws(SchemaError) -> Vocabulary {
        guard case .string(let uri) = value else {
            throw error(location, "$schema", "'$schema' must be a string")
        }
        let reference = URIReference(uri)
        guard reference.isAbsolute, reference.fragment?.isEmpty ?? true else {
            throw error(location, "$schema", "'$schema' must be an absolute URI, not \(pythonRepr(string: uri))")
        }
        let key = reference.withoutFragment.string
        if let known = vocabularies[key] { return known }
        guard let metaLocation = registry.resources[key], case .object(let meta)? = registry.value(at: metaLocation) else {
            throw error(location, "$schema", "unknown or unsupported $schema \(pythonRepr(string: uri)) (only draft 2020-12 and registered meta-schemas are supported)")
        }
        var result = Vocabulary.standard
        if case .object(let declared)? = meta["$vocabulary"] {
            result = []
            for (vocabularyURI, required) in declared {
                if let known = Vocabulary.byURI[vocabularyURI] {
                    result.insert(known)
                } else if required == .bool(true) {
                    throw error(location, "$schema", "the meta-schema \(pythonRepr(string: uri)) requires the unsupported vocabulary \(pythonRepr(string: vocabularyURI))")
                }
            }
        }
        vocabularies[key] = result
        return result
    }

    // MARK: References

    private mutating func index(for location: SchemaLocation) -> Int {
        if let index = indices[location] { return index }
        let index = reserved.count
        reserved.append(location)
        indices[location] = index
        return index
    }

    private mutating func scope(for resourceRoot: SchemaLocation) -> ResourceScope? {
        if let scope = scopes[resourceRoot] { return scope }
        var scope: ResourceScope?
        if let uri = registry.resourceURIs[resourceRoot], let anchors = registry.dynamicAnchors[uri], !anchors.isEmpty {
            var table: [String: Int] = [:]
            for (name, location) in anchors { table[name] = index(for: location) }
            scope = ResourceScope(uri: uri, anchors: table)
        }
        scopes[resourceRoot] = scope
        return scope
    }

    /// Resolves a `$ref`/`$dynamicRef` value to a location (and the anchor name, if the fragment is one).
    private func resolve(_ reference: String, base: String, at location: SchemaLocation, keyword: String) throws(SchemaError) -> (SchemaLocation, resource: String, anchor: String?) {
        let uri = URIReference.resolve(reference, against: base)
        let resource = uri.withoutFragment.string
        let fragment = uri.fragment ?? ""
        func unresolvable(_ detail: String) -> SchemaError {
            error(location, keyword, "cannot resolve \(pythonRepr(string: reference)): \(detail)")
        }
        guard let root = registry.resources[resource] else {
            throw unresolvable("no schema is registered as '\(resource)'")
        }
        if fragment.isEmpty { return (root, resource, nil) }
        if fragment.hasPrefix("/") {
            guard let pointer = try? JSONPointer(parsing: percentDecoded(fragment)) else {
                throw unresolvable("'#\(fragment)' is not a valid JSON pointer")
            }
            let target = SchemaLocation(document: root.document, pointer: root.pointer + pointer.tokens)
            guard registry.value(at: target) != nil else {
                throw unresolvable("'\(resource)' has nothing at '\(pointer)'")
            }
            return (target, resource, nil)
        }
        let name = percentDecoded(fragment)
        guard let target = registry.anchors[resource + "#" + name] else {
            throw unresolvable("'\(resource)' has no anchor '\(name)'")
        }
        return (target, resource, name)
    }

    // MARK: Nodes

    mutating func node(at location: SchemaLocation, context: Context) throws(SchemaError) -> SchemaNode {
        if let cached = cache[location] { return cached }
        guard let value = registry.value(at: location) else {
            throw error(location, nil, "no schema at this location")
        }
        let node: SchemaNode
        switch value {
        case .bool(let flag):
            node = SchemaNode(keywords: [], isFalse: !flag, scope: nil, ownsAnnotations: false, source: value)
        case .object(let object):
            node = try compileObject(object, source: value, at: location, context: context)
        default:
            throw error(location, nil, "a schema must be an object or a boolean, not \(value.typeName == "integer" ? "a number" : "\(article(value.typeName)) \(value.typeName)")")
        }
        cache[location] = node
        locations[ObjectIdentifier(node)] = location
        return node
    }

    /// Rejects schemas that can apply themselves to the same instance forever (`{"$ref": "#"}`),
    /// following `$ref`, `$dynamicRef` (to every same-named `$dynamicAnchor`) and the in-place
    /// applicators, which would otherwise recurse without end during validation.
    private func rejectInPlaceCycles(root: SchemaNode, table: [SchemaNode]) throws(SchemaError) {
        var dynamicTargets: [String: [Int]] = [:]
        for case let scope? in scopes.values {
            for (name, index) in scope.anchors { dynamicTargets[name, default: []].append(index) }
        }
        func successors(_ node: SchemaNode) -> [SchemaNode] {
            var result: [SchemaNode] = []
            for keyword in node.keywords {
                switch keyword {
                case let ref as RefKeyword: result.append(table[ref.index])
                case let ref as DynamicRefKeyword:
                    result.append(table[ref.staticIndex])
                    result += (dynamicTargets[ref.name] ?? []).map { table[$0] }
                case let k as AllOfKeyword: result += k.nodes
                case let k as AnyOfKeyword: result += k.nodes
                case let k as OneOfKeyword: result += k.nodes
                case let k as NotKeyword: result.append(k.node)
                case let k as ConditionalKeyword: result += [k.condition, k.then, k.otherwise].compactMap { $0 }
                case let k as DependentSchemasKeyword: result += k.dependencies.map(\.node)
                default: break
                }
            }
            return result
        }
        var state: [ObjectIdentifier: Bool] = [:]
        func visit(_ node: SchemaNode) throws(SchemaError) {
            let id = ObjectIdentifier(node)
            if let finished = state[id] {
                guard finished else {
                    let location = locations[id] ?? SchemaLocation(document: rootDocument, pointer: [])
                    throw error(location, nil, "this schema applies itself to the same instance without end (a cycle of '$ref' or in-place applicators that never descends into the instance)")
                }
                return
            }
            state[id] = false
            for next in successors(node) { try visit(next) }
            state[id] = true
        }
        try visit(root)
        for node in table { try visit(node) }
    }

    private func article(_ word: String) -> String {
        ["a", "e", "i", "o", "u"].contains(word.first.map(String.init) ?? "") ? "an" : "a"
    }

    private mutating func subschema(_ location: SchemaLocation, _ value: JSONValue, _ parent: Context) throws(SchemaError) -> SchemaNode {
        try node(at: location, context: childContext(parent, location, value))
    }

    private mutating func compileObject(_ object: JSONObject, source: JSONValue, at location: SchemaLocation, context: Context) throws(SchemaError) -> SchemaNode {
        let vocabulary = context.vocabulary
        var keywords: [any Keyword] = []
        var trailing: [any Keyword] = []

        func singleSchema(_ keyword: String) throws(SchemaError) -> SchemaNode? {
            guard let value = object[keyword] else { return nil }
            guard value.isSchemaLike else {
                throw error(location, keyword, "'\(keyword)' must be a schema (an object or a boolean), not \(pythonRepr(value))")
            }
            return try subschema(location.appending(keyword), value, context)
        }
        func schemaArray(_ keyword: String) throws(SchemaError) -> [SchemaNode]? {
            guard let value = object[keyword] else { return nil }
            guard case .array(let elements) = value, !elements.isEmpty else {
                throw error(location, keyword, "'\(keyword)' must be a non-empty array of schemas")
            }
            var nodes: [SchemaNode] = []
            for (i, element) in elements.enumerated() {
                let elementLocation = location.appending(keyword).appending(String(i))
                guard element.isSchemaLike else {
                    throw error(elementLocation, nil, "'\(keyword)' items must be schemas (objects or booleans), not \(pythonRepr(element))")
                }
                nodes.append(try subschema(elementLocation, element, context))
            }
            return nodes
        }
        func schemaMap(_ keyword: String) throws(SchemaError) -> [(String, SchemaNode)]? {
            guard let value = object[keyword] else { return nil }
            guard case .object(let members) = value else {
                throw error(location, keyword, "'\(keyword)' must be an object whose values are schemas")
            }
            var result: [(String, SchemaNode)] = []
            for (name, member) in members {
                let memberLocation = location.appending(keyword).appending(name)
                guard member.isSchemaLike else {
                    throw error(memberLocation, nil, "'\(keyword)' values must be schemas (objects or booleans), not \(pythonRepr(member))")
                }
                result.append((name, try subschema(memberLocation, member, context)))
            }
            return result
        }
        func nonNegativeInteger(_ keyword: String) throws(SchemaError) -> Int? {
            guard let value = object[keyword] else { return nil }
            guard case .number(let n) = value, n.isInteger, JSONNumber.compare(n, JSONNumber(0)) >= 0 else {
                throw error(location, keyword, "'\(keyword)' must be a non-negative integer, not \(pythonRepr(value))")
            }
            return n.intValue ?? Int.max
        }
        func number(_ keyword: String) throws(SchemaError) -> JSONNumber? {
            guard let value = object[keyword] else { return nil }
            guard case .number(let n) = value else {
                throw error(location, keyword, "'\(keyword)' must be a number, not \(pythonRepr(value))")
            }
            return n
        }
        func uniqueStrings(_ value: JSONValue, _ errorLocation: SchemaLocation, _ keyword: String?, what: String) throws(SchemaError) -> [String] {
            guard case .array(let elements) = value else {
                throw error(errorLocation, keyword, "\(what) must be an array of strings, not \(pythonRepr(value))")
            }
            var names: [String] = []
            var seen = Set<ExactKey>()
            for element in elements {
                guard case .string(let name) = element else {
                    throw error(errorLocation, keyword, "\(what) must contain only strings, not \(pythonRepr(element))")
                }
                guard seen.insert(ExactKey(name)).inserted else {
                    throw error(errorLocation, keyword, "\(what) must not repeat \(pythonRepr(string: name))")
                }
                names.append(name)
            }
            return names
        }
        func regex(_ pattern: String, _ errorLocation: SchemaLocation, _ keyword: String?) throws(SchemaError) -> ECMARegex {
            do {
                return try ECMARegex(pattern)
            } catch {
                throw self.error(errorLocation, keyword, "\(pythonRepr(string: pattern)) is not a valid regular expression: \(error.message)")
            }
        }

        // Core vocabulary.
        if let id = object["$id"] {
            guard case .string(let text) = id else { throw error(location, "$id", "'$id' must be a string") }
            if let fragment = URIReference(text).fragment, !fragment.isEmpty {
                throw error(location, "$id", "'$id' must not contain a fragment (use '$anchor'), got \(pythonRepr(string: text))")
            }
        }
        for keyword in ["$anchor", "$dynamicAnchor"] {
            guard let value = object[keyword] else { continue }
            guard case .string(let name) = value, Self.isValidAnchor(name) else {
                throw error(location, keyword, "'\(keyword)' must be a name like 'node' (a letter or '_' followed by letters, digits, '-', '_' or '.'), not \(pythonRepr(value))")
            }
        }
        if let defs = object["$defs"] {
            guard case .object(let members) = defs else { throw error(location, "$defs", "'$defs' must be an object whose values are schemas") }
            for (name, member) in members {
                let memberLocation = location.appending("$defs").appending(name)
                guard member.isSchemaLike else {
                    throw error(memberLocation, nil, "'$defs' values must be schemas (objects or booleans), not \(pythonRepr(member))")
                }
                _ = try subschema(memberLocation, member, context)
            }
        }
        if let value = object["$ref"] {
            guard case .string(let reference) = value else { throw error(location, "$ref", "'$ref' must be a string") }
            let (target, _, _) = try resolve(reference, base: context.base, at: location, keyword: "$ref")
            keywords.append(RefKeyword(index: index(for: target)))
        }
        if let value = object["$dynamicRef"] {
            guard case .string(let reference) = value else { throw error(location, "$dynamicRef", "'$dynamicRef' must be a string") }
            let (target, resource, anchor) = try resolve(reference, base: context.base, at: location, keyword: "$dynamicRef")
            if let anchor, registry.dynamicAnchors[resource]?[anchor] != nil {
                keywords.append(DynamicRefKeyword(name: anchor, staticIndex: index(for: target)))
            } else {
                keywords.append(RefKeyword(index: index(for: target)))
            }
        }

        for (keyword, value) in object {
            switch keyword {
            // Applicator vocabulary.
            case "properties" where vocabulary.contains(.applicator):
                let members = try schemaMap(keyword)!
                keywords.append(PropertiesKeyword(names: members.map(\.0), nodes: members.map(\.1)))
            case "patternProperties" where vocabulary.contains(.applicator):
                let members = try schemaMap(keyword)!
                var patterns: [ECMARegex] = []
                for (pattern, _) in members {
                    patterns.append(try regex(pattern, location.appending(keyword).appending(pattern), nil))
                }
                keywords.append(PatternPropertiesKeyword(patterns: patterns, nodes: members.map(\.1)))
            case "additionalProperties" where vocabulary.contains(.applicator):
                let node = try singleSchema(keyword)!
                var known: [String] = []
                if case .object(let properties)? = object["properties"] { known = properties.keys }
                var patterns: [ECMARegex] = []
                if case .object(let patternProperties)? = object["patternProperties"] {
                    for pattern in patternProperties.keys {
                        patterns.append(try regex(pattern, location.appending("patternProperties").appending(pattern), nil))
                    }
                }
                keywords.append(AdditionalPropertiesKeyword(node: node, known: known, patterns: patterns))
            case "propertyNames" where vocabulary.contains(.applicator):
                keywords.append(PropertyNamesKeyword(node: try singleSchema(keyword)!))
            case "dependentSchemas" where vocabulary.contains(.applicator):
                let members = try schemaMap(keyword)!
                keywords.append(DependentSchemasKeyword(dependencies: members.map { (property: $0.0, node: $0.1) }))
            case "prefixItems" where vocabulary.contains(.applicator):
                keywords.append(PrefixItemsKeyword(nodes: try schemaArray(keyword)!))
            case "items" where vocabulary.contains(.applicator):
                let node = try singleSchema(keyword)!
                var prefixCount = 0
                if case .array(let prefix)? = object["prefixItems"] { prefixCount = prefix.count }
                keywords.append(ItemsKeyword(node: node, prefixCount: prefixCount))
            case "contains" where vocabulary.contains(.applicator):
                let node = try singleSchema(keyword)!
                var minimum = 1
                var maximum: Int?
                if vocabulary.contains(.validation) {
                    minimum = try nonNegativeInteger("minContains") ?? 1
                    maximum = try nonNegativeInteger("maxContains")
                }
                keywords.append(ContainsKeyword(node: node, minimum: minimum, maximum: maximum))
            case "allOf" where vocabulary.contains(.applicator):
                keywords.append(AllOfKeyword(nodes: try schemaArray(keyword)!))
            case "anyOf" where vocabulary.contains(.applicator):
                keywords.append(AnyOfKeyword(nodes: try schemaArray(keyword)!))
            case "oneOf" where vocabulary.contains(.applicator):
                keywords.append(OneOfKeyword(nodes: try schemaArray(keyword)!))
            case "not" where vocabulary.contains(.applicator):
                keywords.append(NotKeyword(node: try singleSchema(keyword)!))
            case "if" where vocabulary.contains(.applicator):
                let condition = try singleSchema("if")!
                keywords.append(ConditionalKeyword(condition: condition, then: try singleSchema("then"), otherwise: try singleSchema("else")))
            case "then", "else":
                if vocabulary.contains(.applicator) && object["if"] == nil { _ = try singleSchema(keyword) }

            // Unevaluated vocabulary (evaluated after every other keyword).
            case "unevaluatedProperties" where vocabulary.contains(.unevaluated):
                trailing.append(UnevaluatedPropertiesKeyword(node: try singleSchema(keyword)!))
            case "unevaluatedItems" where vocabulary.contains(.unevaluated):
                trailing.insert(UnevaluatedItemsKeyword(node: try singleSchema(keyword)!), at: 0)

            // Validation vocabulary.
            case "type" where vocabulary.contains(.validation):
                keywords.append(try typeKeyword(value, at: location))
            case "enum" where vocabulary.contains(.validation):
                guard case .array(let values) = value else {
                    throw error(location, keyword, "'enum' must be an array, not \(pythonRepr(value))")
                }
                keywords.append(EnumKeyword(values: values))
            case "const" where vocabulary.contains(.validation):
                keywords.append(ConstKeyword(value: value))
            case "multipleOf" where vocabulary.contains(.validation):
                let divisor = try number(keyword)!
                guard JSONNumber.compare(divisor, JSONNumber(0)) > 0 else {
                    throw error(location, keyword, "'multipleOf' must be greater than 0, not \(divisor)")
                }
                keywords.append(MultipleOfKeyword(divisor: divisor))
            case "minimum" where vocabulary.contains(.validation):
                keywords.append(NumberBoundKeyword(kind: .minimum, limit: try number(keyword)!))
            case "maximum" where vocabulary.contains(.validation):
                keywords.append(NumberBoundKeyword(kind: .maximum, limit: try number(keyword)!))
            case "exclusiveMinimum" where vocabulary.contains(.validation):
                keywords.append(NumberBoundKeyword(kind: .exclusiveMinimum, limit: try number(keyword)!))
            case "exclusiveMaximum" where vocabulary.contains(.validation):
                keywords.append(NumberBoundKeyword(kind: .exclusiveMaximum, limit: try number(keyword)!))
            case "minLength" where vocabulary.contains(.validation):
                keywords.append(StringLengthKeyword(limit: try nonNegativeInteger(keyword)!, isMinimum: true))
            case "maxLength" where vocabulary.contains(.validation):
                keywords.append(StringLengthKeyword(limit: try nonNegativeInteger(keyword)!, isMinimum: false))
            case "pattern" where vocabulary.contains(.validation):
                guard case .string(let pattern) = value else {
                    throw error(location, keyword, "'pattern' must be a string, not \(pythonRepr(value))")
                }
                keywords.append(PatternKeyword(regex: try regex(pattern, location, keyword)))
            case "minItems" where vocabulary.contains(.validation):
                keywords.append(ItemCountKeyword(limit: try nonNegativeInteger(keyword)!, isMinimum: true))
            case "maxItems" where vocabulary.contains(.validation):
                keywords.append(ItemCountKeyword(limit: try nonNegativeInteger(keyword)!, isMinimum: false))
            case "uniqueItems" where vocabulary.contains(.validation):
                guard case .bool(let unique) = value else {
                    throw error(location, keyword, "'uniqueItems' must be a boolean, not \(pythonRepr(value))")
                }
                if unique { keywords.append(UniqueItemsKeyword()) }
            case "minContains", "maxContains":
                if vocabulary.contains(.validation) { _ = try nonNegativeInteger(keyword) }
            case "minProperties" where vocabulary.contains(.validation):
                keywords.append(PropertyCountKeyword(limit: try nonNegativeInteger(keyword)!, isMinimum: true))
            case "maxProperties" where vocabulary.contains(.validation):
                keywords.append(PropertyCountKeyword(limit: try nonNegativeInteger(keyword)!, isMinimum: false))
            case "required" where vocabulary.contains(.validation):
                keywords.append(RequiredKeyword(names: try uniqueStrings(value, location, keyword, what: "'required'")))
            case "dependentRequired" where vocabulary.contains(.validation):
                guard case .object(let members) = value else {
                    throw error(location, keyword, "'dependentRequired' must be an object whose values are arrays of strings")
                }
                var dependencies: [(property: String, required: [String])] = []
                for (name, member) in members {
                    let names = try uniqueStrings(member, location.appending(keyword).appending(name), nil, what: "a 'dependentRequired' value")
                    dependencies.append((name, names))
                }
                keywords.append(DependentRequiredKeyword(dependencies: dependencies))

            // Format vocabularies.
            case "format":
                guard case .string(let name) = value else {
                    throw error(location, keyword, "'format' must be a string, not \(pythonRepr(value))")
                }
                if formatAssertion || vocabulary.contains(.formatAssertion), let check = FormatCheckers.checker(for: name) {
                    keywords.append(FormatKeyword(name: name, check: check))
                }
            default:
                continue
            }
        }

        let resourceScope = scope(for: context.resourceRoot)
        return SchemaNode(keywords: keywords + trailing, isFalse: false, scope: resourceScope,
                          ownsAnnotations: !trailing.isEmpty, source: .object(object))
    }

    private func typeKeyword(_ value: JSONValue, at location: SchemaLocation) throws(SchemaError) -> TypeKeyword {
        let allowed = "expected one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'"
        var names: [String] = []
        switch value {
        case .string(let name):
            names = [name]
        case .array(let elements) where !elements.isEmpty:
            for (i, element) in elements.enumerated() {
                guard case .string(let name) = element else {
                    throw error(location.appending("type").appending(String(i)), nil, "\(pythonRepr(element)) is not a valid type (\(allowed))")
                }
                guard !names.contains(name) else {
                    throw error(location.appending("type").appending(String(i)), nil, "type \(pythonRepr(string: name)) is listed twice")
                }
                names.append(name)
            }
        default:
            throw error(location, "type", "\(pythonRepr(value)) is not a valid type (\(allowed))")
        }
        var types: TypeKeyword.Types = []
        for (i, name) in names.enumerated() {
            guard let type = TypeKeyword.Types.byName[name] else {
                let at = value.arrayValue == nil ? location : location.appending("type")
                throw error(at, value.arrayValue == nil ? "type" : String(i), "\(pythonRepr(string: name)) is not a valid type (\(allowed))")
            }
            types.insert(type)
        }
        return TypeKeyword(types: types, names: names)
    }

    static func isValidAnchor(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" else {
            return false
        }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == ".")
        }
    }
}

extension JSONValue {
    var isSchemaLike: Bool {
        switch self {
        case .object, .bool: return true
        default: return false
        }
    }
}
