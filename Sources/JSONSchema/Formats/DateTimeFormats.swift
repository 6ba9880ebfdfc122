/// RFC 3339 `date`, `time`, `date-time` and (appendix A) `duration`.
enum DateTimeFormats {
    private static func number(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start + count <= bytes.count else { return nil }
        var value = 0
        for i in start..<start + count {
            guard isDigit(bytes[i]) else { return nil }
            value = value * 10 + Int(bytes[i] - 48)
        }
        return value
    }

    static func isDate(_ bytes: [UInt8]) -> Bool {
        bytes.count == 10 && isDate(bytes, at: 0)
    }

    private static func isDate(_ bytes: [UInt8], at start: Int) -> Bool {
        guard let year = number(bytes, start, 4), bytes[start + 4] == UInt8(ascii: "-"),
              let month = number(bytes, start + 5, 2), bytes[start + 7] == UInt8(ascii: "-"),
              let day = number(bytes, start + 8, 2), (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    static func isTime(_ bytes: [UInt8]) -> Bool { isTime(bytes, at: 0) }

    /// `HH:MM:SS[.frac](Z|±HH:MM)` to the end of `bytes`; a leap second must be 23:59:60 in UTC.
    private static func isTime(_ bytes: [UInt8], at start: Int) -> Bool {
        guard let hour = number(bytes, start, 2), start + 2 < bytes.count, bytes[start + 2] == UInt8(ascii: ":"),
              let minute = number(bytes, start + 3, 2), start + 5 < bytes.count, bytes[start + 5] == UInt8(ascii: ":"),
              let second = number(bytes, start + 6, 2), hour <= 23, minute <= 59, second <= 60 else { return false }
        var i = start + 8
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let digits = i
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
            if i == digits { return false }
        }
        guard i < bytes.count else { return false }
        var offsetMinutes = 0
        switch bytes[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == bytes.count else { return false }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count == i + 6, let offsetHour = number(bytes, i + 1, 2), bytes[i + 3] == UInt8(ascii: ":"),
                  let offsetMinute = number(bytes, i + 4, 2), offsetHour <= 23, offsetMinute <= 59 else { return false }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (bytes[i] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return false
        }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    static func isDateTime(_ bytes: [UInt8]) -> Bool {
        guard bytes.count > 11, isDate(bytes, at: 0), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") else {
            return false
        }
        return isTime(bytes, at: 11)
    }

    /// `P` followed by weeks, or by date (Y, M, D, each optional but in order without gaps) and/or
    /// `T` with time (H, M, S likewise); integers only.
    static func isDuration(_ bytes: [UInt8]) -> Bool {
        guard bytes.first == UInt8(ascii: "P"), bytes.count > 1 else { return false }
        var units: [UInt8] = []
        var timeUnits: [UInt8] = []
        var inTime = false
        var i = 1
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "T") {
                guard !inTime else { return false }
                inTime = true
                i += 1
                continue
            }
            let start = i
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
            guard i > start, i < bytes.count else { return false }
            if inTime { timeUnits.append(bytes[i]) } else { units.append(bytes[i]) }
            i += 1
        }
        let date = String(decoding: units, as: UTF8.self)
        let time = String(decoding: timeUnits, as: UTF8.self)
        if date == "W" { return !inTime }
        guard ["", "D", "M", "MD", "Y", "YM", "YMD"].contains(date),
              ["", "H", "HM", "HMS", "M", "MS", "S"].contains(time) else { return false }
        if inTime && time.isEmpty { return false }
        return !(date.isEmpty && time.isEmpty)
    }
}
