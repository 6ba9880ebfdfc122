import JSONSchema

/// A window on the embedded backend's pure logic for tests and tools: the `data` mapping of a
/// `yt-dlp -J` answer, the mp4 plan for a quality, and the error line of a stderr text.
public struct YouTubeVideoInfoProbe: Sendable {
    let info: YouTubeVideoInfo

    public init(_ json: JSONValue) {
        info = YouTubeVideoInfo(json)
    }

    /// The downloader service's `data` object.
    public var serviceData: JSONValue { info.serviceData }

    /// `progressive ID`, `merge VIDEO+AUDIO`, or nil when no format fits `quality`.
    public func plan(_ quality: String) -> String? {
        switch YouTubeMP4Plan.choose(quality: quality, formats: info.formats) {
        case .progressive(let format): "progressive \(format.id)"
        case .merge(let video, let audio): "merge \(video.id)+\(audio.id)"
        case nil: nil
        }
    }

    /// yt-dlp's last `ERROR:` line without its prefixes.
    public static func errorLine(_ stderr: String) -> String? {
        YouTubeToolFailure.errorLine(stderr)
    }
}
