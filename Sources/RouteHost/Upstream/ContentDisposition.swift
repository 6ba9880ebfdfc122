import Foundation

/// Builds and reads `Content-Disposition` values per RFC 6266 with RFC 8187 (5987) encoding.
///
/// ```swift
/// ContentDisposition.attachment(filename: "日本語 \"live\".mp3")
/// // attachment; filename="_ 'live'.mp3"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20%22live%22.mp3
/// ```
///
/// The `filename` parameter is an ASCII fallback for old clients: accents are stripped
/// (`é` → `e`), other non-ASCII runs become `_`, `"` becomes `'`, `\` and `%` become `_`. When
/// nothing readable is left, the fallback stem is used (a video id, say). `filename*` carries
/// the full name, percent-encoded UTF-8. Both are made from ``sanitize(_:maxBytes:)``'d names:
/// no control or bidirectional-override characters, no path separators, no leading dots.
public enum ContentDisposition {
    /// `attachment; filename="<ascii>"; filename*=UTF-8''<encoded>` for `filename` (sanitised).
    ///
    /// - Parameter fallbackStem: the ASCII name (without extension) used when `filename` has no
    ///   readable ASCII left; `download` by default.
    public static func attachment(filename: String, fallbackStem: String = "download") -> String {
        let name = sanitize(filename) ?? sanitize(fallbackStem) ?? "download"
        var ascii = asciiFallback(name)
        let (stem, ext) = split(ascii)
        if !stem.unicodeScalars.contains(where: { CharacterSet.alphanumerics.contains($0) && $0.isASCII }) {
            let safeStem = asciiFallback(sanitize(fallbackStem) ?? "download")
            ascii = ext.map { "\(safeStem).\($0)" } ?? safeStem
        }
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(percentEncode(name))"
    }

    /// The file name in a `Content-Disposition` value: `filename*` when present and decodable,
    /// else `filename`; nil when there is none.
    public static func filename(in value: String) -> String? {
        let parameters = parse(value)
        if let extended = parameters["filename*"], let decoded = decodeExtended(extended) {
            return decoded
        }
        return parameters["filename"]
    }

    /// A file name safe to offer: control, format-override and path-separator characters removed
    /// or replaced, whitespace collapsed, leading and trailing dots and spaces trimmed, at most
    /// `maxBytes` of UTF-8 (cut between characters, the extension kept). Nil when nothing is left.
    public static func sanitize(_ name: String, maxBytes: Int = 200) -> String? {
        var scalars = String.UnicodeScalarView()
        var lastWasSpace = false
        for scalar in name.unicodeScalars {
            if scalar == "/" || scalar == "\\" {
                scalars.append("_")
                lastWasSpace = false
                continue
            }
            if scalar.properties.isWhitespace {
                if !lastWasSpace { scalars.append(" ") }
                lastWasSpace = true
                continue
            }
            let category = scalar.properties.generalCategory
            if category == .control || category == .format && isBidiControl(scalar) || category == .unassigned || category == .surrogate {
                continue
            }
            scalars.append(scalar)
            lastWasSpace = false
        }
        var result = String(scalars).trimmingCharacters(in: CharacterSet(charactersIn: " ."))
        if result.utf8.count > maxBytes {
            let (stem, ext) = split(result)
            let suffix = ext.map { "." + $0 } ?? ""
            var cut = ""
            for character in stem {
                if cut.utf8.count + character.utf8.count + suffix.utf8.count > maxBytes { break }
                cut.append(character)
            }
            result = cut.trimmingCharacters(in: CharacterSet(charactersIn: " .")) + suffix
        }
        return result.isEmpty || result.hasPrefix(".") ? nil : result
    }

    /// The ASCII stand-in of `name` for the `filename` parameter.
    public static func asciiFallback(_ name: String) -> String {
        var result = ""
        var lastWasReplacement = false
        for character in name {
            var text = String(character)
            if !text.allSatisfy(\.isASCII) {
                text = text.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
            }
            if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) && !text.isEmpty {
                for scalar in text.unicodeScalars {
                    switch scalar {
                    case "\"": result.append("'")
                    case "\\", "%": result.append("_")
                    default: result.unicodeScalars.append(scalar)
                    }
                }
                lastWasReplacement = false
            } else if !lastWasReplacement {
                result.append("_")
                lastWasReplacement = true
            }
        }
        return result
    }

    /// RFC 8187 `value-chars`: UTF-8, every byte outside `attr-char` as `%XX`.
    public static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if isAttrChar(byte) {
                result.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                result += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return result
    }

    // MARK: Reading

    /// The parameters of a header value (`type; a=b; c="d"`), keys lowercased, quoted strings unescaped.
    static func parse(_ value: String) -> [String: String] {
        var parameters: [String: String] = [:]
        var scalars = Substring(value).unicodeScalars[...]
        func skipSpaces() {
            while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        }
        while let semicolon = scalars.firstIndex(of: ";") {
            scalars = scalars[scalars.index(after: semicolon)...]
            skipSpaces()
            var name = ""
            while let first = scalars.first, first != "=", first != ";" {
                name.unicodeScalars.append(first)
                scalars.removeFirst()
            }
            guard scalars.first == "=" else { continue }
            scalars.removeFirst()
            skipSpaces()
            var parameterValue = ""
            if scalars.first == "\"" {
                scalars.removeFirst()
                while let first = scalars.first {
                    scalars.removeFirst()
                    if first == "\"" { break }
                    if first == "\\", let escaped = scalars.first {
                        parameterValue.unicodeScalars.append(escaped)
                        scalars.removeFirst()
                    } else {
                        parameterValue.unicodeScalars.append(first)
                    }
                }
            } else {
                while let first = scalars.first, first != ";" {
                    parameterValue.unicodeScalars.append(first)
                    scalars.removeFirst()
                }
                parameterValue = parameterValue.trimmingCharacters(in: .whitespaces)
            }
            let key = name.trimmingCharacters(in: .whitespaces).lowercased()
            if !key.isEmpty, parameters[key] == nil { parameters[key] = parameterValue }
        }
        return parameters
    }

    /// Decodes `charset'language'percent-encoded` (UTF-8 or ISO-8859-1).
    static func decodeExtended(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let charset = parts[0].lowercased()
        var bytes: [UInt8] = []
        var utf8 = Array(parts[2].utf8)[...]
        while let byte = utf8.first {
            utf8.removeFirst()
            if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2, let high = hexValue(utf8[utf8.startIndex]), let low = hexValue(utf8[utf8.startIndex + 1]) else { return nil }
                bytes.append(high << 4 | low)
                utf8.removeFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        switch charset {
        case "utf-8": return String(validating: bytes, as: UTF8.self)
        case "iso-8859-1": return String(String.UnicodeScalarView(bytes.map { UnicodeScalar($0) }))
        default: return nil
        }
    }

    // MARK: Helpers

    /// Splits `name` into stem and extension (1–5 ASCII letters or digits after the last dot).
    public static func split(_ name: String) -> (stem: String, ext: String?) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, nil) }
        let ext = name[name.index(after: dot)...]
        guard (1...5).contains(ext.count), ext.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return (name, nil) }
        return (String(name[..<dot]), String(ext))
    }

    private static func isAttrChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$&+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func isBidiControl(_ scalar: UnicodeScalar) -> Bool {
        (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) || scalar.value == 0x200E
            || scalar.value == 0x200F || scalar.value == 0x061C
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
