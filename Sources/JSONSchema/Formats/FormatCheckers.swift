/// The `format` assertions, by name. Each checker takes the string instance.
enum FormatCheckers {
    static func checker(for name: String) -> (@Sendable (String) -> Bool)? {
        switch name {
        case "date": return { DateTimeFormats.isDate(Array($0.utf8)) }
        case "time": return { DateTimeFormats.isTime(Array($0.utf8)) }
        case "date-time": return { DateTimeFormats.isDateTime(Array($0.utf8)) }
        case "duration": return { DateTimeFormats.isDuration(Array($0.utf8)) }
        case "ipv4": return { NetworkFormats.isIPv4(Array($0.utf8)[...]) }
        case "ipv6": return { NetworkFormats.isIPv6(Array($0.utf8)[...]) }
        case "hostname": return { HostnameFormats.isHostname($0) }
        case "idn-hostname": return { HostnameFormats.isIDNHostname($0) }
        case "email": return { NetworkFormats.isEmail($0, international: false) }
        case "idn-email": return { NetworkFormats.isEmail($0, international: true) }
        case "uri": return { URIFormats.isURI($0, iri: false, reference: false) }
        case "uri-reference": return { URIFormats.isURI($0, iri: false, reference: true) }
        case "iri": return { URIFormats.isURI($0, iri: true, reference: false) }
        case "iri-reference": return { URIFormats.isURI($0, iri: true, reference: true) }
        case "uri-template": return { URIFormats.isURITemplate($0) }
        case "uuid": return { isUUID(Array($0.utf8)) }
        case "json-pointer": return { isJSONPointer(Array($0.utf8)[...]) }
        case "relative-json-pointer": return { isRelativeJSONPointer(Array($0.utf8)) }
        case "regex": return { ECMARegex.isValid($0) }
        default: return nil
        }
    }

    /// 8-4-4-4-12 hexadecimal digits (any version and variant).
    static func isUUID(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if byte != UInt8(ascii: "-") { return false }
            } else if !isHexDigit(byte) {
                return false
            }
        }
        return true
    }

    /// RFC 6901: empty, or `/`-prefixed tokens where `~` is followed by `0` or `1`.
    static func isJSONPointer(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first else { return true }
        guard first == UInt8(ascii: "/") else { return false }
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "~") {
                guard i + 1 < bytes.endIndex, bytes[i + 1] == UInt8(ascii: "0") || bytes[i + 1] == UInt8(ascii: "1") else {
                    return false
                }
                i += 2
            } else {
                i += 1
            }
        }
        return true
    }

    /// draft-bhutton-relative-json-pointer-00: an integer, an optional index manipulation, then `#`
    /// or a JSON pointer.
    static func isRelativeJSONPointer(_ bytes: [UInt8]) -> Bool {
        var i = 0
        func nonNegativeInteger() -> Bool {
            let start = i
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
            if i == start { return false }
            return !(bytes[start] == UInt8(ascii: "0") && i - start > 1)
        }
        guard nonNegativeInteger() else { return false }
        if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            i += 1
            guard nonNegativeInteger() else { return false }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "#") { return i + 1 == bytes.count }
        return isJSONPointer(bytes[i...])
    }
}

@inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
@inline(__always) func isHexDigit(_ byte: UInt8) -> Bool {
    isDigit(byte) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
}
@inline(__always) func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= 97 && (byte | 0x20) <= 122 }
