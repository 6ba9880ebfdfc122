/// `type`.
final class TypeKeyword: Keyword {
    struct Types: OptionSet, Sendable {
        let rawValue: UInt8
        static let null = Types(rawValue: 1)
        static let boolean = Types(rawValue: 2)
        static let integer = Types(rawValue: 4)
        static let number = Types(rawValue: 8)
        static let string = Types(rawValue: 16)
        static let array = Types(rawValue: 32)
        static let object = Types(rawValue: 64)

        static let byName: [String: Types] = [
            "null": .null, "boolean": .boolean, "integer": .integer, "number": .number,
            "string": .string, "array": .array, "object": .object,
        ]
    }

    let types: Types
    let names: [String]
    /// The message after the instance's repr: " is not of type 'string', 'null'".
    let messageSuffix: String

    init(types: Types, names: [String]) {
        self.types = types
        self.names = names
        messageSuffix = " is not of type " + names.map { pythonRepr(string: $0) }.joined(separator: ", ")
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        let valid: Bool
        switch instance {
        case .null: valid = types.contains(.null)
        case .bool: valid = types.contains(.boolean)
        case .number(let n): valid = types.contains(.number) || (types.contains(.integer) && n.isInteger)
        case .string: valid = types.contains(.string)
        case .array: valid = types.contains(.array)
        case .object: valid = types.contains(.object)
        }
        if !valid && context.collect {
            context.report("type", reprMessage(instance, messageSuffix))
        }
        return valid
    }
}

/// `const`.
final class ConstKeyword: Keyword {
    let value: JSONValue

    init(value: JSONValue) {
        self.value = value
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        if instance == value { return true }
        if context.collect { context.report("const", "\(pythonRepr(value)) was expected") }
        return false
    }
}

/// `enum`.
final class EnumKeyword: Keyword {
    let values: [JSONValue]
    let set: Set<JSONValue>?

    init(values: [JSONValue]) {
        self.values = values
        self.set = values.count > 8 ? Set(values) : nil
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        if let set {
            if set.contains(instance) { return true }
        } else {
            for value in values where value == instance { return true }
        }
        if context.collect {
            context.report("enum", "\(pythonRepr(instance)) is not one of \(pythonRepr(.array(values)))")
        }
        return false
    }
}

/// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (exact comparison).
final class NumberBoundKeyword: Keyword {
    enum Kind: Sendable { case minimum, maximum, exclusiveMinimum, exclusiveMaximum }
    let kind: Kind
    let limit: JSONNumber

    init(kind: Kind, limit: JSONNumber) {
        self.kind = kind
        self.limit = limit
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .number(let n) = instance else { return true }
        let order = JSONNumber.compare(n, limit)
        let valid: Bool
        switch kind {
        case .minimum: valid = order >= 0
        case .maximum: valid = order <= 0
        case .exclusiveMinimum: valid = order > 0
        case .exclusiveMaximum: valid = order < 0
        }
        if !valid && context.collect {
            let value = pythonRepr(instance)
            switch kind {
            case .minimum: context.report("minimum", "\(value) is less than the minimum of \(limit)")
            case .maximum: context.report("maximum", "\(value) is greater than the maximum of \(limit)")
            case .exclusiveMinimum: context.report("exclusiveMinimum", "\(value) is less than or equal to the minimum of \(limit)")
            case .exclusiveMaximum: context.report("exclusiveMaximum", "\(value) is greater than or equal to the maximum of \(limit)")
            }
        }
        return valid
    }
}

/// `multipleOf` (exact decimal arithmetic).
final class MultipleOfKeyword: Keyword {
    let divisor: JSONNumber

    init(divisor: JSONNumber) {
        self.divisor = divisor
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .number(let n) = instance else { return true }
        if n.isMultiple(of: divisor) { return true }
        if context.collect { context.report("multipleOf", "\(pythonRepr(instance)) is not a multiple of \(divisor)") }
        return false
    }
}

/// `minLength` / `maxLength`, counted in Unicode code points.
final class StringLengthKeyword: Keyword {
    let limit: Int
    let isMinimum: Bool

    init(limit: Int, isMinimum: Bool) {
        self.limit = limit
        self.isMinimum = isMinimum
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .string(let string) = instance else { return true }
        let bytes = string.utf8.count
        let valid: Bool
        if isMinimum {
            valid = bytes >= limit && (bytes / 4 >= limit || codePointCount(string) >= limit)
        } else {
            valid = bytes <= limit || codePointCount(string) <= limit
        }
        if !valid && context.collect {
            let message = isMinimum
                ? (limit == 1 ? "should be non-empty" : "is too short")
                : (limit == 0 ? "is expected to be empty" : "is too long")
            context.report(isMinimum ? "minLength" : "maxLength", reprMessage(instance, " " + message))
        }
        return valid
    }
}

@inline(__always)
func codePointCount(_ string: String) -> Int {
    var count = 0
    for byte in string.utf8 where byte & 0xC0 != 0x80 { count += 1 }
    return count
}

/// `pattern` (ECMA-262, not anchored).
final class PatternKeyword: Keyword {
    let regex: ECMARegex

    init(regex: ECMARegex) {
        self.regex = regex
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .string(let string) = instance else { return true }
        if regex.matches(string) { return true }
        if context.collect {
            context.report("pattern", "\(pythonRepr(instance)) does not match \(pythonRepr(string: regex.source))")
        }
        return false
    }
}

/// `format` in assertion mode.
final class FormatKeyword: Keyword {
    let name: String
    let check: @Sendable (String) -> Bool
    /// The message after the instance's repr: " is not a 'uri'".
    let messageSuffix: String

    init(name: String, check: @escaping @Sendable (String) -> Bool) {
        self.name = name
        self.check = check
        messageSuffix = " is not a " + pythonRepr(string: name)
    }

    func validate(_ instance: JSONValue, _ context: inout ValidationContext, _ annotations: inout Annotations?) -> Bool {
        guard case .string(let string) = instance else { return true }
        if check(string) { return true }
        if context.collect {
            context.report("format", reprMessage(instance, messageSuffix))
        }
        return false
    }
}
