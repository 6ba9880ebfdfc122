import Foundation
import JSONSchema
import Logging
import RouteHost
import RouteHostTestSupport
import Testing

/// Webhooks never reach internal addresses unless `WEBHOOK_ALLOWED_HOSTS` lists them.
@Suite struct WebhookHostPolicyTests {
    /// A resolver that knows only `names` (a stand-in for DNS: tests talk to loopback only).
    static func resolver(_ names: [String: [String]]) -> HostResolver {
        HostResolver { name in
            guard let addresses = names[name] else { throw HostResolver.Failure(name: name) }
            return addresses.compactMap(IPAddress.init(literal:))
        }
    }

    @Test func everySpellingOfAnInternalAddressIsRecognised() throws {
        let inside: [(String, IPAddress.InternalKind)] = [
            ("127.0.0.1", .loopback), ("127.1", .loopback), ("2130706433", .loopback), ("0x7f.1", .loopback),
            ("0177.0.0.1", .loopback), ("[::ffff:127.0.0.1]", .loopback), ("::ffff:7f00:1", .loopback), ("::1", .loopback),
            ("[::1]", .loopback), ("10.1.2.3", .private), ("172.16.0.1", .private), ("172.31.255.255", .private),
            ("192.168.1.1", .private), ("fc00::1", .private), ("fd12:3456::1", .private), ("169.254.169.254", .linkLocal),
            ("fe80::1", .linkLocal), ("100.64.0.1", .shared), ("0.0.0.0", .unspecified), ("0", .unspecified), ("::", .unspecified),
            ("255.255.255.255", .broadcast), ("224.0.0.1", .multicast), ("ff02::1", .multicast), ("240.0.0.1", .reserved),
            ("192.0.2.1", .reserved), ("2001:db8::1", .reserved), ("64:ff9b::a00:1", .private),
            ("2002:7f00:1::1", .loopback), ("2002:a00:1::", .private), ("64:ff9b:1::1", .private), ("100::1", .reserved),
            ("fec0::1", .private),
        ]
        for (text, kind) in inside {
            let address = try #require(IPAddress(literal: text), "\(text)")
            #expect(address.internalKind == kind, "\(text) → \(address)")
        }
        for text in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "[2a00:1450::1]", "2002:808:808::1"] {
            let address = try #require(IPAddress(literal: text), "\(text)")
            #expect(address.internalKind == nil, "\(text) is public")
        }
        for name in ["localhost", "example.com", "127.0.0.1.nip.io", "", "1.2.3.4.5", "[example]", "1.2.3.4\nx.example", "127.0.0.1 x"] {
            #expect(IPAddress(literal: name) == nil, "\(name) is a name")
        }
        #expect(IPAddress(literal: "0x7f.1")?.description == "127.0.0.1")
        #expect(IPAddress(literal: "[::ffff:10.0.0.1]")?.description == "10.0.0.1")
    }

    @Test func theDefaultRefusesInternalAddressesAndNamesThatResolveThere() async {
        let policy = WebhookHostPolicy([], resolver: Self.resolver(["public.test": ["93.184.216.34"], "inside.test": ["93.184.216.34", "10.0.0.7"]]))
        #expect(await policy.decide("public.test") == .allowed(pinned: IPAddress(literal: "93.184.216.34")))
        #expect(await policy.decide("8.8.8.8") == .allowed(pinned: IPAddress(literal: "8.8.8.8")), "literals are pinned too")
        guard case .refused(let reason) = await policy.decide("inside.test") else { Issue.record("a name with an internal address passed"); return }
        #expect(reason == "host 'inside.test' resolves to a private address: webhooks never go to loopback, private, link-local, shared, multicast or reserved addresses unless WEBHOOK_ALLOWED_HOSTS lists them")
        guard case .refused(let literal) = await policy.decide("0x7f.1") else { Issue.record("0x7f.1 passed"); return }
        #expect(literal.hasPrefix("host '0x7f.1' is a loopback address"))
        #expect(await policy.decide("nowhere.test") == .unresolved)
    }

    @Test func theListAllowsNamesDomainsAndBlocksOnly() async {
        let policy = WebhookHostPolicy(
            ["n8n", "*.Partner.example", "10.0.0.0/8"],
            resolver: Self.resolver(["inside.test": ["10.1.1.1"], "mixed.test": ["10.1.1.1", "8.8.8.8"]]))
        #expect(await policy.decide("N8N") == .allowed(pinned: nil), "listed names may be internal: they are trusted")
        #expect(await policy.decide("a.partner.example") == .allowed(pinned: nil))
        #expect(await policy.decide("partner.example") == .allowed(pinned: nil))
        #expect(await policy.decide("10.9.8.7") == .allowed(pinned: IPAddress(literal: "10.9.8.7")))
        #expect(await policy.decide("inside.test") == .allowed(pinned: IPAddress(literal: "10.1.1.1")))
        // A name that does not resolve cannot be shown to be in a block: a submission refuses it,
        // a delivery tries again later.
        #expect(await policy.decide("unknown.test") == .unresolved)
        #expect(await policy.decide("evilpartner.example") == .unresolved)
        for refused in ["mixed.test", "8.8.8.8", "11.0.0.1"] {
            guard case .refused(let reason) = await policy.decide(refused) else { Issue.record("\(refused) passed"); continue }
            #expect(reason.contains("WEBHOOK_ALLOWED_HOSTS"))
        }
    }

    /// At submission: a literal or a name that resolves to an internal address is a 400 that
    /// names the fix, and nothing is stored.
    @Test func internalTargetsAreRefusedAtSubmission() async throws {
        try await TemporaryDirectory.with { storage in
            try await JobsHost.with(storage: storage, ["WEBHOOK_ALLOWED_HOSTS": ""]) { host in
                let spellings = ["127.0.0.1", "127.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "[::1]", "localhost",
                                 "169.254.169.254", "10.0.0.1", "100.64.0.1", "0.0.0.0", "224.0.0.1"]
                for spelling in spellings {
                    let answer = try await host.post("/v1/test/work", ["webhook_url": .string("http://\(spelling):9/hook")])
                    #expect(answer.status == 400, "\(spelling)")
                    let message = answer.json["message"]?.stringValue ?? ""
                    #expect(message.hasPrefix("Invalid payload: 'webhook_url' host "), "\(message)")
                    #expect(message.contains("unless WEBHOOK_ALLOWED_HOSTS lists them"), "\(message)")
                }
                let listed = try await host.post("/v1/toolkit/jobs/status", ["since_seconds": 600])
                #expect(listed.json["response"] == .object([:]), "no job was stored")
            }
        }
    }

    /// A listed name (resolving to loopback) and a listed block are delivered to.
    @Test func listedNamesAndBlocksAreDelivered() async throws {
        try await WebhookReceiver.with { receiver in
            for (list, host) in [("localhost", "localhost"), ("127.0.0.0/8", "127.0.0.1")] {
                try await TemporaryDirectory.with { storage in
                    try await JobsHost.with(storage: storage, ["WEBHOOK_ALLOWED_HOSTS": list]) { jobs in
                        let delivered = receiver.successes.count
                        let answer = try await jobs.post("/v1/test/work", ["webhook_url": .string("http://\(host):\(receiver.port)/hook")])
                        #expect(answer.status == 202, "\(list): \(answer.json)")
                        try await receiver.waitForDeliveries(delivered + 1)
                    }
                }
            }
        }
    }

    /// At delivery: the name is resolved and checked again (a name that now resolves inside is
    /// not connected to), and the delivery connects to the address that was checked.
    @Test func deliveriesCheckAgainAndConnectToTheCheckedAddress() async throws {
        try await WebhookReceiver.with { receiver in
            let settings = WebhookDeliverer.Settings(timeout: .seconds(10), retry: WebhookRetryPolicy(maxAttempts: 3, baseDelay: .seconds(1)), signer: nil)
            let rebinding = WebhookDeliverer(
                settings: settings, policy: WebhookHostPolicy([], resolver: Self.resolver(["rebind.test": ["127.0.0.1"]])), logger: Logger(label: "test"))
            let refused = await rebinding.deliverOnce(PendingWebhook(
                jobID: UUID().uuidString.lowercased(), url: "http://rebind.test:\(receiver.port)/hook", body: Array("{}".utf8), delivery: .pending))
            #expect(refused?.state == .failed)
            #expect(refused?.lastError?.hasPrefix("not sent: host 'rebind.test' resolves to a loopback address:") == true, "\(refused?.lastError ?? "")")
            #expect(receiver.deliveries.isEmpty, "nothing was sent")
            await rebinding.shutdown()

            // "pinned.test" resolves nowhere but in the policy: the delivery can only have gone to the checked address.
            let pinning = WebhookDeliverer(
                settings: settings, policy: WebhookHostPolicy(["127.0.0.0/8"], resolver: Self.resolver(["pinned.test": ["127.0.0.1"]])),
                logger: Logger(label: "test"))
            let jobID = UUID().uuidString.lowercased()
            let body = Array(#"{"job_id":"\#(jobID)"}"#.utf8)
            let delivered = await pinning.deliverOnce(PendingWebhook(jobID: jobID, url: "http://pinned.test:\(receiver.port)/hook", body: body, delivery: .pending))
            #expect(delivered?.state == .delivered, "\(delivered?.lastError ?? "")")
            // The pin holds whatever the spelling of the name.
            let upper = await pinning.deliverOnce(PendingWebhook(jobID: jobID, url: "http://PINNED.Test:\(receiver.port)/hook", body: body, delivery: .pending))
            #expect(upper?.state == .delivered, "\(upper?.lastError ?? "")")
            await pinning.shutdown()
        }
    }
}
