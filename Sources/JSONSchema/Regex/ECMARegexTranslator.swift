/// Checks an ECMA-262 regular expression and translates it to ICU syntax with ECMA semantics.
///
/// The dialect is ECMA-262 with the `u` flag (code points; strict escapes; `\p{...}` property
/// escapes), plus the Annex B leniency that lone `]`, `}` and a `{` that does not start a
/// quantifier are literals. Translation makes the ECMA meaning explicit: `\d` and `\w` are ASCII
/// only, `\s` is the ECMA whitespace set, `\b` uses ASCII word characters, `.` excludes only line
/// terminators, `$` matches only at the very end. Everything else is emitted as `\x{...}` escapes.
struct ECMARegexTranslator {
    struct Failure: Error, Sendable {
        var message: String
    }

    private let scalars: [Unicode.Scalar]
    private let strict: Bool
    private var index = 0
    private var out = ""
    private var capturingGroups = 0
    private var groupNames: Set<String> = []
    private var numberedReferences: [Int] = []
    private var namedReferences: [String] = []

    private init(_ pattern: String, strict: Bool) {
        scalars = Array(pattern.unicodeScalars)
        self.strict = strict
    }

    /// The ICU pattern equivalent to `pattern`, or a `Failure` if `pattern` is not valid ECMA-262.
    ///
    /// When `strict` is false, any escaped character that is not an ASCII letter or digit stands
    /// for itself (as in ECMA-262 Annex B and most regex dialects, e.g. `\-` or `\_`); escaped
    /// letters without an ECMA meaning (`\a`, `\e`, ...) are always errors.
    static func translate(_ pattern: String, strict: Bool = true) throws(Failure) -> String {
        var translator = ECMARegexTranslator(pattern, strict: strict)
        try translator.run()
        return translator.out
    }

    private static let wordClass = "[A-Za-z0-9_]"
    private static let whitespaceSet = "\\x{9}-\\x{D}\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"

    private mutating func run() throws(Failure) {
        try disjunction()
        if index < scalars.count {
            throw Failure(message: "unmatched ')'")
        }
        for reference in numberedReferences where reference > capturingGroups {
            throw Failure(message: "backreference \\\(reference) to a group that does not exist")
        }
        for name in namedReferences where !groupNames.contains(name) {
            throw Failure(message: "backreference to an undefined group '\(name)'")
        }
    }

    private var atEnd: Bool { index >= scalars.count }
    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func disjunction() throws(Failure) {
        try alternative()
        while peek() == "|" {
            index += 1
            out += "|"
            try alternative()
        }
    }

    private mutating func alternative() throws(Failure) {
        while let c = peek(), c != "|", c != ")" {
            try term()
        }
    }

    private mutating func term() throws(Failure) {
        let c = scalars[index]
        switch c {
        case "^":
            index += 1
            out += "\\A"
            try rejectQuantifier()
        case "$":
            index += 1
            out += "\\z"
            try rejectQuantifier()
        case "\\" where peek(1) == "b" || peek(1) == "B":
            let negated = peek(1) == "B"
            index += 2
            let w = Self.wordClass
            out += negated
                ? "(?:(?<=\(w))(?=\(w))|(?<!\(w))(?!\(w)))"
                : "(?:(?<=\(w))(?!\(w))|(?<!\(w))(?=\(w)))"
            try rejectQuantifier()
        case "(":
            try group()
        case "*", "+", "?":
            throw Failure(message: "nothing to repeat before '\(c)'")
        case "{":
            if quantifierLength(at: index) != nil { throw Failure(message: "nothing to repeat before '{'") }
            index += 1
            out += literal(c)
            try quantifier()
        case "[":
            try characterClass()
            try quantifier()
        case ".":
            index += 1
            out += "[^\\x{A}\\x{D}\\x{2028}\\x{2029}]"
            try quantifier()
        case "\\":
            try atomEscape()
            try quantifier()
        default:
            index += 1
            out += literal(c)
            try quantifier()
        }
    }

    private mutating func rejectQuantifier() throws(Failure) {
        if let c = peek(), c == "*" || c == "+" || c == "?" || (c == "{" && quantifierLength(at: index) != nil) {
            throw Failure(message: "nothing to repeat before '\(c)'")
        }
    }

    private mutating func group() throws(Failure) {
        index += 1
        var isLookaround = false
        var isLookbehind = false
        if peek() == "?" {
            switch (peek(1), peek(2)) {
            case (":", _):
                index += 2
                out += "(?:"
            case ("=", _), ("!", _):
                out += "(?" + String(Character(peek(1)!))
                index += 2
                isLookaround = true
            case ("<", "="), ("<", "!"):
                out += "(?<" + String(Character(peek(2)!))
                index += 3
                isLookaround = true
                isLookbehind = true
            case ("<", _):
                index += 2
                let name = try groupName()
                guard groupNames.insert(name).inserted else { throw Failure(message: "duplicate group name '\(name)'") }
                capturingGroups += 1
                out += "(?<\(name)>"
            default:
                throw Failure(message: "invalid group: '(?' must be followed by ':', '=', '!', '<=', '<!' or '<name>'")
            }
        } else {
            capturingGroups += 1
            out += "("
        }
        try disjunction()
        guard peek() == ")" else { throw Failure(message: "missing ')'") }
        index += 1
        out += ")"
        if isLookbehind {
            try rejectQuantifier()
        } else {
            _ = isLookaround
            try quantifier()
        }
    }

    private mutating func groupName() throws(Failure) -> String {
        var name = ""
        while let c = peek(), c != ">" {
            let valid = c == "_" || c == "$" || (c.properties.isAlphabetic) || (!name.isEmpty && (c.properties.numericType == .decimal))
            guard valid, c.isASCII else { throw Failure(message: "invalid group name") }
            name.unicodeScalars.append(c)
            index += 1
        }
        guard peek() == ">", !name.isEmpty else { throw Failure(message: "invalid group name") }
        index += 1
        return name
    }

    /// Length of a `{n}`, `{n,}` or `{n,m}` quantifier at `start`, or nil.
    private func quantifierLength(at start: Int) -> Int? {
        var i = start + 1
        var sawDigit = false
        while i < scalars.count, scalars[i].properties.numericType == .decimal, scalars[i].isASCII { i += 1; sawDigit = true }
        guard sawDigit, i < scalars.count else { return nil }
        if scalars[i] == "}" { return i - start + 1 }
        guard scalars[i] == "," else { return nil }
        i += 1
        while i < scalars.count, scalars[i].properties.numericType == .decimal, scalars[i].isASCII { i += 1 }
        guard i < scalars.count, scalars[i] == "}" else { return nil }
        return i - start + 1
    }

    private mutating func quantifier() throws(Failure) {
        guard let c = peek() else { return }
        switch c {
        case "*", "+", "?":
            index += 1
            out.unicodeScalars.append(c)
        case "{":
            guard let length = quantifierLength(at: index) else { return }
            let text = String(String.UnicodeScalarView(scalars[index..<index + length]))
            let bounds = text.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
            if bounds.count == 2, !bounds[1].isEmpty, let low = Int(bounds[0]), let high = Int(bounds[1]), low > high {
                throw Failure(message: "numbers out of order in {} quantifier")
            }
            index += length
            out += text
        default:
            return
        }
        if peek() == "?" {
            index += 1
            out += "?"
        }
        if let next = peek(), next == "*" || next == "+" || next == "?" || (next == "{" && quantifierLength(at: index) != nil) {
            throw Failure(message: "nothing to repeat before '\(next)'")
        }
    }

    private func literal(_ scalar: Unicode.Scalar) -> String {
        if scalar.isASCII, scalar.properties.isAlphabetic || scalar.properties.numericType == .decimal {
            return String(Character(scalar))
        }
        return hexEscape(scalar.value)
    }

    private func hexEscape(_ value: UInt32) -> String {
        "\\x{" + String(value, radix: 16, uppercase: true) + "}"
    }

    // MARK: Escapes

    private enum ClassItem {
        case scalar(UInt32)
        case set(String)
    }

    private mutating func atomEscape() throws(Failure) {
        index += 1
        guard let c = peek() else { throw Failure(message: "pattern may not end with a trailing backslash") }
        if let digit = c.properties.numericType, digit == .decimal, c.isASCII, c != "0" {
            var number = 0
            while let d = peek(), d.isASCII, d.properties.numericType == .decimal {
                number = min(number * 10 + Int(d.value - 48), 1_000_000)
                index += 1
            }
            numberedReferences.append(number)
            out += "\\\(number)"
            return
        }
        if c == "k" {
            index += 1
            guard peek() == "<" else { throw Failure(message: "invalid named reference") }
            index += 1
            let name = try groupName()
            namedReferences.append(name)
            out += "\\k<\(name)>"
            return
        }
        switch try classEscape(inClass: false) {
        case .scalar(let value): out += scalarOrNever(value)
        case .set(let set): out += set
        }
    }

    private func scalarOrNever(_ value: UInt32) -> String {
        (0xD800...0xDFFF).contains(value) ? "(?!)" : hexEscape(value)
    }

    /// Parses an escape after the backslash (shared by atoms and classes).
    private mutating func classEscape(inClass: Bool) throws(Failure) -> ClassItem {
        let c = scalars[index]
        index += 1
        switch c {
        case "d": return .set("[0-9]")
        case "D": return .set("[^0-9]")
        case "w": return .set(Self.wordClass)
        case "W": return .set("[^A-Za-z0-9_]")
        case "s": return .set("[" + Self.whitespaceSet + "]")
        case "S": return .set("[^" + Self.whitespaceSet + "]")
        case "p", "P":
            guard peek() == "{" else { throw Failure(message: "invalid property escape") }
            index += 1
            var name = ""
            while let n = peek(), n != "}" {
                guard n.isASCII, n.properties.isAlphabetic || n.properties.numericType == .decimal || n == "_" || n == "=" else {
                    throw Failure(message: "invalid property name")
                }
                name.unicodeScalars.append(n)
                index += 1
            }
            guard peek() == "}", !name.isEmpty else { throw Failure(message: "invalid property escape") }
            index += 1
            return .set("\\\(c){\(name)}")
        case "f": return .scalar(0x0C)
        case "n": return .scalar(0x0A)
        case "r": return .scalar(0x0D)
        case "t": return .scalar(0x09)
        case "v": return .scalar(0x0B)
        case "b" where inClass: return .scalar(0x08)
        case "-" where inClass: return .scalar(0x2D)
        case "c":
            guard let letter = peek(), letter.isASCII, letter.properties.isAlphabetic else {
                throw Failure(message: "\\c must be followed by an ASCII letter")
            }
            index += 1
            return .scalar(letter.value % 32)
        case "0":
            if let next = peek(), next.isASCII, next.properties.numericType == .decimal {
                throw Failure(message: "invalid decimal escape")
            }
            return .scalar(0)
        case "x":
            guard let value = hexDigits(count: 2) else { throw Failure(message: "invalid \\x escape") }
            return .scalar(value)
        case "u":
            if peek() == "{" {
                index += 1
                var value: UInt32 = 0
                var digits = 0
                while let h = peek(), let v = hexValue(h) {
                    value = value * 16 + v
                    digits += 1
                    index += 1
                    guard value <= 0x10FFFF else { throw Failure(message: "invalid \\u{...} escape") }
                }
                guard digits > 0, peek() == "}" else { throw Failure(message: "invalid \\u{...} escape") }
                index += 1
                return .scalar(value)
            }
            guard let high = hexDigits(count: 4) else { throw Failure(message: "invalid \\u escape") }
            if (0xD800...0xDBFF).contains(high), peek() == "\\", peek(1) == "u" {
                let saved = index
                index += 2
                if let low = hexDigits(count: 4), (0xDC00...0xDFFF).contains(low) {
                    return .scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                }
                index = saved
            }
            return .scalar(high)
        case "^", "$", "\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "/":
            return .scalar(c.value)
        case _ where !strict && !(c.isASCII && (c.properties.isAlphabetic || c.properties.numericType == .decimal)):
            return .scalar(c.value)
        default:
            throw Failure(message: "invalid escape '\\\(Character(c))'")
        }
    }

    private func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar.value {
        case 48...57: return scalar.value - 48
        case 65...70: return scalar.value - 55
        case 97...102: return scalar.value - 87
        default: return nil
        }
    }

    private mutating func hexDigits(count: Int) -> UInt32? {
        var value: UInt32 = 0
        for offset in 0..<count {
            guard let scalar = peek(offset), let digit = hexValue(scalar) else { return nil }
            value = value * 16 + digit
        }
        index += count
        return value
    }

    // MARK: Classes

    private mutating func characterClass() throws(Failure) {
        index += 1
        var negated = false
        if peek() == "^" {
            negated = true
            index += 1
        }
        var parts: [String] = []
        while true {
            guard let c = peek() else { throw Failure(message: "missing ']'") }
            if c == "]" {
                index += 1
                break
            }
            let first = try classAtom()
            if peek() == "-", let after = peek(1), after != "]" {
                index += 1
                let second = try classAtom()
                guard case .scalar(let low) = first, case .scalar(let high) = second else {
                    throw Failure(message: "invalid character class range")
                }
                guard low <= high else { throw Failure(message: "range out of order in character class") }
                parts.append(hexEscape(low) + "-" + hexEscape(high))
            } else {
                switch first {
                case .scalar(let value): parts.append(hexEscape(value))
                case .set(let set): parts.append(set.hasPrefix("[") ? set : "[" + set + "]")
                }
            }
        }
        if parts.isEmpty {
            out += negated ? "[\\x{0}-\\x{10FFFF}]" : "(?!)"
        } else {
            out += (negated ? "[^" : "[") + parts.joined() + "]"
        }
    }

    private mutating func classAtom() throws(Failure) -> ClassItem {
        let c = scalars[index]
        if c == "\\" {
            index += 1
            guard !atEnd else { throw Failure(message: "pattern may not end with a trailing backslash") }
            return try classEscape(inClass: true)
        }
        index += 1
        return .scalar(c.value)
    }
}
