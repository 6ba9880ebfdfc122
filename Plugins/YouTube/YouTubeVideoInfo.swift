import Foundation
import JSONSchema

/// A video as `yt-dlp -J` describes it, and its mapping to the downloader service's `data` shape.
///
/// The `data` object (what the relay returns, from the service's ytdl-core model):
///
/// | field | from yt-dlp |
/// |-------|-------------|
/// | `videoId` | `id` |
/// | `title`, `description` | `title`, `description` (`""` when absent) |
/// | `lengthSeconds` | `duration`, rounded, as a string (`"212"`), `"0"` when unknown |
/// | `viewCount` | `view_count` as a string, `"0"` when unknown |
/// | `author` | `{name: uploader ?? channel, channelUrl: channel_url ?? uploader_url}` (null when unknown) |
/// | `uploadDate` | `upload_date` `YYYYMMDD` as `YYYY-MM-DD` (null when unknown) |
/// | `thumbnails` | `[{url, width, height}]` (width and height when known) |
/// | `isLiveContent` | `is_live`, `was_live`, or a live `live_status` |
/// | `formats.audioFormats` | audio-only formats |
/// | `formats.videoFormats` | formats with video (with or without audio) |
///
/// Each format: `itag` (the format id, a number when it is one), `mimeType`
/// (`video/mp4; codecs="avc1.4d401e, mp4a.40.2"`), `container`, `codecs`, `qualityLabel`
/// (`720p`), `width`, `height`, `fps`, `bitrate` (bits/s), `audioBitrate` (kbit/s),
/// `contentLength` (string), `hasVideo`, `hasAudio`; unknown values are omitted.
/// Storyboards and DRM formats are left out.
struct YouTubeVideoInfo: Sendable {
    let json: JSONValue
    let formats: [Format]

    init(_ json: JSONValue) {
        self.json = json
        formats = (json["formats"]?.arrayValue ?? []).compactMap(Format.init)
    }

    var id: String? { json["id"]?.stringValue }
    var title: String? { json["title"]?.stringValue }
    /// Whole seconds, when known.
    var duration: Int? { json["duration"]?.numberValue.map { Int($0.doubleValue.rounded()) } }

    /// One format of the video.
    struct Format: Sendable {
        let json: JSONValue
        let id: String
        let ext: String
        let proto: String
        let vcodec: String?
        let acodec: String?
        let width: Int?
        let height: Int?
        let fps: Double?
        let tbr: Double?
        let abr: Double?
        let url: String?
        let filesize: Int?

        init?(_ json: JSONValue) {
            guard let id = json["format_id"]?.stringValue else { return nil }
            if json["has_drm"]?.boolValue == true { return nil }
            self.json = json
            self.id = id
            ext = json["ext"]?.stringValue ?? "unknown_video"
            proto = json["protocol"]?.stringValue ?? "https"
            vcodec = json["vcodec"]?.stringValue
            acodec = json["acodec"]?.stringValue
            width = json["width"]?.numberValue?.intValue
            height = json["height"]?.numberValue?.intValue
            fps = json["fps"]?.numberValue?.doubleValue
            tbr = json["tbr"]?.numberValue?.doubleValue
            abr = json["abr"]?.numberValue?.doubleValue
            url = json["url"]?.stringValue
            filesize = (json["filesize"]?.numberValue ?? json["filesize_approx"]?.numberValue).map { Int($0.doubleValue) }
            if !hasVideo && !hasAudio { return nil }  // storyboards, images
            if ext == "mhtml" { return nil }
        }

        /// yt-dlp's own reading: an unknown codec may be present.
        var hasVideo: Bool { vcodec != "none" }
        var hasAudio: Bool { acodec != "none" }
        var isProgressive: Bool { hasVideo && hasAudio }
        var isDirectHTTP: Bool { proto == "http" || proto == "https" }

        /// `(height, bitrate)`: what "higher quality" means.
        var rank: (Int, Double) { (height ?? 0, tbr ?? abr ?? 0) }

        var httpHeaders: [(String, String)] {
            (json["http_headers"]?.objectValue.map { Array($0) } ?? []).compactMap { key, value in value.stringValue.map { (key, $0) } }
        }

        var mapped: JSONValue {
            var object = JSONObject()
            object["itag"] = Int(id).map { .number(JSONNumber($0)) } ?? .string(id)
            // MIME subtypes, as ytdl-core names containers (itag 140 is "audio/mp4", container "mp4").
            let container = ["m4a": "mp4", "3gp": "3gpp"][ext] ?? ext
            let kind = hasVideo ? "video" : "audio"
            let codecs = [vcodec, acodec].compactMap { $0 }.filter { $0 != "none" }
            object["mimeType"] = .string(codecs.isEmpty ? "\(kind)/\(container)" : "\(kind)/\(container); codecs=\"\(codecs.joined(separator: ", "))\"")
            object["container"] = .string(container)
            if !codecs.isEmpty { object["codecs"] = .string(codecs.joined(separator: ", ")) }
            if hasVideo, let height { object["qualityLabel"] = .string("\(height)p") }
            if let width { object["width"] = .number(JSONNumber(width)) }
            if let height { object["height"] = .number(JSONNumber(height)) }
            if let fps { object["fps"] = .number(JSONNumber(fps)) }
            if let tbr { object["bitrate"] = .number(JSONNumber(Int((tbr * 1000).rounded()))) }
            if let abr { object["audioBitrate"] = .number(JSONNumber(Int(abr.rounded()))) }
            if let filesize = json["filesize"]?.numberValue { object["contentLength"] = .string(String(Int(filesize.doubleValue))) }
            object["hasVideo"] = .bool(hasVideo)
            object["hasAudio"] = .bool(hasAudio)
            return .object(object)
        }
    }

    /// The downloader service's `data` object.
    var serviceData: JSONValue {
        var data = JSONObject()
        data["videoId"] = .string(id ?? "")
        data["title"] = .string(title ?? "")
        data["description"] = .string(json["description"]?.stringValue ?? "")
        data["lengthSeconds"] = .string(String(duration ?? 0))
        data["viewCount"] = .string(json["view_count"]?.numberValue.map { String(Int($0.doubleValue)) } ?? "0")
        let name = json["uploader"]?.stringValue ?? json["channel"]?.stringValue
        let channelURL = json["channel_url"]?.stringValue ?? json["uploader_url"]?.stringValue
        data["author"] = ["name": name.map(JSONValue.string) ?? .null, "channelUrl": channelURL.map(JSONValue.string) ?? .null]
        if let date = json["upload_date"]?.stringValue, date.count == 8, date.allSatisfy(\.isNumber) {
            let chars = Array(date)
            data["uploadDate"] = .string("\(String(chars[0..<4]))-\(String(chars[4..<6]))-\(String(chars[6..<8]))")
        } else {
            data["uploadDate"] = .null
        }
        var thumbnails: [JSONValue] = []
        for thumbnail in json["thumbnails"]?.arrayValue ?? [] {
            guard let url = thumbnail["url"]?.stringValue else { continue }
            var object: JSONObject = ["url": .string(url)]
            if let width = thumbnail["width"]?.numberValue { object["width"] = .number(width) }
            if let height = thumbnail["height"]?.numberValue { object["height"] = .number(height) }
            thumbnails.append(.object(object))
        }
        if thumbnails.isEmpty, let url = json["thumbnail"]?.stringValue { thumbnails = [["url": .string(url)]] }
        data["thumbnails"] = .array(thumbnails)
        let liveStatus = json["live_status"]?.stringValue
        data["isLiveContent"] = .bool(
            json["is_live"]?.boolValue == true || json["was_live"]?.boolValue == true
                || ["is_live", "was_live", "is_upcoming", "post_live"].contains(liveStatus ?? ""))
        data["formats"] = [
            "audioFormats": .array(formats.filter { !$0.hasVideo }.map(\.mapped)),
            "videoFormats": .array(formats.filter(\.hasVideo).map(\.mapped)),
        ]
        return .object(data)
    }
}

/// How the embedded backend makes an mp4 of the requested quality.
enum YouTubeMP4Plan: Sendable {
    /// A progressive MP4 format, streamed as yt-dlp downloads it.
    case progressive(YouTubeVideoInfo.Format)
    /// A video-only and an audio-only format merged by ffmpeg into fragmented MP4.
    case merge(video: YouTubeVideoInfo.Format, audio: YouTubeVideoInfo.Format)

    /// The plan for `quality` (one of ``YouTubeMedia/mp4``'s qualities).
    ///
    /// - `highest` / `lowest`: the best / worst progressive MP4; else a merge of the best / worst
    ///   video and audio.
    /// - `highestvideo` / `lowestvideo`: the tallest / shortest video; progressive when a
    ///   progressive MP4 is as tall / as short as the video-only choice, else merged with the best
    ///   audio.
    /// - `NNNp`: a progressive MP4 of that height; else a video-only format of that height merged
    ///   with the best audio.
    /// Merges use direct HTTP formats only (MP4/M4A containers): ffmpeg fetches them itself.
    /// Nil when no format fits.
    static func choose(quality: String, formats: [YouTubeVideoInfo.Format]) -> YouTubeMP4Plan? {
        let progressive = formats.filter { $0.isProgressive && $0.ext == "mp4" }.sorted { $0.rank < $1.rank }
        let videos = formats.filter { $0.hasVideo && $0.acodec == "none" && $0.ext == "mp4" && $0.isDirectHTTP && $0.url != nil }
            .sorted { $0.rank < $1.rank }
        let audios = formats.filter { !$0.hasVideo && ["m4a", "mp4"].contains($0.ext) && $0.isDirectHTTP && $0.url != nil }
            .sorted { $0.rank < $1.rank }
        func merge(_ video: YouTubeVideoInfo.Format?, lowAudio: Bool = false) -> YouTubeMP4Plan? {
            guard let video, let audio = lowAudio ? audios.first : audios.last else { return nil }
            return .merge(video: video, audio: audio)
        }
        switch quality {
        case "highest":
            return progressive.last.map(YouTubeMP4Plan.progressive) ?? merge(videos.last)
        case "lowest":
            return progressive.first.map(YouTubeMP4Plan.progressive) ?? merge(videos.first, lowAudio: true)
        case "highestvideo":
            if let best = progressive.last, (best.height ?? 0) >= (videos.last?.height ?? 0) || audios.isEmpty { return .progressive(best) }
            return merge(videos.last)
        case "lowestvideo":
            if let worst = progressive.first, (worst.height ?? 0) <= (videos.first?.height ?? .max) || audios.isEmpty { return .progressive(worst) }
            return merge(videos.first)
        default:
            guard quality.hasSuffix("p"), let height = Int(quality.dropLast()) else { return nil }
            if let match = progressive.last(where: { $0.height == height }) { return .progressive(match) }
            return merge(videos.last(where: { $0.height == height }))
        }
    }

    /// The heights a request could name, for the 422 message.
    static func availableHeights(_ formats: [YouTubeVideoInfo.Format]) -> [Int] {
        Array(Set(formats.filter(\.hasVideo).compactMap(\.height))).sorted()
    }
}
