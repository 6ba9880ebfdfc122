import RouteHost

/// The YouTube route module (`"plugin": "youtube"`).
///
/// - Warning: work in progress: the relay to the downloader service is not written yet; every
///   handler answers 503.
public struct YouTubeModule: RouteModule {
    public struct Configuration: Decodable, Sendable {
        public var service_url: String
    }

    public static let pluginName = "youtube"
    public static let configurationKeys: [String]? = ["service_url"]

    public init(configuration: Configuration, context: ModuleContext) throws {}

    public var handlers: [String: RouteHandler] {
        let unavailable = RouteFailure(.serviceUnavailable, "YouTube relay not implemented yet")
        return [
            "discovery": .plain { _ in throw unavailable },
            "health": .plain { _ in throw unavailable },
            "info": .envelope { _ in throw unavailable },
            "mp3": .stream { _ in throw unavailable },
            "mp4": .stream { _ in throw unavailable },
        ]
    }
}
