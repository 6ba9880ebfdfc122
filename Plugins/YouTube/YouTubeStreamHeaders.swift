import Foundation
import HTTPTypes
import RouteHost

/// The headers of a relayed mp3/mp4 answer, made from the downloader's head.
///
/// - `Content-Type`: the upstream's, else `audio/mpeg` / `video/mp4`.
/// - `Content-Disposition`: rebuilt (see ``ContentDisposition``) from the file name of the
///   upstream's `Content-Disposition`, else its `X-Video-Title`, else the video id; the
///   extension is the upstream file name's own when it has one, else `.mp3` / `.mp4`.
/// - `X-Video-Title`: forwarded as is when it is printable ASCII (the downloader may already
///   percent-encode it); otherwise sent percent-encoded as UTF-8 (`encodeURIComponent` style),
///   since raw non-ASCII header bytes are not portable.
/// - `X-Video-Duration`: forwarded when it is printable ASCII.
/// (`Content-Length`, `Content-Range` and `Accept-Ranges` are the relay's business.)
enum YouTubeStreamHeaders {
    static let videoTitle = HTTPField.Name("X-Video-Title")!
    static let videoDuration = HTTPField.Name("X-Video-Duration")!

    static func make(upstream: HTTPFields, media: YouTubeMedia, videoID: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = upstream[.contentType].flatMap(printableASCII) ?? media.defaultContentType
        let title = upstream[videoTitle]
        headers[.contentDisposition] = ContentDisposition.attachment(
            filename: fileName(disposition: upstream[.contentDisposition], title: title, videoID: videoID, media: media),
            fallbackStem: videoID)
        if let title, !title.isEmpty {
            headers[videoTitle] = printableASCII(title) ?? ContentDisposition.percentEncode(title)
        }
        if let duration = upstream[videoDuration].flatMap(printableASCII) {
            headers[videoDuration] = duration
        }
        return headers
    }

    /// The offered file name, with its extension.
    static func fileName(disposition: String?, title: String?, videoID: String, media: YouTubeMedia) -> String {
        if let name = disposition.flatMap(ContentDisposition.filename(in:)).flatMap({ ContentDisposition.sanitize($0) }) {
            return ContentDisposition.split(name).ext == nil ? "\(name).\(media.fileExtension)" : name
        }
        if let title = title.map(decodedTitle).flatMap({ ContentDisposition.sanitize($0, maxBytes: 190) }) {
            return "\(title).\(media.fileExtension)"
        }
        return "\(videoID).\(media.fileExtension)"
    }

    /// `title` percent-decoded when it is percent-encoded UTF-8, else as is.
    static func decodedTitle(_ title: String) -> String {
        guard title.contains("%"), let decoded = title.removingPercentEncoding, decoded != title else { return title }
        return decoded
    }

    private static func printableASCII(_ value: String) -> String? {
        value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) ? value : nil
    }
}
