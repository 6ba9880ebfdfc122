/// The 2020-12 vocabularies this implementation distinguishes.
struct Vocabulary: OptionSet, Sendable {
    let rawValue: UInt8
    static let applicator = Vocabulary(rawValue: 1)
    static let unevaluated = Vocabulary(rawValue: 2)
    static let validation = Vocabulary(rawValue: 4)
    static let formatAssertion = Vocabulary(rawValue: 8)
    static let other = Vocabulary(rawValue: 16)

    static let standard: Vocabulary = [.applicator, .unevaluated, .validation]

    static let byURI: [String: Vocabulary] = [
        "https://json-schema.org/draft/2020-12/vocab/core": .other,
        "https://json-schema.org/draft/2020-12/vocab/applicator": .applicator,
        "https://json-schema.org/draft/2020-12/vocab/unevaluated": .unevaluated,
        "https://json-schema.org/draft/2020-12/vocab/validation": .validation,
        "https://json-schema.org/draft/2020-12/vocab/meta-data": .other,
        "https://json-schema.org/draft/2020-12/vocab/format-annotation": .other,
        "https://json-schema.org/draft/2020-12/vocab/format-assertion": .formatAssertion,
        "https://json-schema.org/draft/2020-12/vocab/content": .other,
    ]
}
