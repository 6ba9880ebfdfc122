/// `properties`.
final class PropertiesKeyword: Keyword {
    let names: [String]
    let nodes: [SchemaNode]

    init(names: [String], nodes: [SchemaNode]) {
        self.names = names
        self.nodes = nodes
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        var valid = true
        for i in names.indices {
            guard let position = object.position(of: names[i]) else { continue }
            annotations?.properties.insert(position)
            if !context.descend(nodes[i], object.entries[position].value, member: names[i],
                                keyword: "properties", child: names[i]) {
                valid = false
                if !context.collect { return false }
            }
        }
        return valid
    }
}

/// `patternProperties`.
final class PatternPropertiesKeyword: Keyword {
    let patterns: [ECMARegex]
    let nodes: [SchemaNode]

    init(patterns: [ECMARegex], nodes: [SchemaNode]) {
        self.patterns = patterns
        self.nodes = nodes
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        var valid = true
        for (position, entry) in object.entries.enumerated() {
            for i in patterns.indices where patterns[i].matches(entry.key) {
                annotations?.properties.insert(position)
                if !context.descend(nodes[i], entry.value, member: entry.key, keyword: "patternProperties",
                                    child: patterns[i].source) {
                    valid = false
                    if !context.collect { return false }
                }
            }
        }
        return valid
    }
}

/// `additionalProperties`: members matched by neither sibling `properties` nor `patternProperties`.
final class AdditionalPropertiesKeyword: Keyword {
    let node: SchemaNode
    let known: [String]
    let knownSet: Set<ExactKey>?
    let patterns: [ECMARegex]

    init(node: SchemaNode, known: [String], patterns: [ECMARegex]) {
        self.node = node
        self.known = known
        self.knownSet = known.count > 8 ? Set(known.map(ExactKey.init)) : nil
        self.patterns = patterns
    }

    @inline(__always)
    private func isAdditional(_ key: String) -> Bool {
        if let knownSet {
            if knownSet.contains(ExactKey(key)) { return false }
        } else {
            for name in known where exactEquals(name, key) { return false }
        }
        for pattern in patterns where pattern.matches(key) { return false }
        return true
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        var firstExtra: String?
        var moreExtras: [String] = []
        var valid = true
        for (position, entry) in object.entries.enumerated() where isAdditional(entry.key) {
            annotations?.properties.insert(position)
            if node.isFalse {
                if !context.collect { return false }
                if firstExtra == nil { firstExtra = entry.key } else { moreExtras.append(entry.key) }
            } else if !context.descend(node, entry.value, member: entry.key, keyword: "additionalProperties") {
                valid = false
                if !context.collect { return false }
            }
        }
        if let firstExtra {
            context.report("additionalProperties", message(firstExtra, moreExtras), instanceToken: firstExtra)
            return false
        }
        return valid
    }

    /// The message for the members a `false` schema rejects, `first` and then `more` in instance order.
    private func message(_ first: String, _ more: [String]) -> String {
        if more.isEmpty && patterns.isEmpty {
            return reprMessage("Additional properties are not allowed (", string: first, " was unexpected)")
        }
        let sorted = ([first] + more).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        let joined = sorted.map { pythonRepr(string: $0) }.joined(separator: ", ")
        if patterns.isEmpty {
            return "Additional properties are not allowed (\(joined) \(sorted.count == 1 ? "was" : "were") unexpected)"
        }
        let regexes = patterns.map(\.source).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            .map { pythonRepr(string: $0) }.joined(separator: ", ")
        return "\(joined) \(sorted.count == 1 ? "does" : "do") not match any of the regexes: \(regexes)"
    }
}

/// `propertyNames`: every member name, as a string instance, must be valid.
final class PropertyNamesKeyword: Keyword {
    let node: SchemaNode

    init(node: SchemaNode) {
        self.node = node
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        var valid = true
        for entry in object.entries where !context.descend(node, .string(entry.key), keyword: "propertyNames") {
            valid = false
            if !context.collect { return false }
        }
        return valid
    }
}

/// `required`.
final class RequiredKeyword: Keyword {
    let names: [String]

    init(names: [String]) {
        self.names = names
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        var valid = true
        for name in names where object.position(of: name) == nil {
            if !context.collect { return false }
            valid = false
            context.report("required", reprMessage(string: name, " is a required property"), instanceToken: name)
        }
        return valid
    }
}

/// `dependentRequired`.
final class DependentRequiredKeyword: Keyword {
    let dependencies: [(property: String, required: [String])]

    init(dependencies: [(property: String, required: [String])]) {
        self.dependencies = dependencies
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        var valid = true
        for (property, required) in dependencies where object.position(of: property) != nil {
            for name in required where object.position(of: name) == nil {
                if !context.collect { return false }
                valid = false
                context.report("dependentRequired",
                               "\(pythonRepr(string: name)) is a dependency of \(pythonRepr(string: property))",
                               instanceToken: name)
            }
        }
        return valid
    }
}

/// `dependentSchemas`.
final class DependentSchemasKeyword: Keyword {
    let dependencies: [(property: String, node: SchemaNode)]

    init(dependencies: [(property: String, node: SchemaNode)]) {
        self.dependencies = dependencies
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        var valid = true
        for (property, node) in dependencies where object.position(of: property) != nil {
            if !context.descend(node, instance, keyword: "dependentSchemas", child: property, annotations: &annotations) {
                valid = false
                if !context.collect { return false }
            }
        }
        return valid
    }
}

/// `minProperties` / `maxProperties`.
final class PropertyCountKeyword: Keyword {
    let limit: Int
    let isMinimum: Bool

    init(limit: Int, isMinimum: Bool) {
        self.limit = limit
        self.isMinimum = isMinimum
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        if isMinimum ? object.count >= limit : object.count <= limit { return true }
        if context.collect {
            let message = isMinimum
                ? (limit == 1 ? "should be non-empty" : "does not have enough properties")
                : (limit == 0 ? "is expected to be empty" : "has too many properties")
            context.report(isMinimum ? "minProperties" : "maxProperties", "\(pythonRepr(instance)) \(message)")
        }
        return false
    }
}

/// `unevaluatedProperties`: members no adjacent or in-place keyword evaluated successfully.
final class UnevaluatedPropertiesKeyword: Keyword {
    let node: SchemaNode

    init(node: SchemaNode) {
        self.node = node
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .object(let object) = instance else { return true }
        let evaluated = annotations?.properties ?? EvaluatedSet()
        var failed: [String] = []
        for (position, entry) in object.entries.enumerated() where !evaluated.contains(position) {
            var none: Annotations? = nil
            if node.isFalse || !context.probe(node, entry.value, annotations: &none) {
                if !context.collect { return false }
                failed.append(entry.key)
            }
        }
        annotations?.properties.all = true
        guard !failed.isEmpty else { return true }
        let names = node.isFalse ? failed.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) } : failed
        let joined = names.map { pythonRepr(string: $0) }.joined(separator: ", ")
        let verb = names.count == 1 ? "was" : "were"
        let message = node.isFalse
            ? "Unevaluated properties are not allowed (\(joined) \(verb) unexpected)"
            : "Unevaluated properties are not valid under the given schema (\(joined) \(verb) unevaluated and invalid)"
        context.report("unevaluatedProperties", message, instanceToken: failed[0])
        return false
    }
}
