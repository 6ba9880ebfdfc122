/// A CIDR block (`10.0.0.0/8`, `fd00::/8`) or a single address.
public struct IPBlock: Sendable, Hashable {
    public let address: IPAddress
    public let prefixLength: Int

    /// `ADDRESS` or `ADDRESS/PREFIX`; nil when it is neither.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let address = IPAddress(literal: first) else { return nil }
        let width = address.bytes.count * 8
        var prefix = parts.count == 2 ? Int(parts[1]) : width
        // An IPv4-mapped block (`::ffff:10.0.0.0/104`) is the IPv4 block its last 32 bits name.
        if first.contains(":"), address.isIPv4, let written = prefix, parts.count == 2 { prefix = written - 96 }
        guard let prefix, prefix >= 0, prefix <= width else { return nil }
        self.address = address
        self.prefixLength = prefix
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for index in address.bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if other.bytes[index] & mask != address.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }
}
