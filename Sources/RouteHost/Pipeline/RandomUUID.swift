/// Lowercase UUID v4 text from the system's random generator (`getrandom`), for request and
/// job ids: Foundation's `UUID()` opens `/dev/urandom` on every call on Linux.
enum RandomUUID {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func v4() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for (word, shifts) in [(high, 0..<16), (low, 0..<16)] {
                for nibble in shifts {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = hexDigits[Int((word >> UInt64(60 - nibble * 4)) & 0xF)]
                    index += 1
                }
            }
            return index
        }
    }

    /// `bytes` as lowercase hex.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var text = [UInt8]()
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
