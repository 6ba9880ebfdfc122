#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// Lowercase UUID v4 text for request and job ids, from the system's random generator
/// (`/dev/urandom`, kept open) read 4 KiB at a time: Foundation's `UUID()` opens `/dev/urandom`
/// on every call on Linux, and even a `getrandom` call per id showed in small requests' profiles.
public enum RandomUUID {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A new random (version 4) UUID, like `5f0c6c1e-3f8e-4b43-9a55-2f0d3c7f9b21`.
    public static func v4() -> String {
        var (high, low) = RandomPool.shared.twoWords()
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for word in 0..<2 {
                let bits = word == 0 ? high : low
                for nibble in 0..<16 {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = hexDigits[Int((bits >> UInt64(60 - nibble * 4)) & 0xF)]
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

/// Random words from the kernel's generator, fetched in blocks; each word is handed out once.
final class RandomPool: Sendable {
    static let shared = RandomPool()

    private struct Block {
        var words = [UInt64](repeating: 0, count: 512)
        var next = 512
    }

    private let block = NIOLockedValueBox(Block())

    func twoWords() -> (UInt64, UInt64) {
        block.withLockedValue { block in
            if block.next + 2 > block.words.count {
                Self.fill(&block.words)
                block.next = 0
            }
            defer { block.next += 2 }
            return (block.words[block.next], block.words[block.next + 1])
        }
    }

    /// `/dev/urandom`, opened once (nil when it cannot be).
    private static let urandom: Int32? = {
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }()

    private static func fill(_ words: inout [UInt64]) {
        let complete = words.withUnsafeMutableBytes { bytes -> Bool in
            guard let fd = urandom else { return false }
            var filled = 0
            while filled < bytes.count {
                let count = read(fd, bytes.baseAddress! + filled, bytes.count - filled)
                if count > 0 {
                    filled += count
                } else if count == 0 || errno != EINTR {
                    return false
                }
            }
            return true
        }
        if complete { return }
        var generator = SystemRandomNumberGenerator()
        for index in words.indices { words[index] = generator.next() }
    }
}
