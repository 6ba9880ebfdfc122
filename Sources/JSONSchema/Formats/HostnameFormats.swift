import Foundation

/// `hostname` (RFC 1123, with A-labels checked as IDNA2008) and `idn-hostname` (RFC 5890-5893).
///
/// Caveat: IDNA2008 derived properties are approximated from Unicode general categories, a
/// NFKC-casefold stability test, the RFC 5892 exception table, and built-in script/bidi ranges
/// for the contextual and bidi rules; Unicode normalization (NFC) of labels is not required.
enum HostnameFormats {
    static func isHostname(_ string: String) -> Bool {
        let bytes = Array(string.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard isLDHLabel(Array(label)) else { return false }
        }
        return true
    }

    /// An ASCII letters-digits-hyphens label; `xn--` labels must be valid A-labels.
    private static func isLDHLabel(_ label: [UInt8]) -> Bool {
        guard (1...63).contains(label.count), label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
              label.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }) else { return false }
        if label.count >= 4 && label[2] == UInt8(ascii: "-") && label[3] == UInt8(ascii: "-") {
            guard label[0] | 0x20 == UInt8(ascii: "x") && label[1] | 0x20 == UInt8(ascii: "n") else { return false }
            return isALabel(label)
        }
        return true
    }

    private static func isALabel(_ label: [UInt8]) -> Bool {
        let encoded = label[4...].map { isAlpha($0) ? $0 | 0x20 : $0 }
        guard let decoded = Punycode.decode(Array(encoded)), !decoded.allSatisfy(\.isASCII),
              Punycode.encode(decoded) == encoded, isULabel(decoded) else { return false }
        return bidiRuleHolds([decoded])
    }

    private static let separators: Set<Unicode.Scalar> = [".", "\u{3002}", "\u{FF0E}", "\u{FF61}"]

    static func isIDNHostname(_ string: String) -> Bool {
        let scalars = Array(string.unicodeScalars)
        guard !scalars.isEmpty else { return false }
        let labels = scalars.split(omittingEmptySubsequences: false, whereSeparator: separators.contains)
        var totalLength = labels.count - 1
        var uLabels: [[Unicode.Scalar]] = []
        for label in labels {
            guard !label.isEmpty else { return false }
            if label.allSatisfy(\.isASCII) {
                let bytes = label.map { UInt8($0.value) }
                guard isLDHLabel(bytes) else { return false }
                totalLength += bytes.count
                if bytes.count >= 4, bytes[2] == UInt8(ascii: "-"), bytes[3] == UInt8(ascii: "-"),
                   let decoded = Punycode.decode(bytes[4...].map { isAlpha($0) ? $0 | 0x20 : $0 }) {
                    uLabels.append(decoded)
                } else {
                    uLabels.append(Array(label))
                }
            } else {
                let uLabel = Array(label)
                // An A-label spends at least one byte per scalar plus "xn--".
                guard uLabel.count <= 59, isULabel(uLabel) else { return false }
                let aLabelLength = 4 + Punycode.encode(uLabel).count
                guard aLabelLength <= 63 else { return false }
                totalLength += aLabelLength
                uLabels.append(uLabel)
            }
        }
        return totalLength <= 253 && bidiRuleHolds(uLabels)
    }

    // MARK: IDNA2008 (RFC 5891 section 5.4, RFC 5892)

    private static func isULabel(_ label: [Unicode.Scalar]) -> Bool {
        guard !label.isEmpty, label.first != "-", label.last != "-" else { return false }
        if label.count >= 4 && label[2] == "-" && label[3] == "-" { return false }
        if isMark(label[0]) { return false }
        for (i, scalar) in label.enumerated() {
            switch scalar.value {
            case 0x200C:
                guard zeroWidthNonJoinerAllowed(label, at: i) else { return false }
            case 0x200D:
                guard i > 0, label[i - 1].properties.canonicalCombiningClass.rawValue == 9 else { return false }
            case 0x00B7:
                guard i > 0, i + 1 < label.count, label[i - 1] == "l", label[i + 1] == "l" else { return false }
            case 0x0375:
                guard i + 1 < label.count, isGreek(label[i + 1]) else { return false }
            case 0x05F3, 0x05F4:
                guard i > 0, isHebrew(label[i - 1]) else { return false }
            case 0x30FB:
                guard label.contains(where: { $0.value != 0x30FB && (isHiragana($0) || isKatakana($0) || isHan($0)) }) else {
                    return false
                }
            case 0x0660...0x0669:
                guard !label.contains(where: { (0x06F0...0x06F9).contains($0.value) }) else { return false }
            case 0x06F0...0x06F9:
                guard !label.contains(where: { (0x0660...0x0669).contains($0.value) }) else { return false }
            default:
                guard isProtocolValid(scalar) else { return false }
            }
        }
        return true
    }

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    private static let exceptionsValid: Set<UInt32> = [0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007]
    private static let exceptionsDisallowed: Set<UInt32> = [0x0640, 0x07FA, 0x302E, 0x302F, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303B]

    private static func isProtocolValid(_ scalar: Unicode.Scalar) -> Bool {
        if exceptionsValid.contains(scalar.value) { return true }
        if exceptionsDisallowed.contains(scalar.value) { return false }
        if scalar.isASCII {
            let byte = UInt8(scalar.value)
            return (byte >= 97 && byte <= 122) || isDigit(byte) || byte == UInt8(ascii: "-")
        }
        if scalar.properties.isDefaultIgnorableCodePoint || scalar.properties.isNoncharacterCodePoint { return false }
        switch scalar.properties.generalCategory {
        case .lowercaseLetter, .otherLetter, .modifierLetter, .nonspacingMark, .spacingMark, .decimalNumber:
            break
        default:
            return false
        }
        let text = String(scalar)
        return text.precomposedStringWithCompatibilityMapping.lowercased() == text
    }

    private static func zeroWidthNonJoinerAllowed(_ label: [Unicode.Scalar], at i: Int) -> Bool {
        if i > 0, label[i - 1].properties.canonicalCombiningClass.rawValue == 9 { return true }
        var before = i - 1
        while before >= 0, joiningType(label[before]) == .transparent { before -= 1 }
        guard before >= 0, [.left, .dual].contains(joiningType(label[before])) else { return false }
        var after = i + 1
        while after < label.count, joiningType(label[after]) == .transparent { after += 1 }
        return after < label.count && [.right, .dual].contains(joiningType(label[after]))
    }

    private enum JoiningType { case none, left, right, dual, transparent }

    private static let rightJoining: Set<UInt32> = [
        0x0622, 0x0623, 0x0624, 0x0625, 0x0627, 0x0629, 0x062F, 0x0630, 0x0631, 0x0632, 0x0648, 0x0671, 0x0672, 0x0673,
        0x0675, 0x0676, 0x0677, 0x06C0, 0x06C3, 0x06C4, 0x06C5, 0x06C6, 0x06C7, 0x06C8, 0x06C9, 0x06CA, 0x06CB, 0x06CD,
        0x06CF, 0x06D2, 0x06D3, 0x06D5, 0x06EE, 0x06EF, 0x0710, 0x0715, 0x0716, 0x0717, 0x0718, 0x0719, 0x071E, 0x0728,
        0x072A, 0x072C, 0x072F, 0x074D,
    ]

    private static func joiningType(_ scalar: Unicode.Scalar) -> JoiningType {
        let value = scalar.value
        if value == 0x200C || value == 0x200D { return .none }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return .transparent
        default: break
        }
        if rightJoining.contains(value) || (0x0688...0x0699).contains(value) { return .right }
        if (0x0620...0x064A).contains(value) || (0x066E...0x06D3).contains(value) || (0x06FA...0x06FF).contains(value)
            || (0x0712...0x072F).contains(value) || (0x074E...0x077F).contains(value) || (0x07CA...0x07EA).contains(value)
            || (0x08A0...0x08C9).contains(value) {
            return scalar.properties.generalCategory == .otherLetter ? .dual : .none
        }
        return .none
    }

    private static func isGreek(_ s: Unicode.Scalar) -> Bool {
        (0x0370...0x03FF).contains(s.value) && s.value != 0x037E && s.value != 0x0387 || (0x1F00...0x1FFF).contains(s.value)
    }
    private static func isHebrew(_ s: Unicode.Scalar) -> Bool {
        (0x0591...0x05F4).contains(s.value) || (0xFB1D...0xFB4F).contains(s.value)
    }
    private static func isHiragana(_ s: Unicode.Scalar) -> Bool {
        (0x3041...0x309F).contains(s.value) || (0x1B001...0x1B11F).contains(s.value)
    }
    private static func isKatakana(_ s: Unicode.Scalar) -> Bool {
        (0x30A0...0x30FF).contains(s.value) || (0x31F0...0x31FF).contains(s.value) || (0x32D0...0x32FE).contains(s.value)
            || (0x3300...0x3357).contains(s.value) || (0xFF66...0xFF9F).contains(s.value) || (0x1B000...0x1B000).contains(s.value)
    }
    private static func isHan(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (0x2E80...0x2FDF).contains(v) || v == 0x3005 || v == 0x3007 || (0x3021...0x3029).contains(v)
            || (0x3038...0x303B).contains(v) || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x20000...0x3134F).contains(v)
    }

    // MARK: Bidi rule (RFC 5893)

    private enum BidiClass { case l, r, an, en, nsm, other }

    private static func bidiClass(_ s: Unicode.Scalar) -> BidiClass {
        let v = s.value
        if (0x30...0x39).contains(v) || (0x06F0...0x06F9).contains(v) { return .en }
        if (0x0660...0x0669).contains(v) || v == 0x066B || v == 0x066C { return .an }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark: return .nsm
        default: break
        }
        if (0x0590...0x08FF).contains(v) || (0xFB1D...0xFDFF).contains(v) || (0xFE70...0xFEFF).contains(v)
            || (0x10800...0x10FFF).contains(v) || (0x1E800...0x1EFFF).contains(v) {
            return s.properties.isAlphabetic || s.properties.generalCategory == .otherPunctuation
                || s.properties.generalCategory == .otherSymbol ? .r : .other
        }
        switch s.properties.generalCategory {
        case .lowercaseLetter, .uppercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .spacingMark:
            return .l
        default:
            return .other
        }
    }

    private static func bidiRuleHolds(_ labels: [[Unicode.Scalar]]) -> Bool {
        let isBidiDomain = labels.contains { $0.contains { [.r, .an].contains(bidiClass($0)) } }
        guard isBidiDomain else { return true }
        for label in labels {
            let classes = label.map(bidiClass)
            guard let first = classes.first, first == .l || first == .r else { return false }
            let significant = classes.last { $0 != .nsm }
            if first == .r {
                guard !classes.contains(.l), !(classes.contains(.en) && classes.contains(.an)),
                      let last = significant, [.r, .en, .an].contains(last) else { return false }
            } else {
                guard !classes.contains(.r), !classes.contains(.an),
                      let last = significant, [.l, .en].contains(last) else { return false }
            }
        }
        return true
    }
}
