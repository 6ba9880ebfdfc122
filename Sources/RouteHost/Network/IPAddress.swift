#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, as its 4 or 16 bytes.
///
/// ``init(literal:)`` reads every spelling the system's resolver takes for a literal, since that
/// is what an HTTP client connects to: IPv6 (in brackets or not), dotted IPv4, and IPv4's legacy
/// forms (`127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433`). An IPv4-mapped IPv6 address
/// (`::ffff:127.0.0.1`) is its IPv4 address.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            self.bytes = Array(bytes[12...])
        } else {
            self.bytes = bytes
        }
    }

    /// The address written as `text`, or nil when `text` is not an address (a name).
    public init?(literal text: String) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        // Only what an address can be written with: inet_aton takes trailing junk after white
        // space ("1.2.3.4\nx.example"), which a resolver would read as a name.
        guard !text.isEmpty, text.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" || $0 == "x" || $0 == "X" }) else { return nil }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(text), &v6) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        var v4 = in_addr()
        // inet_aton, not inet_pton: it takes the legacy forms that getaddrinfo takes too.
        guard inet_aton(String(text), &v4) != 0 else { return nil }
        self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
    }

    public var isIPv4: Bool { bytes.count == 4 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard written != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What kind of address that is not publicly routable this is; nil for a public one.
    public var internalKind: InternalKind? {
        isIPv4 ? Self.kind(ipv4: bytes) : Self.kind(ipv6: bytes)
    }

    /// Kinds of addresses a server on the internet must not be made to connect to.
    public enum InternalKind: String, Sendable {
        case loopback, `private`, linkLocal = "link-local", shared, unspecified, broadcast, multicast
        /// Documentation, benchmarking, protocol-assignment and future-use ranges.
        case reserved
    }

    private static func kind(ipv4 b: [UInt8]) -> InternalKind? {
        switch (b[0], b[1], b[2]) {
        case _ where b == [255, 255, 255, 255]: .broadcast
        case (0, _, _): .unspecified
        case (127, _, _): .loopback
        case (10, _, _), (172, 16...31, _), (192, 168, _): .private
        case (100, 64...127, _): .shared
        case (169, 254, _): .linkLocal
        case (224...239, _, _): .multicast
        case (240...255, _, _), (192, 0, 0), (192, 0, 2), (198, 18...19, _), (198, 51, 100), (203, 0, 113): .reserved
        default: nil
        }
    }

    private static func kind(ipv6 b: [UInt8]) -> InternalKind? {
        if b[0..<15].allSatisfy({ $0 == 0 }) { return b[15] == 1 ? .loopback : (b[15] == 0 ? .unspecified : .reserved) }
        // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
        if b[0..<12].allSatisfy({ $0 == 0 }) { return .reserved }
        if b[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return kind(ipv4: Array(b[12...])) }
        // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits.
        if b[0] == 0x20, b[1] == 0x02 { return kind(ipv4: Array(b[2..<6])) }
        if b[0..<6] == [0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01] { return .private }  // 64:ff9b:1::/48, local-use NAT64
        if b[0..<8] == [0x01, 0x00, 0, 0, 0, 0, 0, 0] { return .reserved }  // 100::/64, discard
        if b[0] & 0xFE == 0xFC { return .private }
        if b[0] == 0xFE, b[1] & 0xC0 == 0xC0 { return .private }  // fec0::/10, the former site-local
        if b[0] == 0xFE, b[1] & 0xC0 == 0x80 { return .linkLocal }
        if b[0] == 0xFF { return .multicast }
        if b[0..<4] == [0x20, 0x01, 0x0D, 0xB8] { return .reserved }
        return nil
    }
}

extension IPAddress {
    /// The key under which a client is counted (connections, rate limits, failed logins): an
    /// IPv4 address as it is, an IPv6 address by its /64 (one subscriber's network: a client
    /// can pick any address inside it), `2001:db8:1:2::/64`. Text that is not an address is its
    /// own key.
    public static func clientBucket(_ text: String) -> String {
        guard let address = IPAddress(literal: text) else { return text }
        guard !address.isIPv4 else { return address.description }
        let prefix = IPAddress(bytes: Array(address.bytes[0..<8]) + Array(repeating: 0, count: 8)) ?? address
        return "\(prefix)/64"
    }
}
