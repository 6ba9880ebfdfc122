import Crypto
import Foundation

/// The API keys the host accepts, checked in constant time.
///
/// Keys are kept only as SHA-256 digests; a presented key is hashed and compared with every
/// digest without early exit, so neither the position of a mismatch nor the number or length of
/// the keys shows in the timing.
public struct APIKeySet: Sendable {
    private let digests: [[UInt8]]
    /// The identity of each key, in the order of `digests` (made once: a request only picks one).
    private let identities: [ClientIdentity]

    public init(_ keys: [String]) {
        digests = keys.filter { !$0.isEmpty }.map { Array(SHA256.hash(data: Data($0.utf8))) }
        identities = digests.map { .apiKey(fingerprint: RandomUUID.hex($0.prefix(8))) }
    }

    public var isEmpty: Bool { digests.isEmpty }
    public var count: Int { digests.count }

    /// The identity of `presented` when it is one of the keys.
    public func identify(_ presented: String?) -> ClientIdentity? {
        guard var presented, !digests.isEmpty else { return nil }
        let digest = presented.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        var matched = -1
        digest.withUnsafeBytes { digest in
            for (index, candidate) in digests.enumerated() {
                var difference: UInt8 = 0
                for byte in 0..<candidate.count {
                    difference |= candidate[byte] ^ digest[byte]
                }
                // No early exit: every candidate is compared whatever matched before.
                if difference == 0 { matched = index }
            }
        }
        return matched >= 0 ? identities[matched] : nil
    }

    /// A random key for a run with none configured: 32 bytes, URL-safe base64.
    public static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
