/// An exact decimal number: `(negative ? -1 : 1) * digits * 10^exponent`.
///
/// Normalized: `digits` (values 0...9) has no leading or trailing zeros; zero has no digits and is
/// never negative.
struct DecimalValue: Hashable, Sendable {
    var negative: Bool
    var digits: [UInt8]
    var exponent: Int

    init(negative: Bool, digits: [UInt8], exponent: Int) {
        var start = 0
        while start < digits.count && digits[start] == 0 { start += 1 }
        var end = digits.count
        var exponent = exponent
        while end > start && digits[end - 1] == 0 {
            end -= 1
            exponent = exponent.addingReportingOverflow(1).partialValue
        }
        if start == end {
            self.negative = false
            self.digits = []
            self.exponent = 0
        } else {
            self.negative = negative
            self.digits = start == 0 && end == digits.count ? digits : Array(digits[start..<end])
            self.exponent = exponent
        }
    }

    init(int: Int) {
        var magnitude = int.magnitude
        var reversed: [UInt8] = []
        while magnitude > 0 {
            reversed.append(UInt8(magnitude % 10))
            magnitude /= 10
        }
        self.init(negative: int < 0, digits: reversed.reversed(), exponent: 0)
    }

    /// The shortest round-trip decimal form of `double` (which must be finite).
    init(double: Double) {
        let text = double.description
        self = DecimalValue(literal: Array(text.utf8)) ?? DecimalValue(negative: false, digits: [], exponent: 0)
    }

    /// Parses `-?digits(.digits)?([eE][+-]?digits)?` (JSON number syntax, leading zeros tolerated).
    init?(literal bytes: [UInt8]) {
        var index = 0
        var negative = false
        if index < bytes.count && bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.count)
        var exponent = 0
        var sawDigit = false
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            digits.append(bytes[index] - 48)
            index += 1
            sawDigit = true
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                digits.append(bytes[index] - 48)
                exponent -= 1
                index += 1
                sawDigit = true
            }
        }
        guard sawDigit else { return nil }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            var expNegative = false
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                expNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var value = 0
            var sawExpDigit = false
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                // Saturate: exponents beyond 10^15 are equally "out of range" for every purpose here.
                if value < 1_000_000_000_000_000 { value = value * 10 + Int(bytes[index] - 48) }
                index += 1
                sawExpDigit = true
            }
            guard sawExpDigit else { return nil }
            exponent += expNegative ? -value : value
        }
        guard index == bytes.count else { return nil }
        self.init(negative: negative, digits: digits, exponent: exponent)
    }

    var isZero: Bool { digits.isEmpty }

    /// The value as an `Int` if it is an integer in range.
    func exactInt() -> Int? {
        guard exponent >= 0 else { return nil }
        var value = 0
        for digit in digits {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(negative ? -Int(digit) : Int(digit))
            if o1 || o2 { return nil }
            value = s
        }
        for _ in 0..<exponent {
            let (m, o) = value.multipliedReportingOverflow(by: 10)
            if o { return nil }
            value = m
        }
        return value
    }

    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The nearest `Double` (correctly rounded).
    func toDouble() -> Double {
        if digits.isEmpty { return 0 }
        if digits.count <= 15 && exponent >= -22 && exponent <= 22 {
            var significand: UInt64 = 0
            for digit in digits { significand = significand * 10 + UInt64(digit) }
            let value = Double(significand)
            let result = exponent >= 0 ? value * Self.exactPowersOfTen[exponent] : value / Self.exactPowersOfTen[-exponent]
            return negative ? -result : result
        }
        var text = [UInt8]()
        appendScientific(to: &text)
        return Double(String(decoding: text, as: UTF8.self)) ?? (negative ? -.infinity : .infinity)
    }

    private func appendScientific(to out: inout [UInt8]) {
        if negative { out.append(UInt8(ascii: "-")) }
        for digit in digits { out.append(digit + 48) }
        if exponent != 0 {
            out.append(UInt8(ascii: "e"))
            appendInt(exponent, to: &out)
        }
    }

    /// JSON text: plain notation for moderate exponents, scientific otherwise.
    func appendText(to out: inout [UInt8]) {
        if digits.isEmpty {
            out.append(UInt8(ascii: "0"))
            return
        }
        if negative { out.append(UInt8(ascii: "-")) }
        let count = digits.count
        if exponent >= 0 && exponent <= 21 {
            for digit in digits { out.append(digit + 48) }
            for _ in 0..<exponent { out.append(UInt8(ascii: "0")) }
        } else if exponent < 0 && -exponent < count {
            let point = count + exponent
            for (i, digit) in digits.enumerated() {
                if i == point { out.append(UInt8(ascii: ".")) }
                out.append(digit + 48)
            }
        } else if exponent < 0 && -exponent - count < 6 {
            out.append(contentsOf: "0.".utf8)
            for _ in 0..<(-exponent - count) { out.append(UInt8(ascii: "0")) }
            for digit in digits { out.append(digit + 48) }
        } else {
            out.append(digits[0] + 48)
            if count > 1 {
                out.append(UInt8(ascii: "."))
                for digit in digits[1...] { out.append(digit + 48) }
            }
            out.append(UInt8(ascii: "e"))
            let adjusted = exponent + count - 1
            if adjusted > 0 { out.append(UInt8(ascii: "+")) }
            appendInt(adjusted, to: &out)
        }
    }

    static func compare(_ a: DecimalValue, _ b: DecimalValue) -> Int {
        if a.isZero && b.isZero { return 0 }
        if a.isZero { return b.negative ? 1 : -1 }
        if b.isZero { return a.negative ? -1 : 1 }
        if a.negative != b.negative { return a.negative ? -1 : 1 }
        let magnitude = compareMagnitude(a, b)
        return a.negative ? -magnitude : magnitude
    }

    private static func compareMagnitude(_ a: DecimalValue, _ b: DecimalValue) -> Int {
        let adjustedA = a.digits.count + a.exponent
        let adjustedB = b.digits.count + b.exponent
        if adjustedA != adjustedB { return adjustedA < adjustedB ? -1 : 1 }
        for i in 0..<min(a.digits.count, b.digits.count) where a.digits[i] != b.digits[i] {
            return a.digits[i] < b.digits[i] ? -1 : 1
        }
        if a.digits.count == b.digits.count { return 0 }
        return a.digits.count < b.digits.count ? -1 : 1
    }

    /// True if `a / b` is an integer (`b` non-zero).
    static func isMultiple(_ a: DecimalValue, of b: DecimalValue) -> Bool {
        if a.isZero { return true }
        if b.isZero { return false }
        // a = da * 10^ea with da not divisible by 10, so a bigger exponent in b can never divide.
        if b.exponent > a.exponent { return false }
        let shift = a.exponent - b.exponent
        if b.digits.count <= 18 {
            var modulus: UInt64 = 0
            for digit in b.digits { modulus = modulus * 10 + UInt64(digit) }
            var remainder: UInt64 = 0
            for digit in a.digits { remainder = (remainder * 10 + UInt64(digit)) % modulus }
            let power = powMod(10, UInt64(shift), modulus)
            return mulMod(remainder, power, modulus) == 0
        }
        return bigRemainderIsZero(a.digits, shift: shift, divisor: b.digits)
    }

    private static func mulMod(_ x: UInt64, _ y: UInt64, _ m: UInt64) -> UInt64 {
        let product = x.multipliedFullWidth(by: y)
        return m.dividingFullWidth((product.high, product.low)).remainder
    }

    private static func powMod(_ base: UInt64, _ exponent: UInt64, _ m: UInt64) -> UInt64 {
        if m == 1 { return 0 }
        var result: UInt64 = 1
        var base = base % m
        var exponent = exponent
        while exponent > 0 {
            if exponent & 1 == 1 { result = mulMod(result, base, m) }
            base = mulMod(base, base, m)
            exponent >>= 1
        }
        return result
    }

    /// Long division with a divisor of more than 18 digits (rare): base-10 digit-by-digit remainder.
    /// Gives up (returns false) for dividends longer than 100,000 digits.
    private static func bigRemainderIsZero(_ dividend: [UInt8], shift: Int, divisor: [UInt8]) -> Bool {
        guard dividend.count + shift <= 100_000 else { return false }
        var remainder: [UInt8] = []
        func greaterOrEqual(_ x: [UInt8], _ y: [UInt8]) -> Bool {
            if x.count != y.count { return x.count > y.count }
            for i in 0..<x.count where x[i] != y[i] { return x[i] > y[i] }
            return true
        }
        func subtract(_ x: inout [UInt8], _ y: [UInt8]) {
            var borrow: Int = 0
            var xi = x.count - 1
            var yi = y.count - 1
            while xi >= 0 {
                var d = Int(x[xi]) - borrow - (yi >= 0 ? Int(y[yi]) : 0)
                borrow = d < 0 ? 1 : 0
                if d < 0 { d += 10 }
                x[xi] = UInt8(d)
                xi -= 1
                yi -= 1
            }
            let firstNonZero = x.firstIndex { $0 != 0 } ?? x.count
            x.removeFirst(firstNonZero)
        }
        func step(_ digit: UInt8) {
            if !(remainder.isEmpty && digit == 0) { remainder.append(digit) }
            while greaterOrEqual(remainder, divisor) { subtract(&remainder, divisor) }
        }
        for digit in dividend { step(digit) }
        for _ in 0..<shift { step(0) }
        return remainder.isEmpty
    }
}
