import Crypto
import Foundation

/// The API keys the host accepts, checked in constant time.
///
/// Keys are kept only as SHA-256 digests; a presented key is hashed and compared with every
/// digest without early exit, so neither the position of a mismatch nor the number or length of
/// the keys shows in the timing.
public struct APIKeySet: Sendable {
    private let digests: [[UInt8]]

    public init(_ keys: [String]) {
        digests = keys.filter { !$0.isEmpty }.map { Array(SHA256.hash(data: Data($0.utf8))) }
    }

    public var isEmpty: Bool { digests.isEmpty }
    public var count: Int { digests.count }

    /// The identity of `presented` when it is one of the keys.
    public func identify(_ presented: String?) -> ClientIdentity? {
        guard let presented, !digests.isEmpty else { return nil }
        let digest = Array(SHA256.hash(data: Data(presented.utf8)))
        var matched: UInt8 = 1
        for candidate in digests {
            var difference: UInt8 = 0
            for index in 0..<candidate.count {
                difference |= candidate[index] ^ digest[index]
            }
            matched &= difference == 0 ? 0 : 1
        }
        guard matched == 0 else { return nil }
        return .apiKey(fingerprint: RandomUUID.hex(digest.prefix(8)))
    }

    /// A random key for a run with none configured: 32 bytes, URL-safe base64.
    public static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
