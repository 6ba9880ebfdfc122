import Crypto
import Foundation

/// Signs webhook bodies with `WEBHOOK_SECRET`.
///
/// Headers: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
/// secret's UTF-8 bytes>` and `X-Webhook-Timestamp: <unix seconds when sent>`. A receiver
/// recomputes the HMAC over the exact bytes it received and compares in constant time.
///
/// - Note: the timestamp is not covered by the signature (the documented recipe signs the body
///   only); a receiver that wants replay protection should also remember the `job_id`s it saw.
/// - Important: the secret never appears in logs or in `description`.
public struct WebhookSigner: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let secret: [UInt8]

    public init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    /// `sha256=<64 lowercase hex digits>`.
    public func signature(of body: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { "WebhookSigner(secret: <redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
