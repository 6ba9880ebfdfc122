/// Mutable state of one validation run (never shared between runs).
struct ValidationContext {
    let table: NodeTable
    /// True when building errors (``Schema/validate(_:)``); false for the ``Schema/isValid(_:)`` fast path.
    let collect: Bool
    var errors: [ValidationError] = []
    /// Schema resources with `$dynamicAnchor`s entered so far, outermost first.
    var dynamicScope: [ResourceScope] = []
    /// Nesting of schema nodes being evaluated; evaluation fails beyond ``maxDepth`` instead of
    /// exhausting the stack (an instance nested 512 deep in a recursive schema uses about 1,500).
    var depth = 0
    static let maxDepth = 2_000
    /// Only maintained when `collect` is true.
    var instancePath: [String] = []
    /// Evaluation path of the current schema (through `$ref`), only maintained when `collect` is true.
    var schemaPath: [String] = []

    init(table: NodeTable, collect: Bool) {
        self.table = table
        self.collect = collect
        if collect {
            instancePath.reserveCapacity(8)
            schemaPath.reserveCapacity(16)
        }
    }

    /// Records an error for `keyword` at the current instance location (plus `instanceToken`).
    mutating func report(_ keyword: String, _ message: String, instanceToken: String? = nil, appendKeyword: Bool = true) {
        if errors.capacity == 0 { errors.reserveCapacity(4) }
        errors.append(ValidationError(instanceLocation: JSONPointer(Self.copy(instancePath, appending: instanceToken)),
                                      schemaLocation: JSONPointer(Self.copy(schemaPath, appending: appendKeyword ? keyword : nil)),
                                      keyword: keyword, message: message))
    }

    /// A copy of `path` (plus `token`) in its own buffer of exactly the right size, so that the
    /// context's path stays uniquely referenced and is not copied on its next change.
    private static func copy(_ path: [String], appending token: String?) -> [String] {
        let count = path.count + (token == nil ? 0 : 1)
        if count == 0 { return [] }
        var result: [String] = []
        result.reserveCapacity(count)
        for element in path { result.append(element) }
        if let token { result.append(token) }
        return result
    }

    /// Validates `instance` against `node`. In collect mode the instance path grows by `member` or
    /// `index`, and the schema path by `keyword` and then `child` or `childIndex`.
    @inline(__always)
    mutating func descend(_ node: SchemaNode, _ instance: JSONValue, member: String? = nil, index: Int? = nil,
                          keyword: String, child: String? = nil, childIndex: Int? = nil,
                          annotations: inout Annotations?) -> Bool {
        guard collect else { return node.validate(instance, &self, &annotations) }
        let instanceToken = member ?? index.map { String($0) }
        let childToken = child ?? childIndex.map { String($0) }
        if let instanceToken { instancePath.append(instanceToken) }
        schemaPath.append(keyword)
        if let childToken { schemaPath.append(childToken) }
        let valid = node.validate(instance, &self, &annotations)
        if instanceToken != nil { instancePath.removeLast() }
        if childToken != nil { schemaPath.removeLast() }
        schemaPath.removeLast()
        return valid
    }

    /// Same as ``descend(_:_:member:index:keyword:child:childIndex:annotations:)`` without annotations.
    @inline(__always)
    mutating func descend(_ node: SchemaNode, _ instance: JSONValue, member: String? = nil, index: Int? = nil,
                          keyword: String, child: String? = nil, childIndex: Int? = nil) -> Bool {
        var none: Annotations? = nil
        return descend(node, instance, member: member, index: index, keyword: keyword, child: child,
                       childIndex: childIndex, annotations: &none)
    }

    /// Runs `node` on `instance` as a yes/no question: no errors are recorded, whatever the mode.
    mutating func probe(_ node: SchemaNode, _ instance: JSONValue, annotations: inout Annotations?) -> Bool {
        guard collect else { return node.validate(instance, &self, &annotations) }
        var quiet = ValidationContext(table: table, collect: false)
        quiet.dynamicScope = dynamicScope
        quiet.depth = depth
        return node.validate(instance, &quiet, &annotations)
    }
}
