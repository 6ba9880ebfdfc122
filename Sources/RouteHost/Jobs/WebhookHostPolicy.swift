/// Where webhooks may go (`WEBHOOK_ALLOWED_HOSTS`, and what is never allowed without it).
///
/// - Without the list, any host whose addresses are all public: never a loopback, private
///   (RFC 1918, `fc00::/7`), link-local, shared (`100.64.0.0/10`), unspecified, broadcast,
///   multicast or reserved address (``IPAddress/InternalKind``), whatever its spelling (`127.1`,
///   `2130706433`, `[::ffff:127.0.0.1]`) or a name that resolves there (`localhost`). A name is
///   resolved and every address checked; the delivery then connects to the checked address, so a
///   second resolution cannot move it elsewhere.
/// - With the list, only what it names: hosts (`n8n`, matched as written, not resolved: a name
///   on the list is trusted wherever it points), `*.example.com` for a domain and its subdomains,
///   and addresses or CIDR blocks (`10.0.0.0/8`), which a literal or every resolved address must
///   fall in. What it lists may be internal: a deployment posting to n8n on the same Docker
///   network says `WEBHOOK_ALLOWED_HOSTS=n8n`.
public struct WebhookHostPolicy: Sendable {
    let names: [String]
    let blocks: [IPBlock]
    let resolver: HostResolver

    public init(_ entries: [String], resolver: HostResolver = .system) {
        var names: [String] = []
        var blocks: [IPBlock] = []
        for entry in entries.map({ $0.lowercased() }) where !entry.isEmpty {
            if let block = IPBlock(parsing: entry) { blocks.append(block) } else { names.append(entry) }
        }
        self.names = names
        self.blocks = blocks
        self.resolver = resolver
    }

    var hasList: Bool { !names.isEmpty || !blocks.isEmpty }

    /// What to do with a webhook to `host`.
    public enum Decision: Sendable, Equatable {
        /// Send it; to `pinned` when set (the checked address; nil for a name the list trusts).
        case allowed(pinned: IPAddress?)
        /// Never send it; `reason` says why and how to allow it.
        case refused(reason: String)
        /// The name does not resolve now.
        case unresolved
    }

    public func decide(_ host: String) async -> Decision {
        let host = host.lowercased()
        if names.contains(where: { Self.matches(host, $0) }) { return .allowed(pinned: nil) }
        let isLiteral = IPAddress(literal: host) != nil
        let notListed = Decision.refused(reason: "host '\(host)' is not allowed (WEBHOOK_ALLOWED_HOSTS lists the hosts webhooks may go to)")
        // Only an address block can take a name the list does not name.
        if hasList && blocks.isEmpty { return notListed }
        guard let addresses = try? await resolver.addresses(of: host) else { return .unresolved }
        if hasList {
            guard addresses.allSatisfy({ address in blocks.contains { $0.contains(address) } }) else { return notListed }
            return .allowed(pinned: addresses.first)
        }
        if let kind = addresses.lazy.compactMap(\.internalKind).first {
            // The address itself is left out: a key holder need not learn internal names' addresses.
            let what = isLiteral ? "is a \(kind.rawValue) address" : "resolves to a \(kind.rawValue) address"
            return .refused(reason: "host '\(host)' \(what): webhooks never go to loopback, private, link-local, shared, "
                + "multicast or reserved addresses unless WEBHOOK_ALLOWED_HOSTS lists them")
        }
        return .allowed(pinned: addresses.first)
    }

    static func matches(_ host: String, _ entry: String) -> Bool {
        if entry.hasPrefix("*.") {
            let base = entry.dropFirst(2)
            return host == base || host.hasSuffix("." + base)
        }
        return host == entry
    }
}
