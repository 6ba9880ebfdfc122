/// `uri`, `uri-reference` (RFC 3986), `iri`, `iri-reference` (RFC 3987) and `uri-template` (RFC 6570).
enum URIFormats {
    private struct Scanner {
        let scalars: [Unicode.Scalar]
        let iri: Bool

        func isUnreserved(_ s: Unicode.Scalar) -> Bool {
            if s.isASCII {
                let b = UInt8(s.value)
                return isAlpha(b) || isDigit(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
            }
            return iri && URIFormats.isUCSChar(s.value)
        }

        func isSubDelim(_ s: Unicode.Scalar) -> Bool {
            "!$&'()*+,;=".unicodeScalars.contains(s)
        }

        /// Checks `range` against a character class; `%XX` escapes are always accepted.
        func allValid(_ range: Range<Int>, extra: String = "", privateUse: Bool = false) -> Bool {
            var i = range.lowerBound
            while i < range.upperBound {
                let s = scalars[i]
                if s == "%" {
                    guard i + 2 < range.upperBound,
                          scalars[i + 1].isASCII, isHexDigit(UInt8(scalars[i + 1].value)),
                          scalars[i + 2].isASCII, isHexDigit(UInt8(scalars[i + 2].value)) else { return false }
                    i += 3
                    continue
                }
                guard isUnreserved(s) || isSubDelim(s) || extra.unicodeScalars.contains(s)
                        || (privateUse && iri && URIFormats.isPrivate(s.value)) else { return false }
                i += 1
            }
            return true
        }

        func firstIndex(of targets: String, in range: Range<Int>) -> Int? {
            let set = Set(targets.unicodeScalars)
            return range.first { set.contains(scalars[$0]) }
        }

        func isAuthority(_ range: Range<Int>) -> Bool {
            var hostStart = range.lowerBound
            if let at = firstIndex(of: "@", in: range) {
                guard allValid(range.lowerBound..<at, extra: ":") else { return false }
                hostStart = at + 1
            }
            var portStart: Int?
            if hostStart < range.upperBound && scalars[hostStart] == "[" {
                guard let close = firstIndex(of: "]", in: hostStart..<range.upperBound) else { return false }
                let literal = String(String.UnicodeScalarView(scalars[(hostStart + 1)..<close]))
                guard isIPLiteral(literal) else { return false }
                if close + 1 < range.upperBound {
                    guard scalars[close + 1] == ":" else { return false }
                    portStart = close + 2
                }
            } else {
                let hostEnd = firstIndex(of: ":", in: hostStart..<range.upperBound) ?? range.upperBound
                guard allValid(hostStart..<hostEnd) else { return false }
                if hostEnd < range.upperBound { portStart = hostEnd + 1 }
            }
            if let portStart {
                return scalars[portStart..<range.upperBound].allSatisfy { $0.isASCII && isDigit(UInt8($0.value)) }
            }
            return true
        }

        func isIPLiteral(_ literal: String) -> Bool {
            let bytes = Array(literal.utf8)
            if let first = bytes.first, first | 0x20 == UInt8(ascii: "v") {
                guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")), dot > 1, dot + 1 < bytes.count,
                      bytes[1..<dot].allSatisfy(isHexDigit) else { return false }
                return bytes[(dot + 1)...].allSatisfy { b in
                    isAlpha(b) || isDigit(b) || "-._~!$&'()*+,;=:".utf8.contains(b)
                }
            }
            return NetworkFormats.isIPv6(bytes[...])
        }
    }

    static func isURI(_ string: String, iri: Bool, reference: Bool) -> Bool {
        let scanner = Scanner(scalars: Array(string.unicodeScalars), iri: iri)
        let scalars = scanner.scalars
        let count = scalars.count
        let fragmentStart = scanner.firstIndex(of: "#", in: 0..<count)
        let beforeFragment = fragmentStart ?? count
        if let fragmentStart, !scanner.allValid((fragmentStart + 1)..<count, extra: ":@/?") { return false }
        let queryStart = scanner.firstIndex(of: "?", in: 0..<beforeFragment)
        let hierEnd = queryStart ?? beforeFragment
        if let queryStart, !scanner.allValid((queryStart + 1)..<beforeFragment, extra: ":@/?", privateUse: true) { return false }

        var pathStart = 0
        var hasScheme = false
        if let colon = scanner.firstIndex(of: ":/", in: 0..<hierEnd), scalars[colon] == ":" {
            let scheme = scalars[0..<colon]
            guard let first = scheme.first, first.isASCII, isAlpha(UInt8(first.value)),
                  scheme.allSatisfy({ $0.isASCII && (isAlpha(UInt8($0.value)) || isDigit(UInt8($0.value)) || $0 == "+" || $0 == "-" || $0 == ".") })
            else { return false }
            hasScheme = true
            pathStart = colon + 1
        }
        guard hasScheme || reference else { return false }
        if pathStart + 1 < hierEnd, scalars[pathStart] == "/", scalars[pathStart + 1] == "/" {
            let authorityEnd = scanner.firstIndex(of: "/", in: (pathStart + 2)..<hierEnd) ?? hierEnd
            guard scanner.isAuthority((pathStart + 2)..<authorityEnd) else { return false }
            pathStart = authorityEnd
        }
        return scanner.allValid(pathStart..<hierEnd, extra: ":@/")
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
