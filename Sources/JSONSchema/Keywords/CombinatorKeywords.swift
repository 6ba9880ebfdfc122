/// `allOf`: every subschema must hold.
final class AllOfKeyword: Keyword {
    let nodes: [SchemaNode]

    init(nodes: [SchemaNode]) {
        self.nodes = nodes
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        var valid = true
        for (i, node) in nodes.enumerated()
        where !context.descend(node, instance, keyword: "allOf", childIndex: i, annotations: &annotations) {
            valid = false
            if !context.collect { return false }
        }
        return valid
    }
}

/// `anyOf`: at least one subschema must hold (all are evaluated when annotations are tracked).
final class AnyOfKeyword: Keyword {
    let nodes: [SchemaNode]

    init(nodes: [SchemaNode]) {
        self.nodes = nodes
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        var valid = false
        if annotations == nil {
            var none: Annotations? = nil
            for node in nodes where context.probe(node, instance, annotations: &none) { return true }
        } else {
            for node in nodes {
                var local: Annotations? = Annotations()
                if context.probe(node, instance, annotations: &local) {
                    valid = true
                    annotations!.merge(local!)
                }
            }
        }
        if !valid && context.collect {
            context.report("anyOf", "\(pythonRepr(instance)) is not valid under any of the given schemas")
        }
        return valid
    }
}

/// `oneOf`: exactly one subschema must hold.
final class OneOfKeyword: Keyword {
    let nodes: [SchemaNode]

    init(nodes: [SchemaNode]) {
        self.nodes = nodes
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        var matching: [Int] = []
        var chosen: Annotations? = nil
        for (i, node) in nodes.enumerated() {
            var local: Annotations? = annotations == nil ? nil : Annotations()
            if context.probe(node, instance, annotations: &local) {
                matching.append(i)
                if matching.count == 1 {
                    chosen = local
                } else if !context.collect {
                    return false
                }
            }
        }
        if matching.count == 1 {
            if let chosen, annotations != nil { annotations!.merge(chosen) }
            return true
        }
        if context.collect {
            if matching.isEmpty {
                context.report("oneOf", "\(pythonRepr(instance)) is not valid under any of the given schemas")
            } else {
                let order = matching.dropFirst() + [matching[0]]
                let reprs = order.map { pythonRepr(nodes[$0].source) }.joined(separator: ", ")
                context.report("oneOf", "\(pythonRepr(instance)) is valid under each of \(reprs)")
            }
        }
        return false
    }
}

/// `not`: the subschema must fail (its annotations are always dropped).
final class NotKeyword: Keyword {
    let node: SchemaNode

    init(node: SchemaNode) {
        self.node = node
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        var none: Annotations? = nil
        guard context.probe(node, instance, annotations: &none) else { return true }
        if context.collect {
            context.report("not", "\(pythonRepr(instance)) should not be valid under \(pythonRepr(node.source))")
        }
        return false
    }
}

/// `if` / `then` / `else`.
final class ConditionalKeyword: Keyword {
    let condition: SchemaNode
    let then: SchemaNode?
    let otherwise: SchemaNode?

    init(condition: SchemaNode, then: SchemaNode?, otherwise: SchemaNode?) {
        self.condition = condition
        self.then = then
        self.otherwise = otherwise
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        var local: Annotations? = annotations == nil ? nil : Annotations()
        if context.probe(condition, instance, annotations: &local) {
            if let local, annotations != nil { annotations!.merge(local) }
            guard let then else { return true }
            return context.descend(then, instance, keyword: "then", annotations: &annotations)
        }
        guard let otherwise else { return true }
        return context.descend(otherwise, instance, keyword: "else", annotations: &annotations)
    }
}
