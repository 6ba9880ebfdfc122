#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix

/// Resolves host names to addresses, as the system does for a connection (`getaddrinfo`: DNS,
/// `/etc/hosts`), on NIO's blocking-work thread pool.
public struct HostResolver: Sendable {
    private let resolve: @Sendable (String) async throws -> [IPAddress]

    /// Answers with `resolve` (tests stand in a name that resolves somewhere in particular).
    package init(_ resolve: @escaping @Sendable (String) async throws -> [IPAddress]) {
        self.resolve = resolve
    }

    /// The system's resolver.
    public static let system = HostResolver { name in
        try await NIOThreadPool.singleton.runIfActive { try Self.lookUp(name) }
    }

    /// Every address `name` resolves to (a literal is its own address).
    ///
    /// - Throws: ``Failure`` when it does not resolve.
    public func addresses(of name: String) async throws -> [IPAddress] {
        if let literal = IPAddress(literal: name) { return [literal] }
        return try await resolve(name)
    }

    /// `name` did not resolve.
    public struct Failure: Error, CustomStringConvertible {
        public var name: String

        public init(name: String) {
            self.name = name
        }

        public var description: String { "'\(name)' does not resolve" }
    }

    private static func lookUp(_ name: String) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { throw Failure(name: name) }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let socketAddress = current.pointee.ai_addr {
                switch current.pointee.ai_family {
                case AF_INET:
                    var address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    if let parsed = IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }) { addresses.append(parsed) }
                case AF_INET6:
                    var address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    if let parsed = IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }) { addresses.append(parsed) }
                default:
                    break
                }
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw Failure(name: name) }
        var seen = Set<IPAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}
