/// `uri`, `uri-reference` (RFC 3986), `iri`, `iri-reference` (RFC 3987) and `uri-template` (RFC 6570).
enum URIFormats {
    private static let unreserved: UInt8 = 1, subDelim: UInt8 = 2, colon: UInt8 = 4, at: UInt8 = 8, slash: UInt8 = 16, question: UInt8 = 32

    /// The RFC 3986 character class of an ASCII byte (0 for bytes allowed nowhere).
    @inline(__always)
    static func characterClass(_ b: UInt8) -> UInt8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return unreserved
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
            return subDelim
        case UInt8(ascii: ":"): return colon
        case UInt8(ascii: "@"): return at
        case UInt8(ascii: "/"): return slash
        case UInt8(ascii: "?"): return question
        default: return 0
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let iri: Bool

        /// Checks `range` against the classes in `mask`; `%XX` escapes are always accepted, and
        /// for IRIs non-ASCII `ucschar` (and `iprivate` when `privateUse`).
        func allValid(_ range: Range<Int>, _ mask: UInt8, privateUse: Bool = false) -> Bool {
            var i = range.lowerBound
            let end = range.upperBound
            while i < end {
                let b = bytes[i]
                if b == UInt8(ascii: "%") {
                    guard i + 2 < end, isHexDigit(bytes[i + 1]), isHexDigit(bytes[i + 2]) else { return false }
                    i += 3
                } else if b < 0x80 {
                    guard URIFormats.characterClass(b) & mask != 0 else { return false }
                    i += 1
                } else {
                    guard iri else { return false }
                    let (scalar, length) = decodeScalar(at: i)
                    guard URIFormats.isUCSChar(scalar) || (privateUse && URIFormats.isPrivate(scalar)) else { return false }
                    i += length
                }
            }
            return true
        }

        func decodeScalar(at i: Int) -> (UInt32, Int) {
            let b = bytes[i]
            let length = b >= 0xF0 ? 4 : (b >= 0xE0 ? 3 : 2)
            var value = UInt32(b) & (length == 2 ? 0x1F : (length == 3 ? 0x0F : 0x07))
            for j in 1..<length where i + j < bytes.count { value = value << 6 | UInt32(bytes[i + j] & 0x3F) }
            return (value, length)
        }

        func firstIndex(_ target: UInt8, _ other: UInt8? = nil, in range: Range<Int>) -> Int? {
            let alternative = other ?? target
            var i = range.lowerBound
            while i < range.upperBound {
                let b = bytes[i]
                if b == target || b == alternative { return i }
                i += 1
            }
            return nil
        }

        func isAuthority(_ range: Range<Int>) -> Bool {
            var hostStart = range.lowerBound
            if let at = firstIndex(UInt8(ascii: "@"), in: range) {
                guard allValid(range.lowerBound..<at, unreserved | subDelim | colon) else { return false }
                hostStart = at + 1
            }
            var portStart: Int?
            if hostStart < range.upperBound && bytes[hostStart] == UInt8(ascii: "[") {
                guard let close = firstIndex(UInt8(ascii: "]"), in: hostStart..<range.upperBound),
                      isIPLiteral(Array(bytes[(hostStart + 1)..<close])) else { return false }
                if close + 1 < range.upperBound {
                    guard bytes[close + 1] == UInt8(ascii: ":") else { return false }
                    portStart = close + 2
                }
            } else {
                let hostEnd = firstIndex(UInt8(ascii: ":"), in: hostStart..<range.upperBound) ?? range.upperBound
                guard allValid(hostStart..<hostEnd, unreserved | subDelim) else { return false }
                if hostEnd < range.upperBound { portStart = hostEnd + 1 }
            }
            if let portStart {
                return bytes[portStart..<range.upperBound].allSatisfy(isDigit)
            }
            return true
        }

        func isIPLiteral(_ literal: [UInt8]) -> Bool {
            if let first = literal.first, first | 0x20 == UInt8(ascii: "v") {
                guard let dot = literal.firstIndex(of: UInt8(ascii: ".")), dot > 1, dot + 1 < literal.count,
                      literal[1..<dot].allSatisfy(isHexDigit) else { return false }
                return literal[(dot + 1)...].allSatisfy { $0 < 0x80 && URIFormats.characterClass($0) & (unreserved | subDelim | colon) != 0 }
            }
            return NetworkFormats.isIPv6(literal[...])
        }
    }

    static func isURI(_ string: String, iri: Bool, reference: Bool) -> Bool {
        var string = string
        return string.withUTF8 { isURI($0, iri: iri, reference: reference) }
    }

    private static func isURI(_ bytes: UnsafeBufferPointer<UInt8>, iri: Bool, reference: Bool) -> Bool {
        let scanner = Scanner(bytes: bytes, iri: iri)
        let count = bytes.count
        let pchar = unreserved | subDelim | colon | at
        let fragmentStart = scanner.firstIndex(UInt8(ascii: "#"), in: 0..<count)
        let beforeFragment = fragmentStart ?? count
        if let fragmentStart, !scanner.allValid((fragmentStart + 1)..<count, pchar | slash | question) { return false }
        let queryStart = scanner.firstIndex(UInt8(ascii: "?"), in: 0..<beforeFragment)
        let hierEnd = queryStart ?? beforeFragment
        if let queryStart, !scanner.allValid((queryStart + 1)..<beforeFragment, pchar | slash | question, privateUse: true) {
            return false
        }
        var pathStart = 0
        var hasScheme = false
        if let colonIndex = scanner.firstIndex(UInt8(ascii: ":"), UInt8(ascii: "/"), in: 0..<hierEnd),
           bytes[colonIndex] == UInt8(ascii: ":") {
            guard colonIndex > 0, isAlpha(bytes[0]), bytes[0..<colonIndex].allSatisfy({
                isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            }) else { return false }
            hasScheme = true
            pathStart = colonIndex + 1
        }
        guard hasScheme || reference else { return false }
        if pathStart + 1 < hierEnd, bytes[pathStart] == UInt8(ascii: "/"), bytes[pathStart + 1] == UInt8(ascii: "/") {
            let authorityEnd = scanner.firstIndex(UInt8(ascii: "/"), in: (pathStart + 2)..<hierEnd) ?? hierEnd
            guard scanner.isAuthority((pathStart + 2)..<authorityEnd) else { return false }
            pathStart = authorityEnd
        }
        return scanner.allValid(pathStart..<hierEnd, pchar | slash)
    }

    static func isUCSChar(_ v: UInt32) -> Bool {
        switch v {
        case 0xA0...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFEF: return true
        case 0x10000...0xEFFFD: return v & 0xFFFF < 0xFFFE
        default: return false
        }
    }

    static func isPrivate(_ v: UInt32) -> Bool {
        (0xE000...0xF8FF).contains(v) || (0xF0000...0xFFFFD).contains(v) || (0x100000...0x10FFFD).contains(v)
    }

    /// RFC 6570 level 4 syntax: literals, and `{` [operator] varspec *("," varspec) `}` expressions.
    static func isURITemplate(_ string: String) -> Bool {
        let scalars = Array(string.unicodeScalars)
        var i = 0
        func isHexAt(_ j: Int) -> Bool { j < scalars.count && scalars[j].isASCII && isHexDigit(UInt8(scalars[j].value)) }
        while i < scalars.count {
            let s = scalars[i]
            if s == "{" {
                guard let close = scalars[i...].firstIndex(of: "}") else { return false }
                var body = Array(scalars[(i + 1)..<close])
                if let op = body.first, "+#./;?&".unicodeScalars.contains(op) { body.removeFirst() }
                for varspec in body.split(separator: ",", omittingEmptySubsequences: false) {
                    guard isVarspec(Array(varspec)) else { return false }
                }
                i = close + 1
                continue
            }
            if s == "%" {
                guard isHexAt(i + 1), isHexAt(i + 2) else { return false }
                i += 3
                continue
            }
            if s.value < 0x20 || s.value == 0x7F || " \"<>\\^`{|}".unicodeScalars.contains(s) { return false }
            i += 1
        }
        return true
    }

    private static func isVarspec(_ spec: [Unicode.Scalar]) -> Bool {
        var name = spec[...]
        if spec.last == "*" {
            name = spec.dropLast()
        } else if let colon = spec.firstIndex(of: ":") {
            name = spec[..<colon]
            let length = spec[(colon + 1)...]
            guard (1...4).contains(length.count), length.first != "0",
                  length.allSatisfy({ $0.isASCII && isDigit(UInt8($0.value)) }) else { return false }
        }
        guard !name.isEmpty, name.first != ".", name.last != "." else { return false }
        var i = name.startIndex
        var previousDot = false
        while i < name.endIndex {
            let s = name[i]
            if s == "%" {
                guard i + 2 < name.endIndex, name[i + 1].isASCII, isHexDigit(UInt8(name[i + 1].value)),
                      name[i + 2].isASCII, isHexDigit(UInt8(name[i + 2].value)) else { return false }
                i += 3
                previousDot = false
                continue
            }
            if s == "." {
                if previousDot { return false }
                previousDot = true
            } else {
                guard s.isASCII, isAlpha(UInt8(s.value)) || isDigit(UInt8(s.value)) || s == "_" else { return false }
                previousDot = false
            }
            i += 1
        }
        return true
    }
}
