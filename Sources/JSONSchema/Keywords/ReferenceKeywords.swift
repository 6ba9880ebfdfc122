/// `$ref`: applies the referenced schema (resolved at compile time) to the same instance.
struct RefKeyword: Keyword {
    let index: Int

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        context.descend(context.table.nodes[index], instance, keyword: "$ref", annotations: &annotations)
    }
}

/// `$dynamicRef` whose static target is a `$dynamicAnchor`: the outermost resource in the dynamic
/// scope that has a `$dynamicAnchor` of the same name wins; otherwise the static target applies.
struct DynamicRefKeyword: Keyword {
    let name: String
    let staticIndex: Int

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        var target = staticIndex
        for scope in context.dynamicScope {
            if let index = scope.anchors[name] {
                target = index
                break
            }
        }
        return context.descend(context.table.nodes[target], instance, keyword: "$dynamicRef", annotations: &annotations)
    }
}
