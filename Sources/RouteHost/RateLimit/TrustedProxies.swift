import Foundation

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, a comma-separated list of
/// CIDR blocks or single addresses, IPv4 or IPv6).
///
/// When the direct peer is trusted, the client is the right-most address of `X-Forwarded-For`
/// that is not itself a trusted proxy; from any other peer the header is ignored, so a client
/// cannot pick its own rate-limit bucket.
public struct TrustedProxies: Sendable {
    struct Block: Sendable {
        var bytes: [UInt8]
        var prefixLength: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefixLength
            for index in bytes.indices where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[index] & mask != bytes[index] & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    let blocks: [Block]

    public init(parsing list: [String]) throws(EnvironmentError) {
        var blocks: [Block] = []
        for item in list {
            let parts = item.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Self.parseAddress(parts[0]) else {
                throw EnvironmentError(name: "TRUSTED_PROXIES", value: item, expected: "IP addresses or CIDR blocks such as 10.0.0.0/8")
            }
            let prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
            guard let prefix, prefix >= 0, prefix <= bytes.count * 8 else {
                throw EnvironmentError(name: "TRUSTED_PROXIES", value: item, expected: "a prefix length between 0 and \(bytes.count * 8)")
            }
            blocks.append(Block(bytes: bytes, prefixLength: prefix))
        }
        self.blocks = blocks
    }

    public var isEmpty: Bool { blocks.isEmpty }

    public func isTrusted(_ address: String) -> Bool {
        guard let bytes = Self.parseAddress(address) else { return false }
        return blocks.contains { $0.contains(bytes) }
    }

    /// The client address for a request from `peer` carrying `forwardedFor`.
    public func clientAddress(peer: String, forwardedFor: String?) -> String {
        guard let forwardedFor, isTrusted(peer) else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard Self.parseAddress(hop) != nil else { return peer }
            if !isTrusted(hop) { return hop }
        }
        return hops.first ?? peer
    }

    static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return Array(bytes[12...])
            }
            return bytes
        }
        return nil
    }
}
