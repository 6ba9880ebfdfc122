import Foundation

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, a comma-separated list of
/// CIDR blocks or single addresses, IPv4 or IPv6).
///
/// When the direct peer is trusted, the client is the right-most address of `X-Forwarded-For`
/// that is not itself a trusted proxy; from any other peer the header is ignored, so a client
/// cannot pick its own rate-limit bucket.
public struct TrustedProxies: Sendable {
    let blocks: [IPBlock]

    public init(parsing list: [String]) throws(EnvironmentError) {
        var blocks: [IPBlock] = []
        for item in list {
            let address = String(item.split(separator: "/", maxSplits: 1).first ?? "")
            guard Self.parseAddress(address) != nil else {
                throw EnvironmentError(name: "TRUSTED_PROXIES", value: item, expected: "IP addresses or CIDR blocks such as 10.0.0.0/8")
            }
            guard let block = IPBlock(parsing: item) else {
                let width = address.contains(":") ? 128 : 32
                throw EnvironmentError(name: "TRUSTED_PROXIES", value: item, expected: "a prefix length between 0 and \(width)")
            }
            blocks.append(block)
        }
        self.blocks = blocks
    }

    public var isEmpty: Bool { blocks.isEmpty }

    public func isTrusted(_ address: String) -> Bool {
        guard let bytes = Self.parseAddress(address), let parsed = IPAddress(bytes: bytes) else { return false }
        return blocks.contains { $0.contains(parsed) }
    }

    /// The client address for a request from `peer` carrying `forwardedFor`.
    public func clientAddress(peer: String, forwardedFor: String?) -> String {
        guard let forwardedFor, isTrusted(peer) else { return peer }
        let hops = forwardedFor.split(separator: ",").map { Self.withoutPort($0.trimmingCharacters(in: .whitespaces)) }
        for hop in hops.reversed() {
            guard Self.parseAddress(hop) != nil else { return peer }
            if !isTrusted(hop) { return hop }
        }
        return hops.first ?? peer
    }

    /// A hop as some proxies write it, `1.2.3.4:5678` or `[2001:db8::1]:443` (or `[2001:db8::1]`),
    /// as the bare address; anything else as it is.
    static func withoutPort(_ hop: String) -> String {
        if hop.hasPrefix("["), let close = hop.firstIndex(of: "]") {
            let rest = hop[hop.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return hop }
            return String(hop[hop.index(after: hop.startIndex)..<close])
        }
        let parts = hop.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, parts[0].contains("."), !parts[1].isEmpty, parts[1].allSatisfy(\.isNumber) { return String(parts[0]) }
        return hop
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
