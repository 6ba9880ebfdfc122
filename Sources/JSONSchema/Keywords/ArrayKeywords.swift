/// `prefixItems`.
final class PrefixItemsKeyword: Keyword {
    let nodes: [SchemaNode]

    init(nodes: [SchemaNode]) {
        self.nodes = nodes
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .array(let array) = instance else { return true }
        let count = min(array.count, nodes.count)
        annotations?.items.insert(upTo: count)
        var valid = true
        for i in 0..<count where !context.descend(nodes[i], array[i], index: i, keyword: "prefixItems", childIndex: i) {
            valid = false
            if !context.collect { return false }
        }
        return valid
    }
}

/// `items`: elements after those covered by a sibling `prefixItems`.
final class ItemsKeyword: Keyword {
    let node: SchemaNode
    let prefixCount: Int

    init(node: SchemaNode, prefixCount: Int) {
        self.node = node
        self.prefixCount = prefixCount
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .array(let array) = instance, array.count > prefixCount else { return true }
        annotations?.items.all = true
        if node.isFalse {
            if context.collect {
                let extra = array.count - prefixCount
                let rest: JSONValue = extra == 1 ? array[prefixCount] : .array(Array(array[prefixCount...]))
                context.report("items", "Expected at most \(prefixCount) \(prefixCount == 1 ? "item" : "items") but found \(extra) extra: \(pythonRepr(rest))")
            }
            return false
        }
        var valid = true
        for i in prefixCount..<array.count where !context.descend(node, array[i], index: i, keyword: "items") {
            valid = false
            if !context.collect { return false }
        }
        return valid
    }
}

/// `contains` with its sibling `minContains` (default 1) and `maxContains`.
final class ContainsKeyword: Keyword {
    let node: SchemaNode
    let minimum: Int
    let maximum: Int?

    init(node: SchemaNode, minimum: Int, maximum: Int?) {
        self.node = node
        self.minimum = minimum
        self.maximum = maximum
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .array(let array) = instance else { return true }
        var matches = 0
        let tracking = annotations != nil
        for (i, element) in array.enumerated() {
            var none: Annotations? = nil
            guard context.probe(node, element, annotations: &none) else { continue }
            matches += 1
            if tracking { annotations!.items.insert(i) }
            if !tracking && !context.collect {
                if let maximum {
                    if matches > maximum { return false }
                } else if matches >= minimum {
                    return true
                }
            }
        }
        if matches < minimum {
            if context.collect {
                if matches == 0 {
                    context.report("contains", "\(pythonRepr(instance)) does not contain items matching the given schema")
                } else {
                    context.report("minContains", "Too few items match the given schema (expected at least \(minimum) but only \(matches) matched)")
                }
            }
            return false
        }
        if let maximum, matches > maximum {
            if context.collect {
                context.report("maxContains", "Too many items match the given schema (expected at most \(maximum))")
            }
            return false
        }
        return true
    }
}

/// `minItems` / `maxItems`.
final class ItemCountKeyword: Keyword {
    let limit: Int
    let isMinimum: Bool

    init(limit: Int, isMinimum: Bool) {
        self.limit = limit
        self.isMinimum = isMinimum
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .array(let array) = instance else { return true }
        if isMinimum ? array.count >= limit : array.count <= limit { return true }
        if context.collect {
            let message = isMinimum
                ? (limit == 1 ? "should be non-empty" : "is too short")
                : (limit == 0 ? "is expected to be empty" : "is too long")
            context.report(isMinimum ? "minItems" : "maxItems", "\(pythonRepr(instance)) \(message)")
        }
        return false
    }
}

/// `uniqueItems: true` (JSON Schema equality: `1` and `1.0` are duplicates, key order is ignored).
final class UniqueItemsKeyword: Keyword {
    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .array(let array) = instance, array.count > 1 else { return true }
        var unique = true
        if array.count <= 16 {
            outer: for i in 1..<array.count {
                for j in 0..<i where array[i] == array[j] {
                    unique = false
                    break outer
                }
            }
        } else {
            var seen = Set<JSONValue>(minimumCapacity: array.count)
            for element in array where !seen.insert(element).inserted {
                unique = false
                break
            }
        }
        if !unique && context.collect {
            context.report("uniqueItems", "\(pythonRepr(instance)) has non-unique elements")
        }
        return unique
    }
}

/// `unevaluatedItems`: elements no adjacent or in-place keyword evaluated successfully.
final class UnevaluatedItemsKeyword: Keyword {
    let node: SchemaNode

    init(node: SchemaNode) {
        self.node = node
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .array(let array) = instance else { return true }
        let evaluated = annotations?.items ?? EvaluatedSet()
        var failed: [Int] = []
        for (i, element) in array.enumerated() where !evaluated.contains(i) {
            var none: Annotations? = nil
            if node.isFalse || !context.probe(node, element, annotations: &none) {
                if !context.collect { return false }
                failed.append(i)
            }
        }
        annotations?.items.all = true
        guard !failed.isEmpty else { return true }
        let joined = failed.map { pythonRepr(array[$0]) }.joined(separator: ", ")
        let verb = failed.count == 1 ? "was" : "were"
        let message = node.isFalse
            ? "Unevaluated items are not allowed (\(joined) \(verb) unexpected)"
            : "Unevaluated items are not valid under the given schema (\(joined) \(verb) unevaluated and invalid)"
        context.report("unevaluatedItems", message, instanceToken: String(failed[0]))
        return false
    }
}
