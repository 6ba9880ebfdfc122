/// How a 2020-12 keyword holds subschemas.
enum SubschemaKind {
    case single, map, array

    static func of(_ keyword: String) -> SubschemaKind? {
        switch keyword {
        case "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "items", "contains",
             "propertyNames", "not", "if", "then", "else":
            return .single
        case "$defs", "properties", "patternProperties", "dependentSchemas":
            return .map
        case "allOf", "anyOf", "oneOf", "prefixItems":
            return .array
        default:
            return nil
        }
    }
}
