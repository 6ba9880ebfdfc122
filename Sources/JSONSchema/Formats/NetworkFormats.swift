/// `ipv4`, `ipv6`, `email` and `idn-email`.
enum NetworkFormats {
    /// Dotted quad of decimal octets without leading zeros.
    static func isIPv4(_ bytes: ArraySlice<UInt8>) -> Bool {
        var parts = 0
        var i = bytes.startIndex
        while true {
            let start = i
            var value = 0
            while i < bytes.endIndex, isDigit(bytes[i]), i - start < 3 {
                value = value * 10 + Int(bytes[i] - 48)
                i += 1
            }
            let length = i - start
            guard length > 0, value <= 255, !(length > 1 && bytes[start] == UInt8(ascii: "0")) else { return false }
            parts += 1
            if parts == 4 { return i == bytes.endIndex }
            guard i < bytes.endIndex, bytes[i] == UInt8(ascii: ".") else { return false }
            i += 1
        }
    }

    /// RFC 4291 text form: eight groups, or fewer with one `::`; an IPv4 tail counts as two groups.
    static func isIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count >= 2 else { return false }
        let text = Array(bytes)
        var doubleColon: Int?
        for i in 0..<text.count - 1 where text[i] == UInt8(ascii: ":") && text[i + 1] == UInt8(ascii: ":") {
            if doubleColon != nil { return false }
            doubleColon = i
        }
        func groups(_ part: ArraySlice<UInt8>, allowIPv4: Bool) -> Int? {
            if part.isEmpty { return 0 }
            let pieces = part.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            var count = 0
            for (n, piece) in pieces.enumerated() {
                if allowIPv4 && n == pieces.count - 1 && piece.contains(UInt8(ascii: ".")) {
                    guard isIPv4(piece) else { return nil }
                    count += 2
                } else {
                    guard (1...4).contains(piece.count), piece.allSatisfy(isHexDigit) else { return nil }
                    count += 1
                }
            }
            return count
        }
        if let doubleColon {
            if doubleColon + 2 < text.count && text[doubleColon + 2] == UInt8(ascii: ":") { return false }
            guard let head = groups(text[..<doubleColon], allowIPv4: false),
                  let tail = groups(text[(doubleColon + 2)...], allowIPv4: true) else { return false }
            return head + tail <= 7
        }
        return groups(text[...], allowIPv4: true) == 8
    }

    /// RFC 5321 mailbox (RFC 6531 when `international`): dot-atom or quoted local part, then a
    /// host name or an address literal (`[192.0.2.1]`, `[IPv6:...]`).
    static func isEmail(_ string: String, international: Bool) -> Bool {
        let scalars = Array(string.unicodeScalars)
        guard let at = scalars.lastIndex(of: "@"), at > 0, at < scalars.count - 1 else { return false }
        let local = scalars[..<at]
        let domain = scalars[(at + 1)...]
        guard local.reduce(0, { $0 + String($1).utf8.count }) <= 64 else { return false }
        if local.first == "\"" {
            guard local.count >= 2, local.last == "\"" else { return false }
            var i = local.startIndex + 1
            let end = local.endIndex - 1
            while i < end {
                let c = local[i].value
                if c == 0x5C {
                    guard i + 1 < end, (32...126).contains(local[i + 1].value) || (international && local[i + 1].value >= 0x80) else { return false }
                    i += 2
                    continue
                }
                guard c == 32 || c == 33 || (35...91).contains(c) || (93...126).contains(c) || (international && c >= 0x80) else {
                    return false
                }
                i += 1
            }
        } else {
            var previousDot = true
            for scalar in local {
                if scalar == "." {
                    if previousDot { return false }
                    previousDot = true
                    continue
                }
                previousDot = false
                let isAtext = scalar.isASCII
                    ? (isAlpha(UInt8(scalar.value)) || isDigit(UInt8(scalar.value)) || "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(scalar))
                    : international
                guard isAtext else { return false }
            }
            if previousDot { return false }
        }
        if domain.first == "[" {
            guard domain.last == "]" else { return false }
            let literal = String(String.UnicodeScalarView(domain.dropFirst().dropLast()))
            if literal.hasPrefix("IPv6:") { return isIPv6(Array(literal.utf8.dropFirst(5))[...]) }
            return isIPv4(Array(literal.utf8)[...])
        }
        let host = String(String.UnicodeScalarView(domain))
        return international ? HostnameFormats.isIDNHostname(host) : HostnameFormats.isHostname(host)
    }
}
