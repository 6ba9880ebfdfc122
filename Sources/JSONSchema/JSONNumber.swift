/// A JSON number that keeps integers exact and can represent any literal that appears in JSON text.
///
/// Storage is chosen so that every value has a single representation:
/// - integers that fit in `Int` (including `1.0` and `1e2`) are stored as `Int`;
/// - other values whose literal has at most 15 significant digits (and every `Double` passed to
///   ``init(_:)-(Double)``) are stored as a `Double`, whose shortest round-trip decimal form is
///   taken as the exact value;
/// - everything else (huge integers such as `12345678901234567890123`, more than 15 significant
///   digits, exponents beyond the `Double` range) keeps the exact decimal digits of the literal.
///
/// Equality, hashing, ordering and ``isMultiple(of:)`` are exact on those decimal values, so
/// `1 == 1.0` and `0.0075` is a multiple of `0.0001`.
///
/// Caveat: non-finite doubles (NaN, infinity) are not JSON; they serialize as `null`.
public struct JSONNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    enum Storage: Sendable {
        case int(Int)
        case double(Double)
        case decimal(BigDecimal)
    }

    final class BigDecimal: Sendable {
        let value: DecimalValue
        let double: Double
        init(value: DecimalValue, double: Double) {
            self.value = value
            self.double = double
        }
    }

    let storage: Storage

    init(storage: Storage) { self.storage = storage }

    public init(_ value: Int) { storage = .int(value) }

    public init(_ value: Double) {
        if value.isFinite, value.rounded(.towardZero) == value,
           value >= -9.223372036854775808e18, value < 9.223372036854775808e18 {
            storage = .int(Int(value))
        } else {
            storage = .double(value)
        }
    }

    /// Creates a number from a decimal value (normalizing it to the cheapest exact storage).
    init(decimal: DecimalValue) {
        if decimal.digits.isEmpty {
            storage = .int(0)
            return
        }
        if decimal.exponent >= 0, decimal.digits.count + decimal.exponent <= 19,
           let int = decimal.exactInt() {
            storage = .int(int)
            return
        }
        let adjusted = decimal.digits.count + decimal.exponent
        if decimal.digits.count <= 15, adjusted > -300, adjusted < 300 {
            storage = .double(decimal.toDouble())
            return
        }
        storage = .decimal(BigDecimal(value: decimal, double: decimal.toDouble()))
    }

    /// The nearest `Double` (may be infinite for numbers beyond the `Double` range).
    public var doubleValue: Double {
        switch storage {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .decimal(let b): return b.double
        }
    }

    /// The exact value as an `Int` if the number is an integer that fits in `Int` (`1.0` counts).
    public var intValue: Int? {
        if case .int(let i) = storage { return i }
        return nil
    }

    /// True if the number is mathematically an integer (`1.0` and `1e300` are).
    public var isInteger: Bool {
        switch storage {
        case .int: return true
        case .double(let d): return d.isFinite && d.rounded(.towardZero) == d
        case .decimal(let b): return b.value.exponent >= 0
        }
    }

    /// The exact decimal value (for doubles: their shortest round-trip form).
    var decimalValue: DecimalValue {
        switch storage {
        case .int(let i): return DecimalValue(int: i)
        case .double(let d): return DecimalValue(double: d)
        case .decimal(let b): return b.value
        }
    }

    public var description: String {
        if case .int(let i) = storage { return String(i) }
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the JSON text of the number.
    func appendJSON(to out: inout [UInt8]) {
        switch storage {
        case .int(let i):
            appendInt(i, to: &out)
        case .double(let d):
            if d.isFinite {
                out.append(contentsOf: d.description.utf8)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .decimal(let b):
            b.value.appendText(to: &out)
        }
    }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        switch (lhs.storage, rhs.storage) {
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int, _), (_, .int): return false
        default: return lhs.decimalValue == rhs.decimalValue
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(doubleValue)
    }

    public static func < (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// Exact three-way comparison: -1, 0 or 1.
    static func compare(_ lhs: JSONNumber, _ rhs: JSONNumber) -> Int {
        switch (lhs.storage, rhs.storage) {
        case (.int(let a), .int(let b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case (.double(let a), .double(let b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case (.int(let a), .double(let b)):
            return compareIntDouble(a, b)
        case (.double(let a), .int(let b)):
            return -compareIntDouble(b, a)
        default:
            return DecimalValue.compare(lhs.decimalValue, rhs.decimalValue)
        }
    }

    /// Compares an integer with a double that is not an `Int`-representable integer.
    private static func compareIntDouble(_ a: Int, _ b: Double) -> Int {
        if b.isNaN { return -1 }
        if b >= 9.223372036854775808e18 { return -1 }
        if b < -9.223372036854775808e18 { return 1 }
        let floor = Int(b.rounded(.down))
        if a <= floor { return a == floor && Double(floor) == b ? 0 : -1 }
        return 1
    }

    /// Exact `multipleOf` test: true if `self / divisor` is an integer. `divisor` must not be zero.
    public func isMultiple(of divisor: JSONNumber) -> Bool {
        if case .int(let a) = storage, case .int(let b) = divisor.storage {
            if b == 0 { return false }
            return a.remainderReportingOverflow(dividingBy: b).partialValue == 0
        }
        return DecimalValue.isMultiple(decimalValue, of: divisor.decimalValue)
    }
}

@inline(__always)
func appendInt(_ value: Int, to out: inout [UInt8]) {
    if value >= 0 && value < 10 {
        out.append(UInt8(truncatingIfNeeded: value) &+ 48)
        return
    }
    var magnitude = value.magnitude
    if value < 0 { out.append(UInt8(ascii: "-")) }
    var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &buffer) { raw in
        var index = 24
        while magnitude > 0 {
            index -= 1
            raw[index] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
            magnitude /= 10
        }
        out.append(contentsOf: raw[index..<24])
    }
}
