import Foundation

/// A compiled ECMA-262 regular expression (see ``ECMARegexTranslator`` for the dialect).
///
/// Matching uses ICU through `NSRegularExpression`, which is immutable; concurrent matches are
/// safe (swift-corelibs-foundation checks the ICU matcher out atomically, or clones it when it is
/// busy), hence `@unchecked Sendable`. Caveat: ICU supports only bounded-length lookbehind, so a
/// valid ECMA pattern such as `(?<=a+)b` fails to compile here.
final class ECMARegex: @unchecked Sendable {
    let source: String
    private let regex: NSRegularExpression

    /// Compiles `pattern` with lenient identity escapes (see ``ECMARegexTranslator/translate(_:strict:)``).
    init(_ pattern: String) throws(ECMARegexTranslator.Failure) {
        let translated = try ECMARegexTranslator.translate(pattern, strict: false)
        do {
            regex = try NSRegularExpression(pattern: translated, options: [])
        } catch {
            throw ECMARegexTranslator.Failure(message: "not supported by the regex engine (ICU)")
        }
        source = pattern
    }

    /// True if the pattern matches anywhere in `string` (patterns are not implicitly anchored).
    func matches(_ string: String) -> Bool {
        let range = regex.rangeOfFirstMatch(in: string, options: [], range: NSRange(location: 0, length: string.utf16.count))
        return range.location != NSNotFound
    }

    /// True if `pattern` is a syntactically valid ECMA-262 regular expression (strict escapes).
    static func isValid(_ pattern: String) -> Bool {
        (try? ECMARegexTranslator.translate(pattern, strict: true)) != nil
    }
}
