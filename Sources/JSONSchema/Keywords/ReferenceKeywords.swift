/// `$ref`: applies the referenced schema (resolved at compile time) to the same instance.
final class RefKeyword: Keyword {
    let index: Int

    init(index: Int) {
        self.index = index
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        context.descend(context.table.nodes[index], instance, keyword: "$ref", annotations: &annotations)
    }
}

/// `$dynamicRef` whose static target is a `$dynamicAnchor`: the outermost resource in the dynamic
/// scope that has a `$dynamicAnchor` of the same name wins; otherwise the static target applies.
final class DynamicRefKeyword: Keyword {
    let name: String
    let staticIndex: Int

    init(name: String, staticIndex: Int) {
        self.name = name
        self.staticIndex = staticIndex
    }

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
