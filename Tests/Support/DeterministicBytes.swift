import Foundation
import NIOCore

/// A reproducible byte stream of any length, generated on the fly, and its verifier.
///
/// Byte `i` is `pattern[i % period]`, with a pseudo-random pattern whose period (65 521, a prime)
/// matches no chunk size, so a lost, repeated or reordered chunk shifts the phase and is caught.
/// Chunks are slices of one shared buffer (no copy, no per-byte work), and verification compares
/// with `memcmp`, so even debug builds move gigabytes quickly.
public struct DeterministicBytes: Sendable {
    public static let period = 65_521
    /// The largest chunk ``chunk(at:length:)`` returns.
    public static let maxChunk = period

    private let doubled: ByteBuffer

    public init(seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: Self.period * 2)
        for index in 0..<Self.period {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state >> 24)
            bytes[index + Self.period] = bytes[index]
        }
        doubled = ByteBuffer(bytes: bytes)
    }

    /// The bytes `offset ..< offset + length` (`length` ≤ ``maxChunk``).
    public func chunk(at offset: Int, length: Int) -> ByteBuffer {
        precondition(length <= Self.maxChunk)
        return doubled.getSlice(at: offset % Self.period, length: length)!
    }

    /// Whether `buffer` equals the bytes starting at `offset`.
    public func matches(_ buffer: ByteBuffer, at offset: Int) -> Bool {
        guard buffer.readableBytes > 0 else { return true }
        return buffer.withUnsafeReadableBytes { actual in
            doubled.withUnsafeReadableBytes { pattern in
                var done = 0
                while done < actual.count {
                    let phase = (offset + done) % Self.period
                    let length = min(actual.count - done, Self.period)
                    if memcmp(actual.baseAddress! + done, pattern.baseAddress! + phase, length) != 0 { return false }
                    done += length
                }
                return true
            }
        }
    }

    /// Checks a received stream chunk by chunk.
    public struct Verifier: Sendable {
        public let bytes: DeterministicBytes
        public private(set) var count = 0
        /// The offset of the first chunk that differed, if any.
        public private(set) var firstMismatch: Int?

        public init(bytes: DeterministicBytes = DeterministicBytes(), startingAt offset: Int = 0) {
            self.bytes = bytes
            self.count = offset
        }

        public mutating func feed(_ buffer: ByteBuffer) {
            if firstMismatch == nil, !bytes.matches(buffer, at: count) { firstMismatch = count }
            count += buffer.readableBytes
        }

        public var isExact: Bool { firstMismatch == nil }
    }
}
