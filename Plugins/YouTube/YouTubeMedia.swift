/// The two streamed formats and the qualities each accepts.
public enum YouTubeMedia: String, Sendable, CaseIterable {
    case mp3
    case mp4

    /// The `quality` values the downloader accepts for this format.
    public var qualities: [String] {
        switch self {
        case .mp3: ["highestaudio", "lowestaudio"]
        case .mp4: ["highest", "lowest", "highestvideo", "lowestvideo", "144p", "240p", "360p", "480p", "720p", "1080p", "1440p", "2160p"]
        }
    }

    /// The quality used when the request names none.
    public var defaultQuality: String {
        switch self {
        case .mp3: "highestaudio"
        case .mp4: "highest"
        }
    }

    /// The file extension of downloads (without the dot).
    public var fileExtension: String { rawValue }

    /// The content type sent when the upstream names none.
    public var defaultContentType: String {
        switch self {
        case .mp3: "audio/mpeg"
        case .mp4: "video/mp4"
        }
    }

    /// The downloader's path for this format.
    public var upstreamPath: String { "/v1/media/youtube/\(rawValue)" }
}
