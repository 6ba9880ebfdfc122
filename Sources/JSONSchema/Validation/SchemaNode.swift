/// A compiled (sub)schema: a boolean schema or an ordered list of keywords.
final class SchemaNode: Sendable {
    let keywords: [any Keyword]
    let isFalse: Bool
    /// Set when the node's schema resource has `$dynamicAnchor`s: entering the node enters the scope.
    let scope: ResourceScope?
    /// True if the node has `unevaluatedProperties`/`unevaluatedItems` and so evaluates its
    /// siblings with fresh annotations.
    let ownsAnnotations: Bool
    /// The source schema, used only to render messages (`not`, `oneOf`).
    let source: JSONValue

    init(keywords: [any Keyword], isFalse: Bool, scope: ResourceScope?, ownsAnnotations: Bool, source: JSONValue) {
        self.keywords = keywords
        self.isFalse = isFalse
        self.scope = scope
        self.ownsAnnotations = ownsAnnotations
        self.source = source
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        if isFalse {
            if context.collect {
                context.report("false", "False schema does not allow \(pythonRepr(instance))", appendKeyword: false)
            }
            return false
        }
        if keywords.isEmpty { return true }
        guard context.depth < ValidationContext.maxDepth else {
            if context.collect {
                context.report("$ref", "schema evaluation is nested deeper than \(ValidationContext.maxDepth) levels (a reference cycle that never descends into the instance?)", appendKeyword: false)
            }
            return false
        }
        context.depth += 1
        defer { context.depth -= 1 }
        var entered = false
        if let scope, context.dynamicScope.last !== scope {
            context.dynamicScope.append(scope)
            entered = true
        }
        defer { if entered { context.dynamicScope.removeLast() } }
        if ownsAnnotations {
            var local: Annotations? = Annotations()
            let valid = run(instance, &context, &local)
            if valid, annotations != nil { annotations!.merge(local!) }
            return valid
        }
        return run(instance, &context, &annotations)
    }

    @inline(__always)
    private func run(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        var valid = true
        for keyword in keywords where !keyword.validate(instance, &context, &annotations) {
            valid = false
            if !context.collect { return false }
        }
        return valid
    }
}
