import Foundation
import RouteHost
import Testing

/// Secrets from files (Docker and systemd secrets): `API_KEYS_FILE`, `WEBHOOK_SECRET_FILE`.
@Suite struct SecretFileTests {
    func file(_ text: String, mode: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("routehost-secret-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func keysAndTheWebhookSecretAreReadFromFiles() throws {
        let keys = try file("# rotation: new first, old last\nfirst-key-0123456789\n\nsecond-key-0123456789, third-key-0123456789\n", mode: 0o600)
        let secret = try file("s3cret-signing-key\n", mode: 0o640)
        defer { for path in [keys, secret] { try? FileManager.default.removeItem(atPath: path) } }
        let configuration = try HostConfiguration(environment: EnvironmentValues([
            "API_KEY": "env-key-0123456789", "API_KEYS_FILE": keys, "WEBHOOK_SECRET_FILE": secret,
        ]))
        #expect(configuration.apiKeys == ["env-key-0123456789", "first-key-0123456789", "second-key-0123456789", "third-key-0123456789"])
        let signer = try #require(configuration.webhookSigner)
        // Through a link (as Kubernetes mounts secrets), the file's own mode counts.
        let link = keys + ".link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: keys)
        defer { try? FileManager.default.removeItem(atPath: link) }
        #expect(try HostConfiguration(environment: EnvironmentValues(["API_KEYS_FILE": link])).apiKeys.count == 3)
        #expect(signer.signature(of: Array("{}".utf8)) == WebhookSigner(secret: "s3cret-signing-key").signature(of: Array("{}".utf8)))
    }

    @Test func aFileOthersCanReadIsRefusedWithTheFix() throws {
        let keys = try file("a-key-0123456789abcdef\n", mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        do {
            _ = try HostConfiguration(environment: EnvironmentValues(["API_KEYS_FILE": keys]))
            Issue.record("a world-readable key file was accepted")
        } catch {
            #expect(error.description.hasPrefix("API_KEYS_FILE=\(keys) is not valid: expected a file other users cannot read (it is mode 644: chmod 600"), "\(error)")
        }
        let empty = try file("\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        do {
            _ = try HostConfiguration(environment: EnvironmentValues(["WEBHOOK_SECRET_FILE": empty, "WEBHOOK_SECRET": "fallback"]))
            Issue.record("an empty secret file turned signing off without a word")
        } catch {
            #expect(error.description.hasSuffix("expected a file holding the secret (it is empty)"), "\(error)")
        }
        do {
            _ = try HostConfiguration(environment: EnvironmentValues(["WEBHOOK_SECRET_FILE": "/nonexistent/secret"]))
            Issue.record("a missing secret file was accepted")
        } catch {
            #expect(error.description == "WEBHOOK_SECRET_FILE=/nonexistent/secret is not valid: expected a readable file holding WEBHOOK_SECRET")
        }
    }
}
