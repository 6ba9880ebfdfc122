extension HostConfiguration {
    /// The `WEBHOOK_*` settings as the deliverer takes them.
    public var webhookSettings: WebhookDeliverer.Settings {
        .init(
            timeout: webhookTimeout, retry: WebhookRetryPolicy(maxAttempts: webhookMaxAttempts, baseDelay: webhookRetryDelay),
            signer: webhookSigner)
    }
}
